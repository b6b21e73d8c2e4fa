// Lumo tree generator: builds a lumo home of N runs by varying the real
// fixture runs (new exp_names, test_names, params and metrics), for the
// import benchmarks.
#ifndef LUMODB_BENCH_LUMO_TREE_GENERATOR_H_
#define LUMODB_BENCH_LUMO_TREE_GENERATOR_H_

#include <cstddef>
#include <string>

#include "lumodb/status.h"

namespace lumodb::bench {

// Writes <home>/experiments/<exp>/<test>/ for n_runs runs, each a copy of a
// fixture run (round-robin over the 13 in fixtures_home/experiments) with
// exp_name, test_name, params (lr, seed) and metric.pkl (acc, loss,
// best_epoch) rewritten, plus lumo's heartbeat markers for one run in 100
// under <home>/cache/heartbeat. Files are written as lumo writes them.
Status GenerateLumoTree(const std::string& fixtures_home, const std::string& home,
                        size_t n_runs);

// GenerateLumoTree into data_dir unless data_dir/complete exists.
Status EnsureLumoTree(const std::string& fixtures_home, const std::string& data_dir,
                      size_t n_runs, bool* generated);

}  // namespace lumodb::bench

#endif  // LUMODB_BENCH_LUMO_TREE_GENERATOR_H_

// Sweep generator: writes N synthetic finished runs with real journals, laid
// out as a trainer leaves them, for the benchmarks (and anyone who needs a
// large info_root).
#ifndef LUMODB_BENCH_SWEEP_GENERATOR_H_
#define LUMODB_BENCH_SWEEP_GENERATOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "lumodb/status.h"

namespace lumodb::bench {

struct SweepOptions {
  size_t n_exps = 20;  // runs are spread round-robin over this many exp_names
  int epochs = 5;      // acc/loss/progress records per run
  // One run in fail_every ends with code 1 after an Exception (0: none).
  size_t fail_every = 25;
  // Runs per exp_name per day; above 999 test_names get 4-digit counters.
  size_t runs_per_day = 1500;
  int64_t first_day_unix_s = 1767225600;  // 2026-01-01T00:00:00Z
};

// One generated run.
struct SweepRun {
  std::string exp_name;
  std::string test_name;
};

// The runs GenerateSweep writes for n_runs, in generation order (the same
// for the same n_runs and options).
std::vector<SweepRun> SweepRuns(size_t n_runs, const SweepOptions& options);

// Writes n_runs runs under info_root: <info_root>/<exp_name>/<test_name>/
// journal, each with Start (pinfo: this host and boot id, a pid that cannot
// exist), Info "hooks" and "params" {"lr", "seed", "batch"}, Tags, per epoch
// Metric "acc" (max, best_extras {"best_epoch": k}), Metric "loss" (min) and
// Progress, then Progress 1 and End 0 (or Exception and End 1). No markers.
// bytes_written (may be null) gets the journals' total size.
Status GenerateSweep(const std::string& info_root, size_t n_runs,
                     const SweepOptions& options, uint64_t* bytes_written);

// GenerateSweep into data_dir/info unless data_dir/complete says a previous
// call finished; the stamp is written last, so a half-written tree is
// generated again (after removing it). *generated tells which happened.
Status EnsureSweep(const std::string& data_dir, size_t n_runs,
                   const SweepOptions& options, bool* generated);

// Makes k runs look changed, as live trainers would: appends one Metric frame
// to each journal (continuing its seq) and creates its active marker
// (<info_root>/.lumodb/active/<test_name>@<exp_name>, holding the info_dir).
Status TouchRuns(const std::string& info_root, const std::vector<SweepRun>& runs,
                 int64_t value_seed);

// Removes every active marker (as a Watcher retires ended runs).
Status RemoveMarkers(const std::string& info_root);

}  // namespace lumodb::bench

#endif  // LUMODB_BENCH_SWEEP_GENERATOR_H_

// Import benchmarks: `lumo-db import` of a generated lumo tree of N runs
// (default 100,000; LUMODB_BENCH_RUNS), end to end through the CLI, with
// its peak RSS; a re-import with nothing changed; a query with the tree
// registered as a source. Baseline: reading every file of the tree once.
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "lumo_tree_generator.h"

namespace lumodb::bench {
namespace {

struct Tree {
  bool prepared = false;
  bool ready = false;
  std::string error;
  size_t n_runs = 0;
  std::string home, db;
};

Tree& GetTree() {
  static Tree t;
  if (t.prepared) return t;
  t.prepared = true;
  const char* runs = std::getenv("LUMODB_BENCH_RUNS");
  t.n_runs = runs != nullptr && *runs != '\0' ? std::strtoull(runs, nullptr, 10) : 100000;
  const char* data = std::getenv("LUMODB_BENCH_DATA");
  const std::string parent = data != nullptr && *data != '\0'
                                 ? std::string(data)
                                 : std::string(LUMODB_BIN_DIR) + "/bench-data";
  t.home = parent + "/lumo-tree-" + std::to_string(t.n_runs);
  t.db = parent + "/lumo-tree-" + std::to_string(t.n_runs) + "-index";
  auto t0 = std::chrono::steady_clock::now();
  bool generated = false;
  Status s = EnsureLumoTree(std::string(LUMODB_FIXTURES_DIR) + "/lumo-home", t.home,
                            t.n_runs, &generated);
  if (!s.ok()) {
    t.error = "generating the lumo tree: " + s.ToString();
    return t;
  }
  std::fprintf(stderr, "lumo tree: %zu runs in %s (%s, %.1f s)\n", t.n_runs, t.home.c_str(),
               generated ? "generated" : "reused",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  t.ready = true;
  return t;
}

Tree* Ready(benchmark::State& state) {
  Tree& t = GetTree();
  if (!t.ready) {
    state.SkipWithError(t.error.c_str());
    return nullptr;
  }
  return &t;
}

// Imports the tree into t.db; fills the report's counts.
bool Import(benchmark::State& state, const Tree& t, nlohmann::json* report,
            struct rusage* usage) {
  std::string out;
  int code = RunCli({"--db", t.db, "--info-root", t.home + "/experiments", "import", t.home,
                     "--lumo-cache", t.home + "/cache", "--format", "json"},
                    &out, usage);
  *report = nlohmann::json::parse(out, nullptr, false);
  if (code != 0 || !report->is_object()) {
    state.SkipWithError(("lumo-db import failed: exit " + std::to_string(code)).c_str());
    return false;
  }
  return true;
}

void BM_ImportLumoTree(benchmark::State& state) {
  Tree* t = Ready(state);
  if (t == nullptr) return;
  nlohmann::json report;
  struct rusage usage {};
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(t->db);
    state.ResumeTiming();
    if (!Import(state, *t, &report, &usage)) return;
  }
  state.counters["imported"] = report.value("imported", 0);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  state.counters["runs_per_s"] = benchmark::Counter(
      static_cast<double>(t->n_runs) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ImportLumoTree)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(1)->Repetitions(2)->DisplayAggregatesOnly(true);

void BM_ReimportUnchanged(benchmark::State& state) {
  Tree* t = Ready(state);
  if (t == nullptr) return;
  nlohmann::json report;
  struct rusage usage {};
  if (!std::filesystem::exists(t->db) && !Import(state, *t, &report, &usage)) return;
  for (auto _ : state) {
    if (!Import(state, *t, &report, &usage)) return;
  }
  state.counters["unchanged"] = report.value("unchanged", 0);
  state.counters["peak_rss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}
BENCHMARK(BM_ReimportUnchanged)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(1)->Repetitions(3)->DisplayAggregatesOnly(true);

// The query figure of the core issue, with the tree registered as a source:
// every load also reads lumo's heartbeat folder (1 run in 100 marked).
void BM_QueryWithLumoSource(benchmark::State& state) {
  Tree* t = Ready(state);
  if (t == nullptr) return;
  nlohmann::json report;
  struct rusage usage {};
  if (!std::filesystem::exists(t->db) && !Import(state, *t, &report, &usage)) return;
  std::string out;
  for (auto _ : state) {
    int code = RunCli({"--db", t->db, "--info-root", t->home + "/experiments", "query",
                       "params.lr == 0.01", "--sort=-metrics.acc", "--limit", "10",
                       "--format", "jsonl"},
                      &out);
    if (code != 0) {
      state.SkipWithError("lumo-db query failed");
      return;
    }
  }
}
BENCHMARK(BM_QueryWithLumoSource)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Repetitions(5)->DisplayAggregatesOnly(true);

// Baseline: open and read every file of the tree once.
void BM_ReadEveryLumoFile(benchmark::State& state) {
  Tree* t = Ready(state);
  if (t == nullptr) return;
  size_t files = 0, bytes = 0;
  std::vector<char> buf(1 << 16);
  for (auto _ : state) {
    files = bytes = 0;
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(t->home + "/experiments")) {
      if (!e.is_regular_file()) continue;
      int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n;
      while ((n = ::read(fd, buf.data(), buf.size())) > 0) bytes += static_cast<size_t>(n);
      ::close(fd);
      files++;
    }
  }
  state.counters["files"] = static_cast<double>(files);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ReadEveryLumoFile)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(1)->Repetitions(2)->DisplayAggregatesOnly(true);

}  // namespace
}  // namespace lumodb::bench

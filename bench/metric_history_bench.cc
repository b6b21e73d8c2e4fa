// Metric history at scale: one run with 1,000,000 logged values, loaded
// into a fresh index, and read back through `lumo-db metrics` end to end
// (baseline: BM_CLIVersion, a bare process start, in the same run).
//
// The run is written once into $LUMODB_BENCH_DATA/history-1000000 (default
// <build>/bench-data/) by a real Experiment and reused.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "journal/markers.h"
#include "lumodb/lumodb.h"

namespace lumodb::bench {
namespace {

constexpr long kValues = 1000000;

struct History {
  std::string data_dir, db_path, exp_name = "bench.history", test_name;
  Roots roots;
  std::string error;
  bool ready = false;
};

void IgnoreWarning(const std::string&) {}

Status OpenWatcher(const History& h, const std::string& db, std::unique_ptr<Watcher>* out) {
  WatcherOptions options;
  options.db_path = db;
  options.warn = IgnoreWarning;
  return Watcher::Open(h.roots, options, out);
}

// The marker a live trainer keeps: a load finds the run through it.
Status MakeMarker(const History& h) {
  const std::string dir = ActiveDir(h.roots.info_root);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + MarkerName(h.exp_name, h.test_name))
      << RunInfoDir(h.roots.info_root, h.exp_name, h.test_name);
  return Status::OK();
}

// Writes the run (a wave with noise and spikes at steps 0, 3, 6, ...)
// unless a previous process did, then indexes it once.
History& GetHistory() {
  static History h;
  static bool tried = false;
  if (tried) return h;
  tried = true;
  const char* data = std::getenv("LUMODB_BENCH_DATA");
  const std::string parent = data != nullptr && *data != '\0'
                                 ? std::string(data)
                                 : std::string(LUMODB_BIN_DIR) + "/bench-data";
  h.data_dir = parent + "/history-" + std::to_string(kValues);
  h.db_path = h.data_dir + "/index";
  h.roots.home = h.data_dir;
  h.roots.info_root = h.data_dir + "/info";
  h.roots.blob_root = h.data_dir + "/blob";
  h.roots.cache_root = h.data_dir + "/cache";
  const std::string stamp = h.data_dir + "/complete";
  std::ifstream in(stamp);
  if (!(in >> h.test_name)) {
    std::error_code ec;
    std::filesystem::remove_all(h.data_dir, ec);
    std::filesystem::create_directories(h.data_dir, ec);
    ExperimentOptions options;
    options.default_hooks = false;
    Experiment exp(h.exp_name, h.roots, options);
    Status s = exp.start();
    uint64_t x = 88172645463325252ull;  // xorshift: the same noise every time
    for (long i = 0; s.ok() && i < kValues; ++i) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      double v = std::sin(i * 1e-4) + static_cast<double>(x % 1000) * 1e-4;
      if (i % 99991 == 7) v += 10;
      exp.dump_metric("loss", v, Cmp::Min, "", 3 * static_cast<int64_t>(i));
    }
    if (s.ok()) s = exp.end(0);
    if (!s.ok()) {
      h.error = "writing the run: " + s.ToString();
      return h;
    }
    h.test_name = exp.test_name();
    std::ofstream(stamp) << h.test_name << "\n";
  }
  MakeMarker(h);
  std::unique_ptr<Watcher> w;
  Status s = OpenWatcher(h, h.db_path, &w);
  if (s.ok()) s = w->reindex();
  if (!s.ok()) {
    h.error = "indexing the run: " + s.ToString();
    return h;
  }
  h.ready = true;
  return h;
}

History* Ready(benchmark::State& state) {
  History& h = GetHistory();
  if (!h.ready) {
    state.SkipWithError(h.error.c_str());
    return nullptr;
  }
  return &h;
}

// A load that finds the run new: every one of its values into a fresh index.
void BM_LoadMillionValues(benchmark::State& state) {
  History* h = Ready(state);
  if (h == nullptr) return;
  const std::string db = h->data_dir + "/index-load";
  size_t records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::error_code ec;
    std::filesystem::remove_all(db, ec);
    MakeMarker(*h);
    std::unique_ptr<Watcher> w;
    Status s = OpenWatcher(*h, db, &w);
    state.ResumeTiming();
    LoadStats stats;
    if (s.ok()) s = w->load(&stats);
    state.PauseTiming();
    if (s.ok() && stats.runs_read != 1) s = Status::Corruption("the load read no journal");
    w.reset();
    state.ResumeTiming();
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    records = stats.records_applied;
  }
  std::error_code ec;
  std::filesystem::remove_all(db, ec);
  state.counters["values"] = static_cast<double>(kValues);
  state.counters["records"] = static_cast<double>(records);
}
BENCHMARK(BM_LoadMillionValues)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

// Watcher::metric_series in a process that keeps the index open (the
// dashboard's case): the engine's share of the CLI figure below.
void BM_MetricSeries(benchmark::State& state) {
  History* h = Ready(state);
  if (h == nullptr) return;
  std::unique_ptr<Watcher> w;
  Status s = OpenWatcher(*h, h->db_path, &w);
  SeriesRequest req;
  req.runs = {{h->exp_name, h->test_name}};
  req.keys = {"loss"};
  req.points = static_cast<size_t>(state.range(0));
  std::vector<MetricSeries> out;
  for (auto _ : state) {
    if (s.ok()) s = w->metric_series(req, &out);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.counters["values_out"] = out.empty() ? 0.0 : static_cast<double>(out[0].values.size());
}
BENCHMARK(BM_MetricSeries)
    ->ArgName("points")
    ->Arg(1000)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

// lumo-db metrics TEST loss --points N --format csv, as a user's shell runs
// it (with the load every reading command makes); N = 0: every value.
void BM_MetricsCLI(benchmark::State& state) {
  History* h = Ready(state);
  if (h == nullptr) return;
  const size_t points = static_cast<size_t>(state.range(0));
  const std::vector<std::string> args = {
      "--db", h->db_path, "--info-root",          h->roots.info_root, "metrics", h->test_name,
      "loss", "--points", std::to_string(points), "--format",         "csv"};
  std::string out;
  for (auto _ : state) {
    int code = RunCli(args, &out);
    if (code != 0) {
      state.SkipWithError(("lumo-db metrics exited with " + std::to_string(code)).c_str());
      break;
    }
  }
  // The header, then at most `points` values (all of them for 0).
  const size_t lines = static_cast<size_t>(std::count(out.begin(), out.end(), '\n'));
  const size_t want_max = points == 0 ? kValues : points;
  if (!state.error_occurred() &&
      (lines < 2 || lines - 1 > want_max || (points == 0 && lines - 1 != kValues))) {
    state.SkipWithError(("unexpected output: " + std::to_string(lines) + " lines").c_str());
  }
  state.counters["values_out"] = static_cast<double>(lines - 1);
}
BENCHMARK(BM_MetricsCLI)
    ->ArgName("points")
    ->Arg(1000)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

}  // namespace
}  // namespace lumodb::bench

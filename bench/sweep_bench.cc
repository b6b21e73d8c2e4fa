// Watcher loads, reindex and CLI queries over a large sweep (default 100,000
// runs; $LUMODB_BENCH_RUNS), each beside a baseline measured in the same run:
// a naive loader that stats every journal, and the CLI's bare process start.
//
// The sweep is generated once into $LUMODB_BENCH_DATA/sweep-<N> (default
// <build>/bench-data/sweep-<N>) and reused; the index (<data>/index) is
// rebuilt with reindex once per process. Touching runs appends to their
// journals, so a reused tree slowly gains a few frames; that is harmless.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "lumodb/lumodb.h"
#include "cli_runner.h"
#include "sweep_generator.h"

namespace lumodb::bench {
namespace {

std::atomic<size_t> g_warnings{0};
void CountWarning(const std::string&) { g_warnings++; }

struct Sweep {
  size_t n_runs = 0;
  std::string data_dir, info_root, db_path;
  std::vector<SweepRun> runs;
  bool prepared = false;
  bool indexed = false;
  std::string error;
  size_t cursor = 0;  // next run to touch
  int64_t touches = 0;
};

size_t RunsFromEnv() {
  const char* env = std::getenv("LUMODB_BENCH_RUNS");
  if (env == nullptr || *env == '\0') return 100000;
  char* end = nullptr;
  unsigned long long n = std::strtoull(env, &end, 10);
  return (end != nullptr && *end == '\0' && n > 0) ? static_cast<size_t>(n) : 100000;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Status OpenWatcher(const Sweep& sw, std::unique_ptr<Watcher>* out) {
  Roots roots;
  roots.home = sw.data_dir;
  roots.info_root = sw.info_root;
  roots.blob_root = sw.data_dir + "/blob";
  roots.cache_root = sw.data_dir + "/cache";
  WatcherOptions options;
  options.db_path = sw.db_path;
  options.warn = CountWarning;
  return Watcher::Open(roots, options, out);
}

// The shared sweep: generated (or found) on first use, then indexed once.
Sweep& GetSweep() {
  static Sweep sw;
  if (sw.prepared) return sw;
  sw.prepared = true;
  sw.n_runs = RunsFromEnv();
  const char* data = std::getenv("LUMODB_BENCH_DATA");
  const std::string parent = data != nullptr && *data != '\0'
                                 ? std::string(data)
                                 : std::string(LUMODB_BIN_DIR) + "/bench-data";
  sw.data_dir = parent + "/sweep-" + std::to_string(sw.n_runs);
  sw.info_root = sw.data_dir + "/info";
  sw.db_path = sw.data_dir + "/index";
  SweepOptions options;
  sw.runs = SweepRuns(sw.n_runs, options);
  // Spread touches over the sweep across processes.
  sw.cursor = static_cast<size_t>(std::time(nullptr)) * 7919 % sw.n_runs;

  auto t0 = std::chrono::steady_clock::now();
  bool generated = false;
  Status s = EnsureSweep(sw.data_dir, sw.n_runs, options, &generated);
  if (!s.ok()) {
    sw.error = "generating the sweep: " + s.ToString();
    return sw;
  }
  std::fprintf(stderr, "sweep: %zu runs in %s (%s, %.1f s)\n", sw.n_runs,
               sw.data_dir.c_str(), generated ? "generated" : "reused",
               SecondsSince(t0));
  s = RemoveMarkers(sw.info_root);
  if (!s.ok()) {
    sw.error = s.ToString();
    return sw;
  }
  t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Watcher> w;
  s = OpenWatcher(sw, &w);
  LoadStats stats;
  if (s.ok()) s = w->reindex(&stats);
  if (!s.ok()) {
    sw.error = "indexing the sweep: " + s.ToString();
    return sw;
  }
  if (stats.runs_read != sw.n_runs) {
    sw.error = "reindex read " + std::to_string(stats.runs_read) + " journals, expected " +
               std::to_string(sw.n_runs);
    return sw;
  }
  std::fprintf(stderr, "sweep: indexed into %s (%.1f s)\n", sw.db_path.c_str(),
               SecondsSince(t0));
  sw.indexed = true;
  return sw;
}

// The sweep, or nullptr after telling the benchmark why not.
Sweep* Ready(benchmark::State& state) {
  Sweep& sw = GetSweep();
  if (!sw.indexed) {
    state.SkipWithError(sw.error.c_str());
    return nullptr;
  }
  return &sw;
}

std::vector<SweepRun> NextRuns(Sweep& sw, size_t k) {
  std::vector<SweepRun> out;
  for (size_t i = 0; i < k; ++i) {
    out.push_back(sw.runs[sw.cursor]);
    sw.cursor = (sw.cursor + 1) % sw.runs.size();
  }
  return out;
}

// A load when no journal changed. markers: how many ended runs still have
// an (unchanged) active marker, as in the 10 minutes before retirement.
void BM_LoadNothingChanged(benchmark::State& state) {
  Sweep* sw = Ready(state);
  if (sw == nullptr) return;
  const size_t markers = static_cast<size_t>(state.range(0));
  Status s = RemoveMarkers(sw->info_root);
  if (s.ok() && markers > 0) s = TouchRuns(sw->info_root, NextRuns(*sw, markers), ++sw->touches);
  std::unique_ptr<Watcher> w;
  if (s.ok()) s = OpenWatcher(*sw, &w);
  if (s.ok()) s = w->load();  // applies the touches: from now on nothing changes
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  size_t runs_read = 0, seen = 0;
  for (auto _ : state) {
    LoadStats stats;
    s = w->load(&stats);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    runs_read += stats.runs_read;
    seen += stats.markers;
  }
  w.reset();
  RemoveMarkers(sw->info_root);
  state.counters["runs"] = static_cast<double>(sw->n_runs);
  state.counters["markers"] =
      benchmark::Counter(static_cast<double>(seen), benchmark::Counter::kAvgIterations);
  state.counters["journals_read"] =
      benchmark::Counter(static_cast<double>(runs_read), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_LoadNothingChanged)
    ->ArgName("markers")
    ->Arg(0)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

// A load after 10 runs each appended one record and made a marker (done
// with the timer paused). The previous iteration's markers are removed
// first, as a Watcher retires ended runs, so every load sees 10 markers.
void BM_LoadTenChanged(benchmark::State& state) {
  Sweep* sw = Ready(state);
  if (sw == nullptr) return;
  Status s = RemoveMarkers(sw->info_root);
  std::unique_ptr<Watcher> w;
  if (s.ok()) s = OpenWatcher(*sw, &w);
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  size_t runs_read = 0, records = 0, bytes = 0;
  for (auto _ : state) {
    state.PauseTiming();
    s = RemoveMarkers(sw->info_root);
    if (s.ok()) s = TouchRuns(sw->info_root, NextRuns(*sw, 10), ++sw->touches);
    state.ResumeTiming();
    LoadStats stats;
    if (s.ok()) s = w->load(&stats);
    if (s.ok() && stats.runs_read != 10) {
      s = Status::Corruption("load read " + std::to_string(stats.runs_read) +
                             " journals, expected 10");
    }
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    runs_read += stats.runs_read;
    records += stats.records_applied;
    bytes += stats.bytes_read;
  }
  w.reset();
  RemoveMarkers(sw->info_root);
  using benchmark::Counter;
  state.counters["runs"] = static_cast<double>(sw->n_runs);
  state.counters["journals_read"] = Counter(static_cast<double>(runs_read), Counter::kAvgIterations);
  state.counters["records"] = Counter(static_cast<double>(records), Counter::kAvgIterations);
  state.counters["bytes_read"] = Counter(static_cast<double>(bytes), Counter::kAvgIterations);
}
BENCHMARK(BM_LoadTenChanged)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

// Baseline for loads: what a loader without sequence checks does, walk
// <info_root>/<exp_name>/<test_name> and stat every journal.
void BM_StatEveryJournal(benchmark::State& state) {
  Sweep* sw = Ready(state);
  if (sw == nullptr) return;
  size_t journals = 0;
  uint64_t bytes = 0;
  for (auto _ : state) {
    journals = 0;
    bytes = 0;
    DIR* root = ::opendir(sw->info_root.c_str());
    if (root == nullptr) {
      state.SkipWithError(("opendir " + sw->info_root).c_str());
      break;
    }
    while (struct dirent* e = ::readdir(root)) {
      if (e->d_name[0] == '.') continue;
      const std::string exp_dir = sw->info_root + "/" + e->d_name;
      DIR* exp = ::opendir(exp_dir.c_str());
      if (exp == nullptr) continue;
      while (struct dirent* t = ::readdir(exp)) {
        if (t->d_name[0] == '.') continue;
        const std::string journal = exp_dir + "/" + t->d_name + "/journal";
        struct stat st;
        if (::stat(journal.c_str(), &st) == 0) {
          journals++;
          bytes += static_cast<uint64_t>(st.st_size);
        }
      }
      ::closedir(exp);
    }
    ::closedir(root);
  }
  state.counters["runs"] = static_cast<double>(sw->n_runs);
  state.counters["journals"] = static_cast<double>(journals);
  state.counters["journal_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_StatEveryJournal)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

// A full rebuild of the index from every journal.
void BM_Reindex(benchmark::State& state) {
  Sweep* sw = Ready(state);
  if (sw == nullptr) return;
  std::unique_ptr<Watcher> w;
  Status s = RemoveMarkers(sw->info_root);
  if (s.ok()) s = OpenWatcher(*sw, &w);
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  LoadStats stats;
  for (auto _ : state) {
    stats = LoadStats();
    s = w->reindex(&stats);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
  }
  state.counters["runs"] = static_cast<double>(sw->n_runs);
  state.counters["journals_read"] = static_cast<double>(stats.runs_read);
  state.counters["records"] = static_cast<double>(stats.records_applied);
  state.counters["bytes_read"] = static_cast<double>(stats.bytes_read);
}
BENCHMARK(BM_Reindex)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->DisplayAggregatesOnly(true);

// The ten best runs at lr 0.01 must come back, best acc first.
std::string CheckTop10(const std::string& out) {
  size_t lines = 0;
  double prev = 1e300;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    nlohmann::json run = nlohmann::json::parse(out.substr(start, end - start), nullptr, false);
    start = end + 1;
    if (run.is_discarded()) return "a line of output is not JSON";
    lines++;
    if (!run.contains("params") || run["params"].value("lr", 0.0) != 0.01) {
      return "a run with params.lr != 0.01";
    }
    double acc = run["metrics"].value("acc", -1.0);
    if (acc > prev) return "runs not sorted by metrics.acc, descending";
    prev = acc;
  }
  return lines == 10 ? "" : std::to_string(lines) + " runs printed, expected 10";
}

// End to end: process start, index open, load (unless --no-load), query,
// JSON lines out.
void BM_QueryTop10CLI(benchmark::State& state) {
  Sweep* sw = Ready(state);
  if (sw == nullptr) return;
  RemoveMarkers(sw->info_root);
  std::vector<std::string> args = {"--db", sw->db_path, "--info-root", sw->info_root};
  if (state.range(0) != 0) args.push_back("--no-load");
  for (const char* a : {"query", "params.lr == 0.01", "--sort=-metrics.acc", "--limit",
                        "10", "--format", "jsonl"}) {
    args.push_back(a);
  }
  std::string out;
  size_t out_bytes = 0;
  for (auto _ : state) {
    int code = RunCli(args, &out);
    if (code != 0) {
      state.SkipWithError(("lumo-db query exited with " + std::to_string(code)).c_str());
      break;
    }
    out_bytes += out.size();
  }
  std::string bad = CheckTop10(out);
  if (!bad.empty() && state.error_occurred() == false) state.SkipWithError(bad.c_str());
  state.counters["runs"] = static_cast<double>(sw->n_runs);
  state.counters["out_bytes"] =
      benchmark::Counter(static_cast<double>(out_bytes), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_QueryTop10CLI)
    ->ArgName("no_load")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

// Baseline: the fixed cost of starting lumo-db (dynamic linking, static
// initialisers, CLI parsing), with no index opened.
void BM_CLIVersion(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    int code = RunCli({"--version"}, &out);
    if (code != 0) {
      state.SkipWithError(("lumo-db --version exited with " + std::to_string(code)).c_str());
      break;
    }
  }
}
BENCHMARK(BM_CLIVersion)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

}  // namespace
}  // namespace lumodb::bench

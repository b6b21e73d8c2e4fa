// Whole-table reads (issue 11): every run of N (default 100,000;
// $LUMODB_BENCH_RUNS) through `lumo-db dump`, `query --format jsonl` and a
// three-column csv query, each a whole process with its peak RSS, over a
// native sweep (sweep_generator) and an imported lumo tree
// (lumo_tree_generator). Baselines in the same run: the floor (a bare
// iteration over the experiments family plus writing as many bytes to
// /dev/null) and, when $LUMODB_BENCH_BASELINE_BIN names an older lumo-db,
// the same commands through it (on an index it builds itself).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "index/index.h"
#include "lumo_tree_generator.h"
#include "sweep_generator.h"

namespace lumodb::bench {
namespace {

struct Source {
  bool prepared = false, ready = false;
  std::string error;
  size_t n_runs = 0;
  std::string info_root, db, baseline_db;
  std::vector<std::string> build_args;  // how its index is made (after --db DB)
  size_t dump_bytes = 0;                // output of the last dump, for the floor
  std::string some_run;                 // a test_name, for show
};

std::string DataDir() {
  const char* data = std::getenv("LUMODB_BENCH_DATA");
  return data != nullptr && *data != '\0' ? std::string(data)
                                          : std::string(LUMODB_BIN_DIR) + "/bench-data";
}

size_t RunsFromEnv() {
  const char* runs = std::getenv("LUMODB_BENCH_RUNS");
  return runs != nullptr && *runs != '\0' ? std::strtoull(runs, nullptr, 10) : 100000;
}

std::string Baseline() {
  const char* bin = std::getenv("LUMODB_BENCH_BASELINE_BIN");
  return bin != nullptr && *bin != '\0' ? bin : "";
}

// Builds db with binary unless it exists.
bool EnsureIndex(const std::string& binary, const std::string& db, Source* s) {
  if (std::filesystem::exists(db)) return true;
  std::vector<std::string> args = {"--db", db, "--info-root", s->info_root};
  args.insert(args.end(), s->build_args.begin(), s->build_args.end());
  std::string out;
  auto t0 = std::chrono::steady_clock::now();
  int code = RunCliBinary(binary, args, &out);
  if (code != 0) {
    s->error = binary + " could not build " + db + " (exit " + std::to_string(code) + ")";
    return false;
  }
  std::fprintf(stderr, "read bench: built %s with %s (%.1f s)\n", db.c_str(), binary.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return true;
}

// 0: the native sweep, 1: the imported lumo tree.
Source& GetSource(int which) {
  static Source sources[2];
  Source& s = sources[which];
  if (s.prepared) return s;
  s.prepared = true;
  s.n_runs = RunsFromEnv();
  const std::string data = DataDir();
  const std::string n = std::to_string(s.n_runs);
  Status st;
  if (which == 0) {
    const std::string dir = data + "/sweep-" + n;
    bool generated = false;
    st = EnsureSweep(dir, s.n_runs, SweepOptions(), &generated);
    if (st.ok()) st = RemoveMarkers(dir + "/info");
    s.info_root = dir + "/info";
    s.db = data + "/read-sweep-" + n + "-index";
    s.build_args = {"reindex"};
  } else {
    const std::string home = data + "/lumo-tree-" + n;
    bool generated = false;
    st =
        EnsureLumoTree(std::string(LUMODB_FIXTURES_DIR) + "/lumo-home", home, s.n_runs, &generated);
    s.info_root = data + "/read-empty-info";
    std::filesystem::create_directories(s.info_root);
    s.db = data + "/read-lumo-" + n + "-index";
    s.build_args = {"import", home, "--lumo-cache", home + "/cache"};
  }
  if (!st.ok()) {
    s.error = st.ToString();
    return s;
  }
  if (!EnsureIndex(std::string(LUMODB_BIN_DIR) + "/lumo-db", s.db, &s)) return s;
  if (!Baseline().empty()) {
    s.baseline_db = s.db + "-baseline";
    if (!EnsureIndex(Baseline(), s.baseline_db, &s)) return s;
  }
  std::string out;
  RunCli({"--db", s.db, "--info-root", s.info_root, "query", "--limit", "1", "--columns",
          "test_name,exp_name", "--format", "csv"},
         &out);
  size_t nl = out.find('\n');
  if (nl != std::string::npos) s.some_run = out.substr(nl + 1, out.find(',', nl) - nl - 1);
  s.ready = true;
  return s;
}

Source* Ready(benchmark::State& state, int which) {
  Source& s = GetSource(which);
  if (!s.ready) {
    state.SkipWithError(s.error.c_str());
    return nullptr;
  }
  return &s;
}

std::vector<std::string> Command(int cmd) {
  switch (cmd) {
    case 0:
      return {"dump"};
    case 1:
      return {"query", "--format", "jsonl"};
    default:
      return {"query", "--columns", "test_name,params.lr,metrics.acc", "--format", "csv"};
  }
}

size_t Lines(const std::string& out) { return std::count(out.begin(), out.end(), '\n'); }

// args: source (0 sweep, 1 lumo), command (0 dump, 1 jsonl, 2 csv3),
// binary (0 this build, 1 the baseline binary).
void BM_ReadAllCLI(benchmark::State& state) {
  Source* s = Ready(state, static_cast<int>(state.range(0)));
  if (s == nullptr) return;
  const int cmd = static_cast<int>(state.range(1));
  const bool baseline = state.range(2) != 0;
  if (baseline && Baseline().empty()) {
    state.SkipWithError("set LUMODB_BENCH_BASELINE_BIN to an older lumo-db");
    return;
  }
  std::vector<std::string> args = {"--db", baseline ? s->baseline_db : s->db, "--info-root",
                                   s->info_root};
  for (const auto& a : Command(cmd)) args.push_back(a);
  std::string out;
  long peak_kib = 0;
  for (auto _ : state) {
    struct rusage usage {};
    int code = baseline ? RunCliBinary(Baseline(), args, &out, &usage) : RunCli(args, &out, &usage);
    if (code != 0) {
      state.SkipWithError(("lumo-db exited with " + std::to_string(code)).c_str());
      return;
    }
    peak_kib = std::max(peak_kib, usage.ru_maxrss);
  }
  const size_t rows = Lines(out) - (cmd == 2 ? 1 : 0);
  if (rows < s->n_runs / 2) {
    state.SkipWithError(("printed " + std::to_string(rows) + " runs").c_str());
    return;
  }
  if (cmd == 0 && !baseline) s->dump_bytes = out.size();
  state.counters["rows"] = static_cast<double>(rows);
  state.counters["out_MB"] = static_cast<double>(out.size()) / 1e6;
  state.counters["peak_rss_MiB"] = static_cast<double>(peak_kib) / 1024.0;
}
BENCHMARK(BM_ReadAllCLI)
    ->ArgNames({"lumo", "cmd", "old"})
    ->ArgsProduct({{0, 1}, {0, 1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->DisplayAggregatesOnly(true);

// The floor: every record of the experiments family read once, and as many
// bytes as the dump printed written to /dev/null.
void BM_ReadFloor(benchmark::State& state) {
  Source* s = Ready(state, static_cast<int>(state.range(0)));
  if (s == nullptr) return;
  if (s->dump_bytes == 0) {
    std::string out;
    RunCli({"--db", s->db, "--info-root", s->info_root, "dump"}, &out);
    s->dump_bytes = out.size();
  }
  const std::string chunk(1 << 20, 'x');
  int null = ::open("/dev/null", O_WRONLY);
  size_t touched = 0;
  for (auto _ : state) {
    std::unique_ptr<Index> index;
    Status st = Index::OpenSnapshot(s->db, &index);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(index->db()->NewIterator(ro, index->cf(kRuns)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) touched += it->value().size();
    for (size_t left = s->dump_bytes; left > 0;) {
      size_t n = std::min(left, chunk.size());
      if (::write(null, chunk.data(), n) < 0) break;
      left -= n;
    }
  }
  ::close(null);
  benchmark::DoNotOptimize(touched);
  state.counters["out_MB"] = static_cast<double>(s->dump_bytes) / 1e6;
}
BENCHMARK(BM_ReadFloor)
    ->ArgName("lumo")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(3)
    ->DisplayAggregatesOnly(true);

// One run, whole, by test_name: the point query.
void BM_ShowCLI(benchmark::State& state) {
  Source* s = Ready(state, static_cast<int>(state.range(0)));
  if (s == nullptr) return;
  const bool baseline = state.range(1) != 0;
  if (baseline && Baseline().empty()) {
    state.SkipWithError("set LUMODB_BENCH_BASELINE_BIN to an older lumo-db");
    return;
  }
  std::vector<std::string> args = {"--db",        baseline ? s->baseline_db : s->db,
                                   "--info-root", s->info_root,
                                   "show",        s->some_run,
                                   "--format",    "jsonl"};
  std::string out;
  for (auto _ : state) {
    int code = baseline ? RunCliBinary(Baseline(), args, &out) : RunCli(args, &out);
    if (code != 0) {
      state.SkipWithError(("lumo-db show exited with " + std::to_string(code)).c_str());
      return;
    }
  }
}
BENCHMARK(BM_ShowCLI)
    ->ArgNames({"lumo", "old"})
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(5)
    ->DisplayAggregatesOnly(true);

}  // namespace
}  // namespace lumodb::bench

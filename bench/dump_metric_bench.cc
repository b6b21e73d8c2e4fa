// dump_metric per call: lumo-db's Experiment against what lumo does per call
// (rewrite a small pickle file and two small marker files).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <benchmark/benchmark.h>

#include "lumodb/lumodb.h"

namespace {

// A fresh directory under $TMPDIR (or /tmp), removed when done.
class TempDir {
 public:
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr && *tmp ? tmp : "/tmp") +
                          "/lumodb-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// How a benchmark calls dump_metric.
enum class Call { kPlain, kExtras, kStep };

// dump_metric on a started run in temporary roots: kPlain as before metric
// history had steps (the default step), kExtras with {"best_epoch": 7} as the
// example trainer passes, kStep with an explicit step. Counts the journal's
// bytes per logged value once the run has ended.
void DumpMetricLoop(benchmark::State& state, Call call) {
  TempDir dir;
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  lumodb::Roots roots;
  roots.home = dir.path();
  roots.info_root = dir.path() + "/info";
  roots.blob_root = dir.path() + "/blob";
  roots.cache_root = dir.path() + "/cache";
  lumodb::ExperimentOptions options;
  options.default_hooks = false;  // LastCmd would write run_*.sh in the cwd
  lumodb::Experiment exp("bench.dump_metric", roots, options);
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  const std::string journal = exp.info_dir() + "/journal";
  const uintmax_t start_bytes = std::filesystem::file_size(journal);
  const std::string extras = R"({"best_epoch": 7})";
  const std::string none;
  double value = 0;
  int64_t step = 0;
  for (auto _ : state) {
    value += 1e-6;
    switch (call) {
      case Call::kPlain:
        benchmark::DoNotOptimize(exp.dump_metric("acc", value, lumodb::Cmp::Max, none));
        break;
      case Call::kExtras:
        benchmark::DoNotOptimize(exp.dump_metric("acc", value, lumodb::Cmp::Max, extras));
        break;
      case Call::kStep:
        benchmark::DoNotOptimize(exp.dump_metric("acc", value, lumodb::Cmp::Max, none, step));
        step += 2;
        break;
    }
  }
  s = exp.last_error();
  exp.end(0);
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  state.SetItemsProcessed(state.iterations());
  const uintmax_t bytes = std::filesystem::file_size(journal) - start_bytes;
  state.counters["journal_bytes_per_value"] =
      static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(1, state.iterations()));
}

// extras: 0 no extras, 1 {"best_epoch": k} as the example trainer passes.
void BM_DumpMetric(benchmark::State& state) {
  DumpMetricLoop(state, state.range(0) != 0 ? Call::kExtras : Call::kPlain);
}
BENCHMARK(BM_DumpMetric)
    ->ArgName("extras")
    ->Arg(0)
    ->Arg(1)
    ->Repetitions(9)
    ->DisplayAggregatesOnly(true)
    ->UseRealTime();

// dump_metric with an explicit step (every second step), the call metric
// history adds; baseline: BM_DumpMetric/extras:0 in the same run.
void BM_DumpMetricStep(benchmark::State& state) { DumpMetricLoop(state, Call::kStep); }
BENCHMARK(BM_DumpMetricStep)->Repetitions(9)->DisplayAggregatesOnly(true)->UseRealTime();

bool RewriteFile(const std::string& path, const char* data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data, size) == static_cast<ssize_t>(size);
  return ::close(fd) == 0 && ok;
}

// The baseline: lumo rewrites the run's metric pickle on every dump_metric
// and refreshes two small marker files (heartbeat and last edit).
void BM_LumoStyleDumpMetric(benchmark::State& state) {
  TempDir dir;
  if (dir.path().empty()) {
    state.SkipWithError("mkdtemp failed");
    return;
  }
  const std::string pickle = dir.path() + "/metric.pkl";
  const std::string heartbeat = dir.path() + "/heartbeat";
  const std::string edit = dir.path() + "/last_edit_time";
  char body[256];
  std::memset(body, 0x5a, sizeof(body));  // a small dict of metrics, pickled
  const char marker[] = "26-01-01-120000\n";
  for (auto _ : state) {
    if (!RewriteFile(pickle, body, sizeof(body)) ||
        !RewriteFile(heartbeat, marker, sizeof(marker) - 1) ||
        !RewriteFile(edit, marker, sizeof(marker) - 1)) {
      state.SkipWithError(("rewrite failed: " + std::string(std::strerror(errno))).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * (sizeof(body) + 2 * (sizeof(marker) - 1)));
}
BENCHMARK(BM_LumoStyleDumpMetric)
    ->Repetitions(9)
    ->DisplayAggregatesOnly(true)
    ->UseRealTime();

}  // namespace

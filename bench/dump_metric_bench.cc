// dump_metric per call: lumo-db's Experiment against what lumo does per call
// (rewrite a small pickle file and two small marker files).
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

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

// extras: 0 no extras, 1 {"best_epoch": k} as the example trainer passes.
void BM_DumpMetric(benchmark::State& state) {
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
  const bool with_extras = state.range(0) != 0;
  const std::string extras = R"({"best_epoch": 7})";
  double value = 0;
  for (auto _ : state) {
    value += 1e-6;
    benchmark::DoNotOptimize(exp.dump_metric(
        "acc", value, lumodb::Cmp::Max, with_extras ? extras : std::string()));
  }
  s = exp.last_error();
  exp.end(0);
  if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DumpMetric)
    ->ArgName("extras")
    ->Arg(0)
    ->Arg(1)
    ->Repetitions(9)
    ->DisplayAggregatesOnly(true)
    ->UseRealTime();

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

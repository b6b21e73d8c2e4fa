// Git snapshot benchmarks: TakeGitSnapshot on a generated repository of
// 20,000 files (about 200 MB, committed and packed once), first snapshot,
// 5 files changed, nothing changed. Baseline in the same run: the git
// command's way, `git add -A` into a temporary index (GIT_INDEX_FILE) plus
// `git write-tree` and `git commit-tree`, with a fresh and with a kept index.
//
// The repository is generated once into $LUMODB_BENCH_DATA/git-repo-20000
// (default <build>/bench-data/...) and reused while its `complete` stamp
// exists. Snapshots add commits to its lumo_experiments branch; harmless.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include "code/git_snapshot.h"

namespace lumodb::bench {
namespace {

constexpr int kFiles = 20000;

struct Repo {
  bool prepared = false;
  std::string error;
  std::string dir;
  int edits = 0;  // makes every edit new content
};

// Deterministic text: words of lowercase letters, lines of about 60 bytes.
std::string FileText(uint64_t seed, size_t bytes) {
  std::string out;
  out.reserve(bytes + 16);
  uint64_t x = seed * 6364136223846793005ull + 1442695040888963407ull;
  size_t line = 0;
  while (out.size() < bytes) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t len = 2 + (x >> 60);
    for (size_t i = 0; i < len; ++i) out += static_cast<char>('a' + ((x >> (8 + 5 * i % 40)) % 26));
    line += len + 1;
    if (line > 60) {
      out += '\n';
      line = 0;
    } else {
      out += ' ';
    }
  }
  return out;
}

std::string FilePath(const std::string& dir, int i) {
  return dir + "/d" + std::to_string(i / 500) + "/s" + std::to_string(i / 50 % 10) + "/f" +
         std::to_string(i) + ".txt";
}

int Sh(const std::string& command) { return std::system(command.c_str()); }

const char* kGitEnv =
    "GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com "
    "GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com GIT_CONFIG_NOSYSTEM=1 ";

Repo& GetRepo() {
  static Repo r;
  if (r.prepared) return r;
  r.prepared = true;
  const char* data = std::getenv("LUMODB_BENCH_DATA");
  const std::string parent = data != nullptr && *data != '\0'
                                 ? std::string(data)
                                 : std::string(LUMODB_BIN_DIR) + "/bench-data";
  r.dir = parent + "/git-repo-" + std::to_string(kFiles);
  if (std::filesystem::exists(r.dir + "/complete.stamp")) {
    std::fprintf(stderr, "git repo: reused %s\n", r.dir.c_str());
    return r;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::filesystem::remove_all(r.dir);
  size_t total = 0;
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = FilePath(r.dir, i);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::string text = FileText(i, 2000 + (i * 7919u) % 16000);
    total += text.size();
    std::ofstream(path, std::ios::binary) << text;
  }
  std::ofstream(r.dir + "/.gitignore") << "complete.stamp\n";
  const std::string git = "cd '" + r.dir + "' && " + kGitEnv + "git ";
  if (Sh(git + "init -q -b main") != 0 || Sh(git + "add -A") != 0 ||
      Sh(git + "commit -q -m generated") != 0 || Sh(git + "repack -adq") != 0) {
    r.error = "generating the git repository in " + r.dir + " failed";
    return r;
  }
  std::ofstream(r.dir + "/complete.stamp") << "";
  std::fprintf(stderr, "git repo: generated %d files, %zu MB in %s (%.1f s)\n", kFiles,
               total >> 20, r.dir.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return r;
}

// Rewrites 5 files spread over the tree with new content.
void EditFive(Repo& r) {
  ++r.edits;
  for (int k = 0; k < 5; ++k) {
    int i = (k * 4001 + r.edits * 17) % kFiles;
    std::ofstream(FilePath(r.dir, i), std::ios::binary)
        << FileText(i, 2000) << "edit " << r.edits << "\n";
  }
}

void Snapshot(benchmark::State& state, Repo& r) {
  nlohmann::json record;
  GitSnapshotOptions options;
  Status s = TakeGitSnapshot(r.dir, options, &record);
  if (!s.ok() || record.contains("branch_error")) {
    state.SkipWithError((s.ToString() + " " + record.dump()).c_str());
  }
}

// First snapshot: no private index yet. seed:1 starts from a copy of the
// user's .git/index (its stat data); seed:0 without one (as after a clone
// whose index is gone), so every file is hashed.
void BM_GitSnapshotFirst(benchmark::State& state) {
  Repo& r = GetRepo();
  if (!r.error.empty()) return state.SkipWithError(r.error.c_str());
  const bool seed = state.range(0) != 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::filesystem::remove_all(r.dir + "/.git/lumodb");
    if (!seed) std::filesystem::rename(r.dir + "/.git/index", r.dir + "/.git/index.away");
    state.ResumeTiming();
    Snapshot(state, r);
    state.PauseTiming();
    if (!seed) std::filesystem::rename(r.dir + "/.git/index.away", r.dir + "/.git/index");
    state.ResumeTiming();
  }
}
BENCHMARK(BM_GitSnapshotFirst)->ArgName("seed")->Arg(1)->Arg(0)
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1)->Repetitions(3)
    ->DisplayAggregatesOnly(true);

void BM_GitSnapshotFiveChanged(benchmark::State& state) {
  Repo& r = GetRepo();
  if (!r.error.empty()) return state.SkipWithError(r.error.c_str());
  for (auto _ : state) {
    state.PauseTiming();
    EditFive(r);
    state.ResumeTiming();
    Snapshot(state, r);
  }
}
BENCHMARK(BM_GitSnapshotFiveChanged)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(10)->Repetitions(3)->DisplayAggregatesOnly(true);

void BM_GitSnapshotNothingChanged(benchmark::State& state) {
  Repo& r = GetRepo();
  if (!r.error.empty()) return state.SkipWithError(r.error.c_str());
  // The stat data of the last edits must be settled (not racy) first.
  Snapshot(state, r);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Snapshot(state, r);
  for (auto _ : state) Snapshot(state, r);
}
BENCHMARK(BM_GitSnapshotNothingChanged)->Unit(benchmark::kMillisecond)->UseRealTime()
    ->Iterations(10)->Repetitions(3)->DisplayAggregatesOnly(true);

// Baseline: GIT_INDEX_FILE=<tmp> git add -A; git write-tree; git
// commit-tree -p HEAD. fresh:1 starts each time from no index (the whole
// tree hashed, as a one-off temporary index does); fresh:0 keeps the
// temporary index between iterations, like our private index. edits:5
// rewrites 5 files before each iteration (untimed).
void BM_GitCliAddAllBaseline(benchmark::State& state) {
  Repo& r = GetRepo();
  if (!r.error.empty()) return state.SkipWithError(r.error.c_str());
  const bool fresh = state.range(0) != 0;
  const bool edits = state.range(1) != 0;
  const std::string index = r.dir + "/.git/bench-index";
  const std::string command = "cd '" + r.dir + "' && export " + kGitEnv +
                              "GIT_INDEX_FILE='" + index +
                              "' && git add -A && tree=$(git write-tree) && "
                              "git commit-tree \"$tree\" -p HEAD -m bench >/dev/null";
  std::filesystem::remove(index);
  if (!fresh) Sh(command);  // the kept index starts filled
  for (auto _ : state) {
    state.PauseTiming();
    if (fresh) std::filesystem::remove(index);
    if (edits) EditFive(r);
    state.ResumeTiming();
    if (Sh(command) != 0) state.SkipWithError("git add -A / write-tree / commit-tree failed");
  }
  std::filesystem::remove(index);
}
BENCHMARK(BM_GitCliAddAllBaseline)->ArgNames({"fresh", "edits"})
    ->Args({1, 0})->Args({0, 5})->Args({0, 0})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3)->Repetitions(3)
    ->DisplayAggregatesOnly(true);

}  // namespace
}  // namespace lumodb::bench

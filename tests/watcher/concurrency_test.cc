// Readers never fail and writers wait their turn: real lumo-db processes
// query, dump and show the index in loops while others reindex it, load
// into it, import into it, and get killed in the middle of a reindex; a
// long-lived Watcher in this process reads all along.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "index/layout.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

extern char** environ;

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::Lines;
using testing::Result;

class ConcurrencyTest : public testing::ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    ::unsetenv("LUMO_EXP_TEST_NAME");
    roots_.home = dir_ / "home/.lumo";
    roots_.info_root = dir_ / "info";
    roots_.blob_root = dir_ / "blob";
    roots_.cache_root = dir_ / "cache";
    db_ = dir_ / "db";
    fs::copy(testing::FixturesDir() + "/lumo-home", dir_ / "lumo-home",
             fs::copy_options::recursive);
  }

  std::vector<std::string> Common() const {
    return {"--db", db_, "--info-root", roots_.info_root, "--cache-root", roots_.cache_root};
  }
  std::vector<std::string> Args(std::vector<std::string> args) const {
    std::vector<std::string> all = Common();
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  Result Cli(const std::vector<std::string>& args) {
    return Run(testing::BinPath("lumo-db"), Args(args));
  }

  // A finished run, recorded by a trainer in this process.
  std::string Record(int i) {
    ExperimentOptions opts;
    opts.default_hooks = false;
    Experiment e(i % 2 == 0 ? "sweep.a" : "sweep.b", roots_, opts);
    EXPECT_TRUE(e.start().ok());
    EXPECT_TRUE(e.dump_info("params", "{\"lr\": " + std::to_string(0.001 * (i + 1)) + "}").ok());
    e.dump_metric("acc", 0.5 + 0.001 * i, Cmp::Max);
    EXPECT_TRUE(e.end(0).ok());
    return e.test_name();
  }

  // Starts a child that runs cli_loop for seconds; its report goes to a
  // file, read by Finish.
  struct Loop {
    pid_t pid = -1;
    std::string report;
  };
  Loop Start(double seconds, const std::vector<std::string>& args) {
    Loop loop;
    loop.report = dir_ / ("loop" + std::to_string(loops_++) + ".txt");
    std::vector<std::string> argv_s = {testing::BinPath("cli_loop"), std::to_string(seconds),
                                       testing::BinPath("lumo-db")};
    for (const auto& a : Args(args)) argv_s.push_back(a);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string home = "HOME=" + home_;
    loop.pid = ::fork();
    if (loop.pid == 0) {
      int out = ::open(loop.report.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || ::dup2(out, 1) < 0 || ::chdir(work_.c_str()) != 0) ::_exit(126);
      ::putenv(const_cast<char*>(home.c_str()));
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return loop;
  }
  std::vector<std::string> Finish(const Loop& loop) {
    int status = 0;
    EXPECT_EQ(::waitpid(loop.pid, &status, 0), loop.pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return Lines(testing::ReadFile(loop.report));
  }
  // A child lumo-db with its output to /dev/null.
  pid_t SpawnQuiet(const std::vector<std::string>& args) {
    std::vector<std::string> argv_s = {testing::BinPath("lumo-db")};
    for (const auto& a : Args(args)) argv_s.push_back(a);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return pid;
  }
  // A child lumo-db that is killed with SIGKILL after delay_ms.
  void KillAfter(const std::vector<std::string>& args, int delay_ms) {
    pid_t pid = SpawnQuiet(args);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }

  Roots roots_;
  std::string db_;
  int loops_ = 0;
};

// Checks each line of a loop's report: every run of the command succeeded,
// and, when lines_from is set, printed between lines_from and lines_to lines.
void ExpectAllOk(const std::vector<std::string>& report, const std::string& what,
                 size_t lines_from = 0, size_t lines_to = 0) {
  EXPECT_GE(report.size(), 5u) << what << " hardly ran";
  for (const std::string& line : report) {
    ASSERT_EQ(line.rfind("ok ", 0), 0u) << what << ": " << line;
    if (lines_to > 0) {
      size_t n = std::stoul(line.substr(3));
      EXPECT_GE(n, lines_from) << what;
      EXPECT_LE(n, lines_to) << what;
    }
  }
}

TEST_F(ConcurrencyTest, ReadersAnswerThroughReindexLoadImportAndAKilledWriter) {
  constexpr int kRuns = 120;
  std::string some_run;
  for (int i = 0; i < kRuns; ++i) some_run = Record(i);
  ASSERT_EQ(Cli({"import", dir_ / "lumo-home"}).code, 0);
  ASSERT_EQ(Cli({"load"}).code, 0);
  const size_t first = kRuns + 13;

  constexpr double kSeconds = 8;
  Loop queries = Start(kSeconds, {"query", "--format", "jsonl", "--columns", "test_name"});
  Loop sorted =
      Start(kSeconds, {"query", "--format", "csv", "--sort=-metrics.acc", "--limit", "5"});
  Loop dumps = Start(kSeconds, {"dump"});
  Loop shows = Start(kSeconds, {"show", some_run, "--exp", "sweep.b"});

  // A long-lived reader in this process, as a notebook or the dashboard.
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, reader_errors{0};
  std::atomic<size_t> min_seen{SIZE_MAX}, max_seen{0};
  std::thread reader([&] {
    WatcherOptions options;
    options.db_path = db_;
    options.lazy_writer = true;
    options.release_writer = true;
    options.writer_wait_ms = 2000;
    options.warn = [](const std::string&) {};
    std::unique_ptr<Watcher> w;
    if (!Watcher::Open(roots_, options, &w).ok()) {
      reader_errors++;
      return;
    }
    while (!stop) {
      size_t n = 0;
      Status s = w->load();
      if (s.ok()) {
        s = w->read(Query(), ReadOptions{{"test_name"}, false}, [&n](const RunRow&) {
          ++n;
          return Status::OK();
        });
      }
      if (!s.ok()) {
        reader_errors++;
        ADD_FAILURE() << "long-lived reader: " << s.ToString();
        continue;
      }
      reads++;
      min_seen = std::min<size_t>(min_seen, n);
      max_seen = std::max<size_t>(max_seen, n);
    }
  });

  // The writers, one after another, while the readers go on.
  std::mt19937 rng(42);
  size_t added = 0;
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int>(kSeconds * 1000) - 500);
  int rounds = 0;
  // At least three rounds however slow the machine (a sanitizer build);
  // more while the readers' time lasts.
  while (rounds < 3 || std::chrono::steady_clock::now() < end) {
    Record(kRuns + static_cast<int>(added++));
    EXPECT_EQ(Cli({"load"}).code, 0);
    EXPECT_EQ(Cli({"reindex"}).code, 0);
    KillAfter({"reindex"}, static_cast<int>(rng() % 60));
    EXPECT_EQ(Cli({"import", dir_ / "lumo-home"}).code, 0);
    ++rounds;
  }
  stop = true;
  reader.join();
  const size_t last = first + added;
  ExpectAllOk(Finish(queries), "query", first, last);
  ExpectAllOk(Finish(sorted), "sorted query", 6, 6);  // header and 5 rows
  ExpectAllOk(Finish(dumps), "dump", first, last);
  ExpectAllOk(Finish(shows), "show");
  EXPECT_EQ(reader_errors, 0);
  EXPECT_GT(reads, 5);
  EXPECT_GE(min_seen, first);
  EXPECT_LE(max_seen, last);
  // Nothing of the killed reindexes is left once a writer came after them.
  ASSERT_EQ(Cli({"reindex"}).code, 0);
  size_t generations = 0;
  for (const auto& e : fs::directory_iterator(db_)) {
    generations += e.path().filename().string().rfind("gen-", 0) == 0 && e.is_directory();
  }
  EXPECT_EQ(generations, 1u);
}

TEST_F(ConcurrencyTest, WritersWaitTheirTurnAndPastTheBoundNameTheHolder) {
  for (int i = 0; i < 40; ++i) Record(i);
  ASSERT_EQ(Cli({"load"}).code, 0);

  // Two writers at once: the second waits for the first, both succeed.
  std::vector<pid_t> pids;
  for (const char* cmd : {"reindex", "reindex", "load"}) pids.push_back(SpawnQuiet({cmd}));
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }

  // A holder that keeps the index past the bound is named.
  const std::string before = Record(99);
  {
    IndexLayout layout(db_);
    WriterLock held;
    bool taken = false;
    ASSERT_TRUE(held.TryTake(layout, "test-holder", &taken, nullptr).ok());
    ASSERT_TRUE(taken);
    Result busy = Cli({"--wait", "1", "reindex"});
    EXPECT_EQ(busy.code, 1);
    EXPECT_THAT(busy.err, HasSubstr("waiting for the index " + db_));
    EXPECT_THAT(busy.err, HasSubstr("held by pid " + std::to_string(::getpid())));
    EXPECT_THAT(busy.err, HasSubstr("test-holder"));
    EXPECT_THAT(busy.err, HasSubstr("waited 1 s to reindex"));
    // A reader that would write answers from the index as it is.
    Result query = Cli({"--wait", "1", "query", "--format", "jsonl", "--columns", "test_name"});
    EXPECT_EQ(query.code, 0) << query.err;
    EXPECT_EQ(Lines(query.out).size(), 40u);
    EXPECT_THAT(query.err, HasSubstr("answering from the index as it is"));
  }
  // Once free, the new run is loaded.
  Result query = Cli({"query", "--format", "jsonl", "--columns", "test_name"});
  EXPECT_EQ(query.code, 0) << query.err;
  EXPECT_EQ(Lines(query.out).size(), 41u);
  EXPECT_THAT(query.out, HasSubstr(before));
}

}  // namespace
}  // namespace lumodb

// The engine's crash and concurrency guarantees, checked end to end: real
// child processes (fork + exec of example_trainer and tests/helpers/*),
// real signals, and a real RocksDB index in a temporary folder. Children get
// HOME pointing into that folder, so lumo's defaults (~/.lumo/experiments,
// ~/.cache/lumo) put their runs where the test's Watcher looks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "experiment/process_info.h"
#include "journal/format.h"
#include "journal/markers.h"
#include "journal/reader.h"
#include "journal/writer.h"
#include "journal_generated.h"
#include "child_process.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

extern char** environ;

namespace lumodb {
namespace {

using nlohmann::json;
using testing::BinPath;
using testing::Child;
using testing::CollectWarning;
using testing::Clock;
using testing::DescribeWait;
using testing::Eventually;
using testing::ReadFile;
using testing::SpawnChild;
using testing::TakeWarnings;
using testing::TempDir;
using testing::WaitExit;

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "  " + l + "\n";
  return out;
}

struct FrameInfo {
  uint64_t offset;
  uint32_t length;
  fbs::Event type;
};

// Walks a journal's frames (assumed intact) and names each one's event.
std::vector<FrameInfo> ListFrames(const std::string& path) {
  std::string data = ReadFile(path);
  std::vector<FrameInfo> frames;
  size_t pos = journal::kMagicSize;
  while (pos + journal::kHeaderSize <= data.size()) {
    uint32_t len =
        journal::DecodeFixed32(data.data() + pos + journal::kLengthOffset);
    if (pos + journal::kHeaderSize + len > data.size()) break;
    const auto* ev = fbs::GetRunEvent(data.data() + pos + journal::kHeaderSize);
    frames.push_back({pos, len, ev->event_type()});
    pos += journal::kHeaderSize + len;
  }
  return frames;
}

class CrashTest : public testing::ChildrenTest {
 protected:
  // The one run of exp_name in the index, as JSON (null if none or several).
  json OnlyRun(Watcher* w, const std::string& exp_name) {
    Query q;
    q.exp_name = exp_name;
    std::vector<std::string> runs;
    Status s = w->query(q, &runs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (runs.size() != 1) return json();
    return json::parse(runs[0]);
  }

  // Loads until the run of exp_name has recorded acc `count` times; for
  // trainers stopped in --hang-at, whose signal handlers are in place by then.
  bool WaitForAccCount(Watcher* w, const std::string& exp_name, int count) {
    return Eventually([&] {
      Status s = w->load();
      EXPECT_TRUE(s.ok()) << s.ToString();
      json run = OnlyRun(w, exp_name);
      return run.is_object() &&
             run.value(json::json_pointer("/metrics_detail/acc/count"), 0) >=
                 count;
    });
  }

};

// 1. Sixteen trainers write at once while the test loads in a loop: every
// run ends up in the index, complete and finished, and no load fails or
// mistakes a growing journal for a corrupt one.
TEST_F(CrashTest, SixteenTrainersWhileWatcherLoads) {
  constexpr int kTrainers = 16;
  constexpr int kEpochs = 12;
  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  std::vector<Child> children;
  for (int i = 0; i < kTrainers; ++i) {
    children.push_back(
        Spawn("example_trainer",
              {"--exp", "crash.many", "--lr", std::to_string(0.01 * (i + 1)),
               "--seed", std::to_string(i), "--epochs", std::to_string(kEpochs),
               "--sleep-ms", "5"},
              /*capture_stdout=*/true));
  }
  int loads = 0;
  size_t max_seen = 0;
  std::set<pid_t> running;
  for (const auto& c : children) running.insert(c.pid);
  std::map<pid_t, int> exit_status;
  while (!running.empty()) {
    LoadStats stats;
    Status s = w->load(&stats);
    ASSERT_TRUE(s.ok()) << "load " << loads << ": " << s.ToString();
    ++loads;
    max_seen = std::max(max_seen, stats.markers);
    // A run that is finishing is never taken for a dead one, not even for
    // one load.
    Query killed;
    killed.exp_name = "crash.many";
    killed.status = "killed";
    std::vector<std::string> found;
    ASSERT_TRUE(w->query(killed, &found).ok());
    ASSERT_EQ(found, std::vector<std::string>()) << "after load " << loads;
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      if (::waitpid(*it, &status, WNOHANG) == *it) {
        exit_status[*it] = status;
        live_.erase(std::remove(live_.begin(), live_.end(), *it), live_.end());
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }
  ASSERT_TRUE(w->load().ok());

  std::set<std::string> test_names;
  for (auto& c : children) {
    ASSERT_TRUE(WIFEXITED(exit_status[c.pid]) &&
                WEXITSTATUS(exit_status[c.pid]) == 0)
        << DescribeWait(exit_status[c.pid]);
    std::string line;
    ASSERT_TRUE(c.out->WaitFor("crash.many ", &line));
    test_names.insert(line.substr(line.find(' ') + 1));
  }
  EXPECT_EQ(test_names.size(), static_cast<size_t>(kTrainers))
      << "test_names collided";

  for (const std::string& test : test_names) {
    SCOPED_TRACE(test);
    json run = Retrieve(w.get(), "crash.many", test);
    ASSERT_TRUE(run.is_object());
    EXPECT_EQ(run["status"], "finished");
    EXPECT_EQ(run["progress"]["end_code"], 0);
    EXPECT_EQ(run["metrics_detail"]["acc"]["count"], kEpochs);
    EXPECT_EQ(run["metrics_detail"]["loss"]["count"], kEpochs);
    EXPECT_EQ(run["params"]["epochs"], kEpochs);
    EXPECT_EQ(run["text"]["summary"],
              "trained " + std::to_string(kEpochs) + " epochs");
  }
  Query all;
  all.exp_name = "crash.many";
  std::vector<std::string> runs;
  ASSERT_TRUE(w->query(all, &runs).ok());
  EXPECT_EQ(runs.size(), static_cast<size_t>(kTrainers));
  Query finished = all;
  finished.status = "finished";
  runs.clear();
  ASSERT_TRUE(w->query(finished, &runs).ok());
  EXPECT_EQ(runs.size(), static_cast<size_t>(kTrainers))
      << "status index disagrees";
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
  RecordProperty("loads", loads);
  RecordProperty("max_markers_seen", static_cast<int>(max_seen));
}

// 2. SIGKILL at random moments: everything the child had recorded more than
// the flush window (<= 200 ms) before the kill is in the index, and the run
// is killed.
TEST_F(CrashTest, SigkillLosesNothingOlderThanTheFlushWindow) {
  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(50, 600);
  int checked_rounds = 0;
  for (int round = 0; round < 6; ++round) {
    // The first round waits the longest, so at least one round has records
    // older than the window to check.
    const int delay = round == 0 ? 600 : delay_ms(rng);
    SCOPED_TRACE("round " + std::to_string(round) + ", kill after " +
                 std::to_string(delay) + " ms");
    Child c = Spawn("crash_stepper", {"crash.step"}, /*capture_stdout=*/true);
    std::string line;
    ASSERT_TRUE(c.out->WaitFor("test_name ", &line)) << "stepper did not start";
    const std::string test = line.substr(line.rfind(' ') + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    const Clock::time_point kill_time = Clock::now();
    ASSERT_EQ(::kill(c.pid, SIGKILL), 0);
    int status = Wait(c);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << DescribeWait(status);
    c.out->Join();

    long safe = -1;  // reported at least 200 ms before the kill
    long last = -1;
    for (const auto& [t, l] : c.out->Lines()) {
      if (l.rfind("test_name ", 0) == 0) continue;
      long i = std::stol(l);
      last = std::max(last, i);
      if (kill_time - t >= std::chrono::milliseconds(200))
        safe = std::max(safe, i);
    }

    LoadStats stats;
    Status s = w->load(&stats);
    ASSERT_TRUE(s.ok()) << s.ToString();
    json run = Retrieve(w.get(), "crash.step", test);
    ASSERT_TRUE(run.is_object());
    EXPECT_EQ(run["status"], "killed");
    EXPECT_FALSE(run["progress"].contains("end"));
    if (safe >= 0) {
      ++checked_rounds;
      ASSERT_TRUE(run["metrics"].contains("step")) << run.dump();
      const double step = run["metrics"]["step"];
      EXPECT_GE(step, safe) << "lost records older than the flush window";
      // Never more than the child could have dumped before it died.
      EXPECT_LE(step, last + 1);
      EXPECT_EQ(run["metrics_detail"]["step"]["count"], step + 1);
    }
    // A kill mid-write may leave a torn tail; nothing else is acceptable.
    for (const std::string& warning : TakeWarnings()) {
      EXPECT_NE(warning.find("torn tail"), std::string::npos) << warning;
      EXPECT_NE(warning.find(JournalOf("crash.step", test)), std::string::npos)
          << warning;
    }
  }
  EXPECT_GE(checked_rounds, 1) << "no round had records older than the window";
  RecordProperty("rounds_with_window_check", checked_rounds);
}

// 3a. An uncaught exception: the process still dies by SIGABRT, and the run
// is failed with the exception's type and text.
TEST_F(CrashTest, UncaughtExceptionIsRecordedAndStillAborts) {
  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  Child c = Spawn("example_trainer", {"--exp", "crash.throw", "--fail-at", "2",
                                      "--epochs", "5", "--sleep-ms", "0"});
  int status = Wait(c);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT)
      << DescribeWait(status);
  ASSERT_TRUE(w->load().ok());
  json run = OnlyRun(w.get(), "crash.throw");
  ASSERT_TRUE(run.is_object());
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(run["exception"]["exception_type"], "std::runtime_error");
  EXPECT_EQ(run["exception"]["exception_content"], "loss diverged at epoch 2");
  ASSERT_TRUE(run["progress"].contains("end_code"));
  EXPECT_NE(run["progress"]["end_code"], 0);
  EXPECT_FALSE(run["progress"].contains("signal"));
  // The epoch before the failure was kept.
  EXPECT_EQ(run["metrics_detail"]["acc"]["count"], 1);
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
}

// 3b. SIGTERM, SIGINT and SIGHUP: the run is failed with the signal, and the
// process still dies by that very signal.
TEST_F(CrashTest, FatalSignalsAreRecordedAndStillKill) {
  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
    SCOPED_TRACE(strsignal(sig));
    const std::string exp = std::string("crash.sig") + sigabbrev_np(sig);
    Child c = Spawn("example_trainer", {"--exp", exp, "--hang-at", "2",
                                        "--epochs", "5", "--sleep-ms", "0"});
    ASSERT_TRUE(WaitForAccCount(w.get(), exp, 1))
        << "trainer never reached its hang";
    ASSERT_EQ(::kill(c.pid, sig), 0);
    int status = Wait(c);
    ASSERT_TRUE(WIFSIGNALED(status)) << DescribeWait(status);
    EXPECT_EQ(WTERMSIG(status), sig) << DescribeWait(status);
    ASSERT_TRUE(w->load().ok());
    json run = OnlyRun(w.get(), exp);
    ASSERT_TRUE(run.is_object());
    EXPECT_EQ(run["status"], "failed");
    EXPECT_EQ(run["progress"]["signal"], sig);
    EXPECT_EQ(run["progress"]["end_code"], 128 + sig);
    const std::string content = run["exception"].value("exception_content", "");
    EXPECT_NE(content.find(sigabbrev_np(sig)), std::string::npos) << content;
    EXPECT_NE(content.find(strsignal(sig)), std::string::npos) << content;
    EXPECT_EQ(run["metrics_detail"]["acc"]["count"], 1);
  }
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
}

// 4. A journal cut in the middle of its last frame and one with a flipped
// bit in a middle frame: reindex and an incremental load both go on, warn
// with the journal's path and the offset, and keep every other record.
TEST_F(CrashTest, TornAndCorruptJournalsAreReportedAndSkipped) {
  std::string torn_test, flip_test;
  for (const char* exp : {"crash.torn", "crash.flip"}) {
    Child c = Spawn("example_trainer",
                    {"--exp", exp, "--epochs", "3", "--sleep-ms", "0"},
                    /*capture_stdout=*/true);
    int status = Wait(c);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << DescribeWait(status);
    c.out->Join();
    std::string line;
    ASSERT_TRUE(c.out->WaitFor(std::string(exp) + " ", &line));
    (std::string(exp) == "crash.torn" ? torn_test : flip_test) =
        line.substr(line.find(' ') + 1);
  }
  const std::string torn_path = JournalOf("crash.torn", torn_test);
  const std::string flip_path = JournalOf("crash.flip", flip_test);

  // (a) The End record is the last frame of a finished run; cut it in half.
  std::vector<FrameInfo> torn_frames = ListFrames(torn_path);
  ASSERT_GE(torn_frames.size(), 3u);
  const FrameInfo last = torn_frames.back();
  EXPECT_EQ(last.type, fbs::Event::End)
      << "a record was written after the End record";
  ASSERT_EQ(::truncate(torn_path.c_str(),
                       static_cast<off_t>(last.offset + journal::kHeaderSize +
                                          last.length / 2)),
            0);

  // (b) Flip one bit in the payload of the Tags record, a middle frame.
  std::vector<FrameInfo> flip_frames = ListFrames(flip_path);
  auto tags = std::find_if(
      flip_frames.begin(), flip_frames.end(),
      [](const FrameInfo& f) { return f.type == fbs::Event::Tags; });
  ASSERT_NE(tags, flip_frames.end());
  ASSERT_NE(tags, flip_frames.begin());
  ASSERT_NE(tags + 1, flip_frames.end());
  const uint64_t flip_offset = tags->offset;
  {
    std::string data = ReadFile(flip_path);
    data[flip_offset + journal::kHeaderSize + tags->length / 2] ^= 0x10;
    testing::WriteFile(flip_path, data);
  }

  auto check = [&](Watcher* w, const std::vector<std::string>& warnings) {
    std::string all = Join(warnings);
    EXPECT_EQ(warnings.size(), 2u) << all;
    const std::string torn_warning =
        torn_path + ": torn tail at offset " + std::to_string(last.offset);
    const std::string flip_warning = flip_path +
                                     ": checksum mismatch at offset " +
                                     std::to_string(flip_offset);
    EXPECT_NE(all.find(torn_warning), std::string::npos)
        << "want " << torn_warning << " in\n"
        << all;
    EXPECT_NE(all.find(flip_warning), std::string::npos)
        << "want " << flip_warning << " in\n"
        << all;

    json torn = Retrieve(w, "crash.torn", torn_test);
    ASSERT_TRUE(torn.is_object());
    // Without its End the run is one whose process is gone.
    EXPECT_EQ(torn["status"], "killed");
    EXPECT_EQ(torn["params"]["epochs"], 3);
    EXPECT_EQ(torn["metrics_detail"]["acc"]["count"], 3);
    EXPECT_EQ(torn["text"]["summary"], "trained 3 epochs");
    EXPECT_EQ(torn["journal"]["applied_offset"],
              last.offset + journal::kHeaderSize + last.length / 2);

    json flip = Retrieve(w, "crash.flip", flip_test);
    ASSERT_TRUE(flip.is_object());
    EXPECT_EQ(flip["status"], "finished");   // after the bad frame
    EXPECT_EQ(flip["params"]["epochs"], 3);  // before it
    EXPECT_EQ(flip["tags"], json::array());  // the bad frame itself
    EXPECT_EQ(flip["metrics_detail"]["acc"]["count"], 3);    // after it
    EXPECT_EQ(flip["text"]["summary"], "trained 3 epochs");  // after it
    EXPECT_EQ(flip["journal"]["applied_offset"],
              std::filesystem::file_size(flip_path));
  };

  {
    SCOPED_TRACE("reindex");
    auto w = OpenWatcher("reindexed");
    ASSERT_NE(w, nullptr);
    Status s = w->reindex();
    ASSERT_TRUE(s.ok()) << s.ToString();
    check(w.get(), TakeWarnings());
  }
  {
    SCOPED_TRACE("incremental load through the markers");
    ASSERT_TRUE(std::filesystem::exists(MarkerOf("crash.torn", torn_test)));
    ASSERT_TRUE(std::filesystem::exists(MarkerOf("crash.flip", flip_test)));
    auto w = OpenWatcher("incremental");
    ASSERT_NE(w, nullptr);
    Status s = w->load();
    ASSERT_TRUE(s.ok()) << s.ToString();
    check(w.get(), TakeWarnings());
    // Reported once: a second load reads nothing new and warns about nothing.
    ASSERT_TRUE(w->load().ok());
    EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
  }
}

// 5. A full disk (RLIMIT_FSIZE): flush() says which file and why, and every
// record written before the limit stays intact and readable.
TEST_F(CrashTest, FullDiskKeepsEarlierRecordsIntact) {
  constexpr int kLimit = 64 * 1024;
  Child c =
      Spawn("fsize_writer", {std::to_string(kLimit)}, /*capture_stdout=*/true);
  int status = Wait(c);
  c.out->Join();
  std::string start_line, error_line;
  ASSERT_TRUE(c.out->WaitFor("test_name ", &start_line));
  ASSERT_TRUE(c.out->WaitFor("flush_error ", &error_line));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3)
      << DescribeWait(status);
  const std::string test = start_line.substr(start_line.rfind(' ') + 1);
  const std::string path = JournalOf("crash.fsize", test);

  int failed_at = -1, is_io_error = -1;
  ASSERT_EQ(std::sscanf(error_line.c_str(), "flush_error %d %d", &failed_at,
                        &is_io_error),
            2)
      << error_line;
  EXPECT_EQ(is_io_error, 1) << error_line;
  EXPECT_NE(error_line.find(path), std::string::npos) << error_line;
  EXPECT_NE(error_line.find("File too large"), std::string::npos) << error_line;
  ASSERT_GT(failed_at, 10) << "the limit was hit before any record: "
                           << error_line;
  EXPECT_LE(std::filesystem::file_size(path), static_cast<uintmax_t>(kLimit));

  // The journal itself: whole frames only, nothing to report even as final.
  struct Counting : JournalReporter {
    std::vector<std::string> reports;
    void Corruption(const std::string& p, uint64_t offset, uint64_t bytes,
                    const std::string& reason) override {
      reports.push_back(reason + " at " + std::to_string(offset));
    }
  } reporter;
  JournalReadResult result;
  Status s = ReadJournal(
      path, 0, /*tail_is_final=*/true, &reporter,
      [](uint64_t, uint64_t, std::string_view) { return Status::OK(); },
      &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(reporter.reports, std::vector<std::string>());
  EXPECT_EQ(result.end_offset, std::filesystem::file_size(path));

  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), "crash.fsize", test);
  ASSERT_TRUE(run.is_object());
  EXPECT_TRUE(run["status"] == "killed" || run["status"] == "failed")
      << run["status"];
  const std::string pad(400, 'x');
  for (int i = 0; i < failed_at; ++i) {
    const std::string key = "rec_" + std::to_string(i);
    ASSERT_TRUE(run.contains(key)) << key << " was lost";
    EXPECT_EQ(run[key]["i"], i);
    EXPECT_EQ(run[key]["pad"], pad);
  }
  EXPECT_FALSE(run.contains("rec_" + std::to_string(failed_at)))
      << "a failed record was written";
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
}

// 6. The index is derived: rebuilding it from the journals gives the very
// same runs as the incremental loads that followed them live.
TEST_F(CrashTest, ReindexEqualsIncrementalLoads) {
  auto live = OpenWatcher("live");
  ASSERT_NE(live, nullptr);
  std::vector<Child> ended;
  ended.push_back(Spawn("example_trainer",
                        {"--exp", "crash.mixed", "--lr", "0.05", "--epochs",
                         "6", "--sleep-ms", "10", "--note", "good one"}));
  ended.push_back(
      Spawn("example_trainer", {"--exp", "crash.mixed", "--lr", "0.3",
                                "--epochs", "4", "--sleep-ms", "10"}));
  ended.push_back(Spawn("example_trainer", {"--exp", "crash.mixed", "--fail-at",
                                            "3", "--sleep-ms", "10"}));
  Child term = Spawn("example_trainer", {"--exp", "crash.mixed.term",
                                         "--hang-at", "2", "--sleep-ms", "0"});
  Child hang = Spawn("example_trainer", {"--exp", "crash.mixed.kill",
                                         "--hang-at", "3", "--sleep-ms", "0"});
  Child stepper =
      Spawn("crash_stepper", {"crash.mixed.step"}, /*capture_stdout=*/true);

  ASSERT_TRUE(WaitForAccCount(live.get(), "crash.mixed.term", 1));
  ASSERT_TRUE(WaitForAccCount(live.get(), "crash.mixed.kill", 2));
  std::string line;
  ASSERT_TRUE(stepper.out->WaitFor("100", &line));
  ASSERT_TRUE(live->load().ok());
  ::kill(term.pid, SIGTERM);
  ::kill(hang.pid, SIGKILL);
  ::kill(stepper.pid, SIGKILL);
  for (Child* c : {&term, &hang, &stepper}) Wait(*c);
  for (const Child& c : ended) Wait(c);
  ASSERT_TRUE(live->load().ok());
  ASSERT_TRUE(live->load().ok());

  auto rebuilt = OpenWatcher("rebuilt");
  ASSERT_NE(rebuilt, nullptr);
  Status s = rebuilt->reindex();
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto dump = [](Watcher* w) {
    std::vector<std::string> runs;
    Status s = w->query(Query(), &runs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::map<std::string, json> by_name;
    for (const auto& r : runs) {
      json j = json::parse(r);
      by_name[j["exp_name"].get<std::string>() + "/" +
              j["test_name"].get<std::string>()] = j;
    }
    return by_name;
  };
  std::map<std::string, json> incremental = dump(live.get());
  std::map<std::string, json> reindexed = dump(rebuilt.get());
  ASSERT_EQ(incremental.size(), 6u);
  ASSERT_EQ(reindexed.size(), 6u);
  std::multiset<std::string> statuses;
  for (const auto& [name, run] : incremental) {
    SCOPED_TRACE(name);
    statuses.insert(run["status"].get<std::string>());
    ASSERT_EQ(reindexed.count(name), 1u);
    EXPECT_EQ(run.dump(1), reindexed[name].dump(1));
  }
  EXPECT_EQ(statuses,
            (std::multiset<std::string>{"failed", "failed", "finished",
                                        "finished", "killed", "killed"}));
  // Also the secondary index: the same runs per status, in both.
  for (const char* st : {"finished", "failed", "killed"}) {
    Query q;
    q.status = st;
    std::vector<std::string> a, b;
    ASSERT_TRUE(live->query(q, &a).ok());
    ASSERT_TRUE(rebuilt->query(q, &b).ok());
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b) << st;
  }
  for (const std::string& warning : TakeWarnings()) {
    EXPECT_NE(warning.find("torn tail"), std::string::npos) << warning;
  }
}

// 7. A run of another host: only its marker's age tells whether it lives.
TEST_F(CrashTest, HeartbeatDecidesForRunsOfOtherHosts) {
  const std::string exp = "crash.remote";
  const std::string test = "250101.001.a1t";
  const std::string info_dir = RunInfoDir(roots_.info_root, exp, test);
  std::filesystem::create_directories(info_dir);
  std::filesystem::create_directories(ActiveDir(roots_.info_root));

  std::unique_ptr<JournalWriter> journal;
  ASSERT_TRUE(JournalWriter::Open(JournalPath(info_dir), &journal).ok());
  auto append = [&](flatbuffers::FlatBufferBuilder& fbb) {
    std::string frame;
    JournalWriter::EncodeFrame(
        journal->next_seq(),
        std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                         fbb.GetSize()),
        &frame);
    journal->set_next_seq(journal->next_seq() + 1);
    Status s = journal->Append(frame);
    ASSERT_TRUE(s.ok()) << s.ToString();
  };
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  {
    flatbuffers::FlatBufferBuilder fbb;
    auto pinfo = fbs::CreatePinfoDirect(fbb, 4242, "some-other-host", 1.7e9,
                                        "0123-other-boot", "trainer");
    auto start =
        fbs::CreateStartDirect(fbb, exp.c_str(), test.c_str(), 0,
                               info_dir.c_str(), "", "", 0, pinfo, "test");
    fbb.Finish(
        fbs::CreateRunEvent(fbb, now_us, fbs::Event::Start, start.Union()));
    append(fbb);
  }
  const std::string marker = MarkerOf(exp, test);
  testing::WriteFile(marker, info_dir);
  ASSERT_NE(HostName(), "some-other-host");

  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(w->load().ok());
    EXPECT_EQ(Retrieve(w.get(), exp, test)["status"], "running")
        << "load " << i;
  }

  auto set_marker_age = [&](int seconds) {
    struct timespec times[2];
    clock_gettime(CLOCK_REALTIME, &times[0]);
    times[0].tv_sec -= seconds;
    times[1] = times[0];
    ASSERT_EQ(::utimensat(AT_FDCWD, marker.c_str(), times, 0), 0)
        << strerror(errno);
  };
  set_marker_age(600);
  LoadStats stats;
  ASSERT_TRUE(w->load(&stats).ok());
  EXPECT_EQ(stats.runs_killed, 1u);
  EXPECT_EQ(Retrieve(w.get(), exp, test)["status"], "killed");

  // Killed and silent for longer than marker_retire_s: the marker is retired.
  EXPECT_FALSE(std::filesystem::exists(marker));

  // The host's clock or network lagged: the trainer writes again and its
  // heartbeat re-creates the marker, which makes the run running again.
  {
    flatbuffers::FlatBufferBuilder fbb;
    auto metric =
        fbs::CreateMetricDirect(fbb, "acc", fbs::Cmp::Max, 0.5, "", 0.5, 1);
    fbb.Finish(fbs::CreateRunEvent(fbb, now_us + 1000, fbs::Event::Metric,
                                   metric.Union()));
    append(fbb);
  }
  testing::WriteFile(marker, "");
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), exp, test);
  EXPECT_EQ(run["status"], "running");
  EXPECT_EQ(run["metrics"]["acc"], 0.5);
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
}

// 8. A silent run whose process lives is running, however old its
// heartbeat; once the process is gone it is killed.
TEST_F(CrashTest, LiveSilentRunIsNotKilled) {
  auto w = OpenWatcher();
  ASSERT_NE(w, nullptr);
  Child c = Spawn("example_trainer",
                  {"--exp", "crash.alive", "--hang-at", "2", "--sleep-ms", "0"},
                  /*capture_stdout=*/true);
  ASSERT_TRUE(WaitForAccCount(w.get(), "crash.alive", 1));
  json run = OnlyRun(w.get(), "crash.alive");
  const std::string test = run["test_name"];
  // Same host: the pid and its start time decide, not the marker's age.
  const std::string marker = MarkerOf("crash.alive", test);
  struct timespec old[2];
  clock_gettime(CLOCK_REALTIME, &old[0]);
  old[0].tv_sec -= 600;
  old[1] = old[0];
  ASSERT_EQ(::utimensat(AT_FDCWD, marker.c_str(), old, 0), 0)
      << strerror(errno);
  for (int i = 0; i < 4; ++i) {
    LoadStats stats;
    ASSERT_TRUE(w->load(&stats).ok());
    EXPECT_EQ(stats.runs_killed, 0u);
    EXPECT_EQ(Retrieve(w.get(), "crash.alive", test)["status"], "running")
        << "load " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(::kill(c.pid, SIGKILL), 0);
  int status = Wait(c);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << DescribeWait(status);
  LoadStats stats;
  ASSERT_TRUE(w->load(&stats).ok());
  EXPECT_EQ(stats.runs_killed, 1u);
  run = Retrieve(w.get(), "crash.alive", test);
  EXPECT_EQ(run["status"], "killed");
  EXPECT_EQ(run["metrics_detail"]["acc"]["count"], 1);
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
}

}  // namespace
}  // namespace lumodb

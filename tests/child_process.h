// Child processes for the tests that crash, kill and watch real trainers:
// fork + exec with the test's HOME, stdout read line by line with the time
// each line arrived, and waiting that survives signals.
#ifndef LUMODB_TESTS_CHILD_PROCESS_H_
#define LUMODB_TESTS_CHILD_PROCESS_H_

#include <gtest/gtest.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb::testing {

using Clock = std::chrono::steady_clock;

// Lines a child writes to its stdout, each with the time the test read it.
// Read late means stamped late, which only ever makes the SIGKILL check
// more lenient, never stricter.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd), thread_([this] { Loop(); }) {}
  ~LineReader() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  // Waits for EOF (the child and every copy of the pipe's write end gone).
  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::pair<Clock::time_point, std::string>> Lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  // The first line starting with prefix, waiting up to timeout for it.
  bool WaitFor(const std::string& prefix, std::string* line,
               std::chrono::seconds timeout = std::chrono::seconds(60)) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [t, l] : lines_) {
          if (l.rfind(prefix, 0) == 0) {
            *line = l;
            return true;
          }
        }
        if (eof_) return false;
      }
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

 private:
  void Loop() {
    std::string partial;
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      auto now = Clock::now();
      partial.append(buf, static_cast<size_t>(n));
      size_t nl;
      std::lock_guard<std::mutex> lock(mu_);
      while ((nl = partial.find('\n')) != std::string::npos) {
        lines_.emplace_back(now, partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    eof_ = true;
  }

  int fd_;
  mutable std::mutex mu_;
  std::vector<std::pair<Clock::time_point, std::string>> lines_;
  bool eof_ = false;
  std::thread thread_;
};

struct Child {
  pid_t pid = -1;
  std::unique_ptr<LineReader> out;  // set when stdout was captured
};

// fork + exec of path with args, HOME=home, cwd home, stderr
// (and stdout unless captured) appended to stderr_path. The child starts
// with default dispositions for the signals the engine handles, an empty
// signal mask and no core dumps, whatever the test runner left it, and
// without LUMODB_DB and LUMO_EXP_TEST_NAME.
Child SpawnChild(const std::string& path, const std::vector<std::string>& args,
                 const std::string& home, const std::string& stderr_path, bool capture_stdout);

// waitpid that survives EINTR; the raw wait status.
int WaitExit(pid_t pid);
// "exited with 1", "killed by Killed", ...
std::string DescribeWait(int status);
// Polls cond until it holds or a generous safety bound passes. The bound only
// keeps a broken engine from hanging the suite; nothing asserts on timing.
bool Eventually(const std::function<bool()>& cond,
                std::chrono::seconds bound = std::chrono::seconds(60));

// A test whose runs are real child processes: HOME is tmp_/home, so
// lumo's defaults (~/.lumo/experiments, ~/.cache/lumo) put their runs where
// roots_ and OpenWatcher look; their stderr goes to one file, shown when the
// test fails; TearDown kills any child left. Warnings go to CollectWarning.
class ChildrenTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The index tmp_/db_name for roots_.
  std::unique_ptr<Watcher> OpenWatcher(const std::string& db_name = "index");
  // A built program (BinPath) as a child, SpawnChild with HOME and cwd home_.
  Child Spawn(const std::string& program, const std::vector<std::string>& args,
              bool capture_stdout = false);
  int Wait(const Child& child);
  // One run as JSON (null, and a failure, if it is not there).
  nlohmann::json Retrieve(Watcher* w, const std::string& exp, const std::string& test);
  std::string JournalOf(const std::string& exp, const std::string& test) const;
  std::string MarkerOf(const std::string& exp, const std::string& test) const;

  TempDir tmp_;
  std::string home_;
  std::string stderr_path_;
  Roots roots_;
  std::vector<pid_t> live_;
};

}  // namespace lumodb::testing

#endif  // LUMODB_TESTS_CHILD_PROCESS_H_

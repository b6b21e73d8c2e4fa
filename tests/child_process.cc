// Child processes for the tests (see child_process.h).
#include "child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "journal/markers.h"

extern char** environ;

namespace lumodb::testing {

Child SpawnChild(const std::string& path, const std::vector<std::string>& args,
                 const std::string& home, const std::string& stderr_path, bool capture_stdout) {
  Child child;
  std::vector<std::string> arg_strings = {path};
  arg_strings.insert(arg_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = {"HOME=" + home};
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    if (kv.rfind("HOME=", 0) == 0 || kv.rfind("LUMO_EXP_TEST_NAME=", 0) == 0 ||
        kv.rfind("LUMODB_DB=", 0) == 0) {
      continue;
    }
    env_strings.push_back(kv);
  }
  std::vector<char*> argv, envp;
  for (auto& a : arg_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int err_fd = ::open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  EXPECT_GE(err_fd, 0);
  int pipe_fds[2] = {-1, -1};
  if (capture_stdout) {
    EXPECT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  }

  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to execve.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGABRT, SIGXFSZ}) {
      ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (::chdir(home.c_str()) != 0) ::_exit(126);
    ::dup2(capture_stdout ? pipe_fds[1] : err_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  EXPECT_GT(pid, 0) << "fork: " << strerror(errno);
  ::close(err_fd);
  if (capture_stdout) {
    ::close(pipe_fds[1]);
    child.out = std::make_unique<LineReader>(pipe_fds[0]);
  }
  child.pid = pid;
  return child;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

std::string DescribeWait(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + strsignal(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

bool Eventually(const std::function<bool()>& cond, std::chrono::seconds bound) {
  auto deadline = Clock::now() + bound;
  while (!cond()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void ChildrenTest::SetUp() {
  TakeWarnings();
  home_ = tmp_ / "home";
  std::filesystem::create_directories(home_);
  roots_.home = home_ + "/.lumo";
  roots_.info_root = home_ + "/.lumo/experiments";
  roots_.blob_root = home_ + "/.lumo/blob";
  roots_.cache_root = home_ + "/.cache/lumo";
  stderr_path_ = tmp_ / "children.stderr";
}

void ChildrenTest::TearDown() {
  // Never leave a child behind, whatever failed.
  for (pid_t pid : live_) {
    ::kill(pid, SIGKILL);
    WaitExit(pid);
  }
  if (HasFailure()) {
    std::string err = ReadFile(stderr_path_);
    if (!err.empty()) std::fprintf(stderr, "children's stderr:\n%s\n", err.c_str());
  }
}

std::unique_ptr<Watcher> ChildrenTest::OpenWatcher(const std::string& db_name) {
  WatcherOptions options;
  options.writer_wait_ms = 500;  // tests never wait long for another writer
  options.db_path = tmp_ / db_name;
  options.warn = CollectWarning;
  std::unique_ptr<Watcher> w;
  Status s = Watcher::Open(roots_, options, &w);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return w;
}

Child ChildrenTest::Spawn(const std::string& program, const std::vector<std::string>& args,
                          bool capture_stdout) {
  Child child = SpawnChild(BinPath(program), args, home_, stderr_path_, capture_stdout);
  if (child.pid > 0) live_.push_back(child.pid);
  return child;
}

int ChildrenTest::Wait(const Child& child) {
  int status = WaitExit(child.pid);
  live_.erase(std::remove(live_.begin(), live_.end(), child.pid), live_.end());
  return status;
}

nlohmann::json ChildrenTest::Retrieve(Watcher* w, const std::string& exp, const std::string& test) {
  std::string text;
  Status s = w->retrieve(test, exp, &text);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return s.ok() ? nlohmann::json::parse(text) : nlohmann::json();
}

std::string ChildrenTest::JournalOf(const std::string& exp, const std::string& test) const {
  return JournalPath(RunInfoDir(roots_.info_root, exp, test));
}

std::string ChildrenTest::MarkerOf(const std::string& exp, const std::string& test) const {
  return ActiveDir(roots_.info_root) + "/" + MarkerName(exp, test);
}

}  // namespace lumodb::testing

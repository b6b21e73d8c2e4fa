// Tests for engine/src/process_info.cc, against real child processes.
#include "experiment/process_info.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace lumodb {
namespace {

using lumodb::testing::ReadFile;
using lumodb::testing::TempDir;
using lumodb::testing::WriteFile;

// A forked child that sleeps until killed. The destructor kills and reaps
// it, so no test leaves a process behind.
class SleepingChild {
 public:
  SleepingChild() {
    pid_ = fork();
    if (pid_ == 0) {
      for (;;) pause();
    }
  }
  ~SleepingChild() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void Kill() { ASSERT_EQ(kill(pid_, SIGKILL), 0); }
  void Reap() {
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, 0), pid_);
    reaped_ = true;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

char ProcState(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size()
             ? '?'
             : stat[paren + 2];
}

TEST(ProcessInfoTest, CurrentProcess) {
  ProcessInfo me = CurrentProcess();
  EXPECT_EQ(me.pid, getpid());
  EXPECT_EQ(me.host, HostName());
  EXPECT_FALSE(me.host.empty());
  EXPECT_EQ(me.boot_id, BootId());
  EXPECT_EQ(me.boot_id.size(), 36u) << me.boot_id;  // a UUID, no newline
  EXPECT_FALSE(me.pname.empty());
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  EXPECT_GT(me.pstart, now - 3600);  // this test started recently
  EXPECT_LE(me.pstart, now + 1);
}

TEST(ProcessInfoTest, StartTimeOfMissingProcessIsNegative) {
  EXPECT_LT(ProcessStartTime(0), 0);
  EXPECT_LT(ProcessStartTime(-5), 0);
  // pid_max is at most 2^22 on Linux.
  EXPECT_LT(ProcessStartTime(1 << 23), 0);
}

TEST(ProcessInfoTest, LiveChildIsAlive) {
  SleepingChild child;
  ASSERT_GT(child.pid(), 0);
  const double start = ProcessStartTime(child.pid());
  ASSERT_GT(start, 0);
  // A child starts after its parent.
  EXPECT_GE(start + 0.02, ProcessStartTime(getpid()));
  EXPECT_EQ(CheckLocalProcess(HostName(), BootId(), child.pid(), start),
            Liveness::kAlive);
  // No boot id recorded (old lumo runs): still judged by the process table.
  EXPECT_EQ(CheckLocalProcess(HostName(), "", child.pid(), start),
            Liveness::kAlive);
}

TEST(ProcessInfoTest, WrongStartTimeMeansReusedPid) {
  SleepingChild child;
  const double start = ProcessStartTime(child.pid());
  EXPECT_EQ(CheckLocalProcess(HostName(), BootId(), child.pid(), start - 5),
            Liveness::kDead);
  EXPECT_EQ(CheckLocalProcess(HostName(), BootId(), child.pid(), start + 1),
            Liveness::kDead);
  EXPECT_EQ(CheckLocalProcess(HostName(), BootId(), child.pid(), start + 0.3),
            Liveness::kAlive);
}

TEST(ProcessInfoTest, OtherHostIsUnknown) {
  SleepingChild child;
  const double start = ProcessStartTime(child.pid());
  EXPECT_EQ(CheckLocalProcess(HostName() + "-elsewhere", BootId(), child.pid(),
                              start),
            Liveness::kUnknown);
}

TEST(ProcessInfoTest, OtherBootIsDead) {
  SleepingChild child;
  const double start = ProcessStartTime(child.pid());
  EXPECT_EQ(
      CheckLocalProcess(HostName(), "00000000-0000-0000-0000-000000000000",
                        child.pid(), start),
      Liveness::kDead);
}

TEST(ProcessInfoTest, KilledAndReapedIsDead) {
  SleepingChild child;
  const pid_t pid = child.pid();
  const double start = ProcessStartTime(pid);
  child.Kill();
  child.Reap();
  EXPECT_LT(ProcessStartTime(pid), 0);
  EXPECT_EQ(CheckLocalProcess(HostName(), BootId(), pid, start),
            Liveness::kDead);
}

TEST(ProcessInfoTest, ZombieIsDead) {
  SleepingChild child;
  const pid_t pid = child.pid();
  const double start = ProcessStartTime(pid);
  child.Kill();
  // Wait, without reaping, until the kernel has made it a zombie.
  siginfo_t info;
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  ASSERT_EQ(ProcState(pid), 'Z');
  // The zombie still has a /proc entry and its start time.
  EXPECT_NEAR(ProcessStartTime(pid), start, 0.01);
  EXPECT_EQ(CheckLocalProcess(HostName(), BootId(), pid, start),
            Liveness::kDead);
  child.Reap();
}

TEST(ProcessInfoTest, SelfArgvMatchesMain) {
  std::vector<std::string> expected = ::testing::internal::GetArgvs();
  EXPECT_EQ(SelfArgv(), expected);
}

// When SelfArgvKeepsOddArguments starts this binary again, the new process
// only writes its SelfArgv to $LUMODB_ARGV_OUT and exits, before main.
[[maybe_unused]] const bool kArgvDumper = [] {
  const char* out = getenv("LUMODB_ARGV_OUT");
  if (out == nullptr) return false;
  std::string joined;
  for (const std::string& arg : SelfArgv()) joined += arg + '\n';
  WriteFile(out, joined);
  _exit(0);
}();

TEST(ProcessInfoTest, SelfArgvKeepsOddArguments) {
  TempDir tmp;
  const std::string out = tmp / "argv";
  const std::string exe = SelfExe();
  ASSERT_FALSE(exe.empty());
  const std::vector<std::string> args = {"renamed-argv0", "two words", "",
                                         "ünï",           "--lr=0.1",  "a\tb"};
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setenv("LUMODB_ARGV_OUT", out.c_str(), 1);
    std::vector<char*> argv;
    for (const std::string& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::string expected;
  for (const std::string& a : args) expected += a + '\n';
  EXPECT_EQ(ReadFile(out), expected);
}

TEST(ProcessInfoTest, SelfExeAndCurrentDir) {
  const std::string exe = SelfExe();
  EXPECT_EQ(exe.substr(exe.rfind('/') + 1), "lumodb_tests");
  char buf[4096];
  ASSERT_NE(getcwd(buf, sizeof(buf)), nullptr);
  EXPECT_EQ(CurrentDir(), buf);
}

TEST(ProcessInfoTest, GitTopLevelWalksUp) {
  TempDir tmp;
  const std::string repo = tmp / "repo";
  ASSERT_EQ(mkdir(repo.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((repo + "/.git").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((repo + "/a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((repo + "/a/b").c_str(), 0755), 0);
  EXPECT_EQ(GitTopLevel(repo), repo);
  EXPECT_EQ(GitTopLevel(repo + "/a/b"), repo);
  EXPECT_EQ(GitTopLevel(repo + "/a/b/"), repo);
  // A worktree or submodule has a .git file, and is its own top level.
  ASSERT_EQ(mkdir((repo + "/a/sub").c_str(), 0755), 0);
  WriteFile(repo + "/a/sub/.git", "gitdir: ../../.git/modules/sub\n");
  EXPECT_EQ(GitTopLevel(repo + "/a/sub"), repo + "/a/sub");
  EXPECT_EQ(GitTopLevel(""), "");
}

}  // namespace
}  // namespace lumodb

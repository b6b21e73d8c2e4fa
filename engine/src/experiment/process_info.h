// Facts about processes on this machine, read from /proc: who we are, and
// whether a recorded run's process still lives.
#ifndef LUMODB_SRC_PROCESS_INFO_H_
#define LUMODB_SRC_PROCESS_INFO_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lumodb {

// What a run records about its process. host and boot_id go beyond lumo's
// pinfo, so that liveness can be judged across hosts and reboots.
struct ProcessInfo {
  int64_t pid = 0;
  std::string host;
  double pstart = 0;  // seconds since the epoch, as psutil's create_time()
  std::string boot_id;
  std::string pname;  // as psutil's name()
};

ProcessInfo CurrentProcess();

// gethostname(); "" if it fails.
std::string HostName();

// /proc/sys/kernel/random/boot_id without its newline, "" if unreadable.
std::string BootId();

// Start time of pid in seconds since the epoch, computed like psutil: btime
// from /proc/stat + starttime ticks (field 22 of /proc/<pid>/stat) /
// sysconf(_SC_CLK_TCK). Negative if there is no such process.
double ProcessStartTime(int64_t pid);

enum class Liveness { kAlive, kDead, kUnknown };

// Whether the process a run recorded still runs. kUnknown when host is not
// this host (the caller falls back to heartbeat age) or /proc cannot tell.
// On this host: kDead after a reboot (both boot ids known and different),
// when /proc/<pid> is missing, when its start time differs from pstart by
// more than 0.5 s (the pid was reused) or when it is a zombie; else kAlive.
Liveness CheckLocalProcess(const std::string& host, const std::string& boot_id,
                           int64_t pid, double pstart);

// The nearest folder at or above cwd that holds ".git" (a folder, or a file
// in worktrees and submodules); "" if none.
std::string GitTopLevel(const std::string& cwd);

// /proc/self/cmdline split on NUL, exactly as given (empty arguments kept).
std::vector<std::string> SelfArgv();

// readlink /proc/self/exe; "" if it fails.
std::string SelfExe();

// getcwd(); "" if it fails.
std::string CurrentDir();

}  // namespace lumodb

#endif  // LUMODB_SRC_PROCESS_INFO_H_

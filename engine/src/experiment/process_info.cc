// Process facts from /proc (Linux), read the way psutil reads them so that
// values agree with those lumo records.
#include "experiment/process_info.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace lumodb {

namespace {

// Reads a whole file. /proc files report size 0, so read until EOF.
// On failure returns false and leaves errno set.
bool ReadWholeFile(const std::string& path, std::string* out) {
  out->clear();
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return false;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      errno = err;
      return false;
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

// The fields of /proc/<pid>/stat that follow "(comm)". comm may itself hold
// spaces and ')', so the split starts after the last ')'.
struct ProcStat {
  std::string comm;
  char state = '?';
  unsigned long long starttime = 0;  // clock ticks since boot
};

// Returns false (errno set) if the file cannot be read, or with errno = EINVAL
// if it cannot be parsed.
bool ReadProcStat(int64_t pid, ProcStat* st) {
  std::string text;
  if (!ReadWholeFile("/proc/" + std::to_string(pid) + "/stat", &text)) {
    return false;
  }
  size_t open_paren = text.find('(');
  size_t close_paren = text.rfind(')');
  if (open_paren == std::string::npos || close_paren == std::string::npos ||
      close_paren < open_paren) {
    errno = EINVAL;
    return false;
  }
  st->comm = text.substr(open_paren + 1, close_paren - open_paren - 1);
  // Tokens after ')': [0] is field 3 (state), [19] is field 22 (starttime).
  std::vector<std::string> fields;
  size_t i = close_paren + 1;
  while (i < text.size() && fields.size() < 20) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n') ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j + 1;
  }
  if (fields.size() < 20 || fields[0].size() != 1) {
    errno = EINVAL;
    return false;
  }
  st->state = fields[0][0];
  char* end = nullptr;
  st->starttime = std::strtoull(fields[19].c_str(), &end, 10);
  if (end == fields[19].c_str() || *end != '\0') {
    errno = EINVAL;
    return false;
  }
  return true;
}

// The "btime" line of /proc/stat: boot time in seconds since the epoch.
bool ReadBootTime(double* btime) {
  std::string text;
  if (!ReadWholeFile("/proc/stat", &text)) return false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    if (text.compare(pos, 6, "btime ") == 0) {
      *btime = std::strtod(text.c_str() + pos + 6, nullptr);
      return true;
    }
    pos = eol + 1;
  }
  return false;
}

double StartTimeFromStat(const ProcStat& st) {
  double btime = 0;
  if (!ReadBootTime(&btime)) return -1;
  long ticks = sysconf(_SC_CLK_TCK);
  if (ticks <= 0) ticks = 100;
  return btime + static_cast<double>(st.starttime) / static_cast<double>(ticks);
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

ProcessInfo CurrentProcess() {
  ProcessInfo info;
  info.pid = static_cast<int64_t>(getpid());
  info.host = HostName();
  info.boot_id = BootId();
  ProcStat st;
  if (ReadProcStat(info.pid, &st)) {
    info.pstart = StartTimeFromStat(st);
    info.pname = st.comm;
    // The kernel cuts comm to 15 bytes; psutil then takes the basename of
    // argv[0] when it extends comm, and so do we.
    if (info.pname.size() >= 15) {
      std::vector<std::string> argv = SelfArgv();
      if (!argv.empty()) {
        std::string exe = Basename(argv[0]);
        if (exe.compare(0, info.pname.size(), info.pname) == 0) {
          info.pname = exe;
        }
      }
    }
  }
  return info;
}

std::string HostName() {
  char buf[HOST_NAME_MAX + 1] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

std::string BootId() {
  std::string text;
  if (!ReadWholeFile("/proc/sys/kernel/random/boot_id", &text)) return "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

double ProcessStartTime(int64_t pid) {
  if (pid <= 0) return -1;
  ProcStat st;
  if (!ReadProcStat(pid, &st)) return -1;
  return StartTimeFromStat(st);
}

Liveness CheckLocalProcess(const std::string& host, const std::string& boot_id,
                           int64_t pid, double pstart) {
  if (host != HostName()) return Liveness::kUnknown;
  // An unreadable boot_id on either side says nothing about a reboot.
  const std::string current_boot = BootId();
  if (!boot_id.empty() && !current_boot.empty() && boot_id != current_boot) {
    return Liveness::kDead;
  }
  if (pid <= 0) return Liveness::kDead;
  ProcStat st;
  if (!ReadProcStat(pid, &st)) {
    // ENOENT/ESRCH: no such process. Anything else (a /proc mounted with
    // hidepid, a parse failure) means /proc cannot tell.
    return (errno == ENOENT || errno == ESRCH) ? Liveness::kDead
                                               : Liveness::kUnknown;
  }
  // A zombie has exited; only its exit status waits for its parent.
  if (st.state == 'Z' || st.state == 'X' || st.state == 'x') {
    return Liveness::kDead;
  }
  const double start = StartTimeFromStat(st);
  if (start < 0) return Liveness::kUnknown;
  // pids are reused: a different start time means a different process.
  if (std::fabs(start - pstart) > 0.5) return Liveness::kDead;
  return Liveness::kAlive;
}

std::string GitTopLevel(const std::string& cwd) {
  if (cwd.empty()) return "";
  std::string dir = cwd;
  if (dir[0] != '/') {
    std::string here = CurrentDir();
    if (here.empty()) return "";
    dir = here + "/" + dir;
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (;;) {
    struct stat sb;
    std::string probe = (dir == "/" ? "" : dir) + "/.git";
    if (stat(probe.c_str(), &sb) == 0) return dir;
    if (dir == "/") return "";
    size_t slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
}

std::vector<std::string> SelfArgv() {
  std::vector<std::string> argv;
  std::string text;
  if (!ReadWholeFile("/proc/self/cmdline", &text)) return argv;
  // Each argument ends with a NUL; a missing final NUL (a process that
  // rewrote its argv) still ends the last argument.
  size_t start = 0;
  while (start < text.size()) {
    size_t nul = text.find('\0', start);
    if (nul == std::string::npos) nul = text.size();
    argv.push_back(text.substr(start, nul - start));
    start = nul + 1;
  }
  return argv;
}

std::string SelfExe() {
  std::vector<char> buf(256);
  for (;;) {
    ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size());
    if (n < 0) return "";
    if (static_cast<size_t>(n) < buf.size()) {
      return std::string(buf.data(), static_cast<size_t>(n));
    }
    buf.resize(buf.size() * 2);
  }
}

std::string CurrentDir() {
  std::vector<char> buf(256);
  for (;;) {
    if (getcwd(buf.data(), buf.size()) != nullptr) return buf.data();
    if (errno != ERANGE) return "";
    buf.resize(buf.size() * 2);
  }
}

}  // namespace lumodb

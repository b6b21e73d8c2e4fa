// Runs the lumo-db binary as a child process, as a user's shell would.
#include "cli_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace lumodb::bench {

// Runs `lumo-db args...` with stdout on a pipe drained into *out; returns
// the exit code, or -1 if it could not run.
int RunCli(const std::vector<std::string>& args, std::string* out, struct rusage* usage) {
  return RunCliBinary(std::string(LUMODB_BIN_DIR) + "/lumo-db", args, out, usage);
}

int RunCliBinary(const std::string& bin, const std::vector<std::string>& args, std::string* out,
                 struct rusage* usage) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  struct rusage ignored;
  while (::wait4(pid, &status, 0, usage != nullptr ? usage : &ignored) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace lumodb::bench

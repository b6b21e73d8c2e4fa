// cli_loop: runs one command again and again for a while, as a user's
// script that keeps asking lumo-db while others write the index, and
// reports every run of it on stdout, one line each:
//
//   ok <lines of output>
//   fail <exit status, or 128 + signal> <first line of stderr>
//
//   cli_loop SECONDS PROGRAM [ARG...]
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: cli_loop SECONDS PROGRAM [ARG...]\n");
    return 2;
  }
  const double seconds = std::atof(argv[1]);
  const auto end = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  std::vector<char*> args(argv + 2, argv + argc);
  args.push_back(nullptr);
  const std::string err_path = "cli_loop." + std::to_string(::getpid()) + ".err";
  while (std::chrono::steady_clock::now() < end) {
    int out[2];
    if (::pipe(out) != 0) return 1;
    pid_t pid = ::fork();
    if (pid == 0) {
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out[1], 1);
      if (err >= 0) ::dup2(err, 2);
      ::close(out[0]);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    const std::string text = ReadAll(out[0]);
    ::close(out[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code == 0) {
      size_t lines = 0;
      for (char c : text) lines += c == '\n';
      std::printf("ok %zu\n", lines);
    } else {
      int fd = ::open(err_path.c_str(), O_RDONLY);
      std::string err = fd >= 0 ? ReadAll(fd) : "";
      if (fd >= 0) ::close(fd);
      std::string first = err.substr(0, err.find('\n'));
      std::printf("fail %d %s\n", code, first.c_str());
    }
    std::fflush(stdout);
  }
  ::unlink(err_path.c_str());
  return 0;
}

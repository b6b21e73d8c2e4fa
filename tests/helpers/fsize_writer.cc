// fsize_writer: a trainer on a full disk. Limits its file size with
// RLIMIT_FSIZE (argv[1] bytes, default 64 KiB) and ignores SIGXFSZ, so
// writes past the limit fail with EFBIG. Records rec_0, rec_1, ... with
// dump_info and flush() after each, until flush() fails; then exits with 3.
//
// stdout: "test_name <exp_name> <test_name>", then on failure
// "flush_error <i> <code> <message>" where i is the record whose flush failed
// (rec_0 .. rec_<i-1> were written) and code is 1 for an IOError, else 0.
#include <lumodb/lumodb.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  const rlim_t limit =
      argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 64 * 1024;
  struct rlimit rl;
  rl.rlim_cur = limit;
  rl.rlim_max = limit;
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
    std::perror("fsize_writer: setrlimit");
    return 1;
  }
  signal(SIGXFSZ, SIG_IGN);

  lumodb::Experiment exp("crash.fsize");
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    std::fprintf(stderr, "fsize_writer: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("test_name %s %s\n", exp.exp_name().c_str(),
              exp.test_name().c_str());
  std::fflush(stdout);
  const std::string pad(400, 'x');
  for (int i = 0; i < 1000000; ++i) {
    s = exp.dump_info(
        "rec_" + std::to_string(i),
        "{\"i\": " + std::to_string(i) + ", \"pad\": \"" + pad + "\"}");
    if (!s.ok()) {
      std::fprintf(stderr, "fsize_writer: dump_info: %s\n",
                   s.ToString().c_str());
      return 1;
    }
    s = exp.flush();
    if (!s.ok()) {
      std::printf("flush_error %d %d %s\n", i, s.IsIOError() ? 1 : 0,
                  s.message().c_str());
      std::fflush(stdout);
      std::exit(3);
    }
  }
  std::printf("no_error\n");
  return 1;
}

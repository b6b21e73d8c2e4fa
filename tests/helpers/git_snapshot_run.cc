// Starts one run with only the GitCommit hook in the current directory and
// prints the run's properties (JSON) on stdout: the child the GitCommit
// tests start, several at once.
//
//   git_snapshot_run HOME_FOR_ROOTS [--wait-for FILE] [--write FILE TEXT]
//                    [--branch NAME] [--max-bytes N]
//
// --wait-for waits (up to 20 s) until FILE exists, so that children started
// one by one snapshot at the same moment; --write then writes TEXT to FILE
// in the current directory before the run starts.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <lumodb/lumodb.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: git_snapshot_run HOME [--wait-for FILE] "
                         "[--write FILE TEXT] [--branch NAME] [--max-bytes N]\n");
    return 2;
  }
  std::string wait_for, write_file, write_text;
  lumodb::GitCommit::Options git;
  for (int i = 2; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--wait-for" && i + 1 < argc) {
      wait_for = argv[++i];
    } else if (flag == "--write" && i + 2 < argc) {
      write_file = argv[++i];
      write_text = argv[++i];
    } else if (flag == "--branch" && i + 1 < argc) {
      git.branch = argv[++i];
    } else if (flag == "--max-bytes" && i + 1 < argc) {
      git.max_file_bytes = std::atoll(argv[++i]);
    } else {
      std::fprintf(stderr, "git_snapshot_run: bad argument %s\n", flag.c_str());
      return 2;
    }
  }
  if (!wait_for.empty()) {
    struct stat sb;
    for (int i = 0; i < 20000 && ::stat(wait_for.c_str(), &sb) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (!write_file.empty()) std::ofstream(write_file) << write_text;

  lumodb::Roots roots;
  roots.FillDefaults(argv[1]);
  lumodb::ExperimentOptions options;
  options.default_hooks = false;
  lumodb::Experiment exp("git.snapshot", roots, options);
  exp.add_hook(std::make_shared<lumodb::GitCommit>(git));
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    std::fprintf(stderr, "git_snapshot_run: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("%s\n", exp.properties().c_str());
  s = exp.end(0);
  return s.ok() ? 0 : 1;
}

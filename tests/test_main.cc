// main() of the test binary: every test runs with a fresh temporary folder
// as its working directory (removed at exit), so no trainer or hook that a
// test forgets to point elsewhere (LastCmd writes run_<program>.sh into the
// working directory) writes into the source or build tree.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "test_util.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  lumodb::testing::TempDir cwd;
  if (::chdir(cwd.path().c_str()) != 0) {
    std::perror(("chdir " + cwd.path()).c_str());
    return 1;
  }
  const int result = RUN_ALL_TESTS();
  if (::chdir("/") != 0) std::perror("chdir /");
  return result;
}

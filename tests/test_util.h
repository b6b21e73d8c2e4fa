// Helpers shared by the tests: temporary folders and paths of built programs.
#ifndef LUMODB_TESTS_TEST_UTIL_H_
#define LUMODB_TESTS_TEST_UTIL_H_

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lumodb/options.h"

namespace lumodb::testing {

// A fresh empty folder under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

// Path of a program built next to the tests (lumo-db, example_trainer, ...).
std::string BinPath(const std::string& name);
// ../shared/fixtures of the source tree.
std::string FixturesDir();
std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& data);

// What a child program did: exit code (or 128 + signal), stdout, stderr.
struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs program (a path) with args in cwd, with HOME=home and extra env on
// top of this process's environment (less LUMODB_DB, LUMO_EXP_TEST_NAME,
// LUMO_RERUN_FROM and LUMO_RERUN_REPEAT; env wins over a variable of the
// same name). The test binary sets LUMODB_GIT_SNAPSHOT=0 for itself and its
// children, so no run snapshots lumo-db's own repository. stdout and stderr go through files named
// <capture_prefix>.out / .err. No core dumps.
Result RunProgram(const std::string& program, const std::vector<std::string>& args,
                  const std::string& home, const std::string& cwd,
                  const std::string& capture_prefix,
                  const std::map<std::string, std::string>& env = {});

// RunProgram, with the program's stderr on a pseudo-terminal (isatty is
// true there): Result::err is what it wrote to the terminal, control
// characters and all.
Result RunProgramOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const std::string& home, const std::string& cwd,
                            const std::string& capture_prefix,
                            const std::map<std::string, std::string>& env = {});

// The lines of text, without their newlines.
std::vector<std::string> Lines(const std::string& text);

// Watcher warnings of this process, for WatcherOptions::warn (a plain
// function pointer): CollectWarning adds one, TakeWarnings empties the list.
void CollectWarning(const std::string& message);
std::vector<std::string> TakeWarnings();

// A test that records runs in this process: a fresh folder dir_ is the
// working directory (LastCmd writes run_<program>.sh there) and holds the
// roots_ (home, info, blob, cache); LUMO_EXP_TEST_NAME and LUMODB_DB are
// unset.
class InProcessTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  TempDir dir_;
  Roots roots_;

 private:
  std::string old_cwd_;
};

// A test that runs programs: a fresh folder dir_ holding home/ (their
// HOME) and work/ (their working folder), both made by SetUp.
class ProgramTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // RunProgram with HOME=home_, in cwd (default work_), output captured
  // under dir_ with a fresh prefix; fails the test if it could not start.
  Result Run(const std::string& program, const std::vector<std::string>& args,
             const std::string& cwd = "", const std::map<std::string, std::string>& env = {});
  // Run in work_, with stderr on a pseudo-terminal (RunProgramOnTerminal).
  Result RunOnTerminal(const std::string& program, const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {});
  // git in cwd with a fixed identity and no system config (env on top).
  Result Git(const std::string& cwd, const std::vector<std::string>& args,
             std::map<std::string, std::string> env = {});

  TempDir dir_;
  std::string home_, work_;

 private:
  int calls_ = 0;
};

}  // namespace lumodb::testing

#endif  // LUMODB_TESTS_TEST_UTIL_H_

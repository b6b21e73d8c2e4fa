// Helpers shared by the tests: temporary folders and paths of built programs.
#ifndef LUMODB_TESTS_TEST_UTIL_H_
#define LUMODB_TESTS_TEST_UTIL_H_

#include <string>

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

}  // namespace lumodb::testing

#endif  // LUMODB_TESTS_TEST_UTIL_H_

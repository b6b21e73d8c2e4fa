// Active-run marker names and run paths.
#include "journal/markers.h"

#include "lumodb/names.h"

namespace lumodb {

std::string ActiveDir(const std::string& info_root) {
  return info_root + "/.lumodb/active";
}

std::string MarkerName(const std::string& exp_name,
                       const std::string& test_name) {
  // test_name never holds '@', so the first '@' splits the two.
  return test_name + "@" + exp_name;
}

bool ParseMarkerName(const std::string& name, std::string* exp_name,
                     std::string* test_name) {
  size_t at = name.find('@');
  if (at == std::string::npos) return false;
  *test_name = name.substr(0, at);
  *exp_name = name.substr(at + 1);
  return IsValidTestName(*test_name) && ValidateExpName(*exp_name).ok();
}

std::string RunInfoDir(const std::string& info_root, const std::string& exp_name,
                       const std::string& test_name) {
  return info_root + "/" + exp_name + "/" + test_name;
}

std::string JournalPath(const std::string& info_dir) {
  return info_dir + "/journal";
}

}  // namespace lumodb

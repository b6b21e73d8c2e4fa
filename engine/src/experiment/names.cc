// lumo's name rules: which test_names and exp_names lumo-db accepts.
#include "lumodb/names.h"

#include <cstddef>

namespace lumodb {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLowerAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z'); }

// exp_names end up as folder names on every filesystem lumo writes to; 200
// bytes leaves room under the usual 255-byte NAME_MAX for suffixes.
constexpr size_t kMaxExpNameBytes = 200;

}  // namespace

// Checks ^\d{6}\.\d{3,}\.[a-z0-9]{2}t$ by hand: no regex engine, no locale.
bool IsValidTestName(const std::string& name) {
  const size_t n = name.size();
  size_t i = 0;
  for (; i < 6; ++i) {
    if (i >= n || !IsDigit(name[i])) return false;
  }
  if (i >= n || name[i] != '.') return false;
  ++i;
  const size_t counter_start = i;
  while (i < n && IsDigit(name[i])) ++i;
  if (i - counter_start < 3) return false;
  if (i >= n || name[i] != '.') return false;
  ++i;
  // What is left must be exactly "XXt".
  if (n - i != 3) return false;
  return IsLowerAlnum(name[i]) && IsLowerAlnum(name[i + 1]) &&
         name[i + 2] == 't';
}

Status ValidateExpName(const std::string& name) {
  const std::string quoted = "exp_name '" + name + "'";
  if (name.empty()) {
    return Status::InvalidArgument("exp_name '' is empty");
  }
  if (name.find('\0') != std::string::npos) {
    // Quote without the NUL so the message stays printable.
    std::string shown;
    for (char c : name)
      shown += (c == '\0') ? std::string("\\0") : std::string(1, c);
    return Status::InvalidArgument("exp_name '" + shown +
                                   "' contains a NUL byte");
  }
  if (name.find('/') != std::string::npos) {
    return Status::InvalidArgument(quoted +
                                   " contains '/'; it must be one folder name");
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument(quoted + " is not a usable folder name");
  }
  if (name[0] == '.') {
    return Status::InvalidArgument(
        quoted + " starts with '.', which would hide its folder");
  }
  if (name.size() > kMaxExpNameBytes) {
    return Status::InvalidArgument("exp_name '" + name.substr(0, 40) +
                                   "...' is " + std::to_string(name.size()) +
                                   " bytes long, longer than " +
                                   std::to_string(kMaxExpNameBytes));
  }
  return Status::OK();
}

}  // namespace lumodb

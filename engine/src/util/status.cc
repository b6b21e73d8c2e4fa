// Status: text forms of the error codes.
#include "lumodb/status.h"

#include <cstring>

namespace lumodb {

Status Status::FromErrno(const std::string& what, const std::string& path,
                         int err) {
  return IOError(what + " " + path + ": " + std::strerror(err));
}

std::string Status::ToString() const {
  const char* prefix = "OK";
  switch (code_) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      prefix = "Invalid argument: ";
      break;
    case Code::kNotFound:
      prefix = "Not found: ";
      break;
    case Code::kAmbiguous:
      prefix = "Ambiguous: ";
      break;
    case Code::kIllegalState:
      prefix = "Illegal state: ";
      break;
    case Code::kCorruption:
      prefix = "Corruption: ";
      break;
    case Code::kIOError:
      prefix = "IO error: ";
      break;
    case Code::kBusy:
      prefix = "Busy: ";
      break;
  }
  return prefix + message_;
}

}  // namespace lumodb

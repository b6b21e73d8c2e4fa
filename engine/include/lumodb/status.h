// Status: how every lumo-db call reports success or failure.
//
// Errors travel as values, never as exceptions across the public API.
//
//   Status
//    ├─ kOk
//    ├─ kInvalidArgument   a bad name, bad JSON, bad option value
//    ├─ kNotFound          no such run, file or key
//    ├─ kAmbiguous         a test_name that names runs of several exp_names
//    ├─ kIllegalState      a call out of order (end() before start())
//    ├─ kCorruption        bad bytes in a journal or index value
//    ├─ kIOError           the filesystem said no (full disk, permissions)
//    └─ kBusy              the index is held by another writer
//
// A Status carries a message that names the path, key or value at fault.
#ifndef LUMODB_STATUS_H_
#define LUMODB_STATUS_H_

#include <string>
#include <utility>

namespace lumodb {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,
    kNotFound,
    kAmbiguous,
    kIllegalState,
    kCorruption,
    kIOError,
    kBusy,
  };

  Status() = default;

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status NotFound(std::string msg) {
    return Status(Code::kNotFound, std::move(msg));
  }
  static Status Ambiguous(std::string msg) {
    return Status(Code::kAmbiguous, std::move(msg));
  }
  static Status IllegalState(std::string msg) {
    return Status(Code::kIllegalState, std::move(msg));
  }
  static Status Corruption(std::string msg) {
    return Status(Code::kCorruption, std::move(msg));
  }
  static Status IOError(std::string msg) {
    return Status(Code::kIOError, std::move(msg));
  }
  // An IOError built from errno: "<what> <path>: <strerror(err)>".
  static Status FromErrno(const std::string& what, const std::string& path,
                          int err);
  static Status Busy(std::string msg) {
    return Status(Code::kBusy, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsIOError() const { return code_ == Code::kIOError; }

  // "Invalid argument: exp_name '' is empty", or "OK".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace lumodb

#endif  // LUMODB_STATUS_H_

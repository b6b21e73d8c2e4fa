// Rows kept aside for a sorted read (see spill.h).
#include "index/spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace lumodb {

namespace {

constexpr size_t kBufferLimit = size_t{1} << 20;

Status WriteAll(int fd, const std::string& bytes, const std::string& dir) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno("write the rows of a sorted read under", dir, errno);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

Spill::~Spill() {
  if (fd_ >= 0) ::close(fd_);
}

Status Spill::MoveToFile() {
  const char* tmp = std::getenv("TMPDIR");
  dir_ = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  fd_ = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    // No O_TMPFILE on this filesystem: a named file, unlinked at once.
    std::string path = dir_ + "/lumodb-sort-XXXXXX";
    fd_ = ::mkostemp(path.data(), O_CLOEXEC);
    if (fd_ < 0) return Status::FromErrno("create a file for a sorted read under", dir_, errno);
    ::unlink(path.c_str());
  }
  Status s = WriteAll(fd_, memory_, dir_);
  std::string().swap(memory_);
  return s;
}

Status Spill::FlushBuffer() {
  if (buffer_.empty()) return Status::OK();
  Status s = WriteAll(fd_, buffer_, dir_);
  buffer_.clear();
  return s;
}

Status Spill::Append(std::string_view bytes, uint64_t* offset) {
  *offset = size_;
  size_ += bytes.size();
  if (fd_ < 0) {
    memory_.append(bytes);
    return memory_.size() > memory_limit_ ? MoveToFile() : Status::OK();
  }
  buffer_.append(bytes);
  return buffer_.size() > kBufferLimit ? FlushBuffer() : Status::OK();
}

Status Spill::Read(uint64_t offset, size_t size, std::string* out) {
  if (fd_ < 0) {
    out->assign(memory_, offset, size);
    return Status::OK();
  }
  Status s = FlushBuffer();
  if (!s.ok()) return s;
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd_, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::FromErrno("read back the rows of a sorted read under", dir_, errno);
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace lumodb

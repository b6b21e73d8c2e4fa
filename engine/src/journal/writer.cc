// JournalWriter: frame encoding, appends that never leave a partial frame,
// and recovery of an existing journal's tail on open.
#include "journal/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cassert>

#include "journal/crc32c.h"
#include "journal/format.h"
#include "journal/reader.h"

namespace lumodb {
namespace {

// Makes a new file's directory entry durable, so a Sync() after the first
// append cannot leave a journal whose name is lost in a crash.
Status SyncParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open directory", dir, errno);
  Status s;
  if (fsync(fd) != 0) s = Status::FromErrno("sync directory", dir, errno);
  close(fd);
  return s;
}

}  // namespace

JournalWriter::JournalWriter(std::string path, int fd, uint64_t size,
                             uint64_t next_seq)
    : path_(std::move(path)), fd_(fd), size_(size), next_seq_(next_seq) {}

JournalWriter::~JournalWriter() { close(fd_); }

Status JournalWriter::Open(const std::string& path,
                           std::unique_ptr<JournalWriter>* out) {
  out->reset();
  // The writer is the only one, so whatever tail a scan finds is final.
  JournalReadResult scan;
  Status s = ReadJournal(
      path, 0, /*tail_is_final=*/true, /*reporter=*/nullptr,
      [](uint64_t, uint64_t, std::string_view) { return Status::OK(); }, &scan);
  if (!s.ok() && !s.IsNotFound()) return s;

  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open journal", path, errno);
  std::unique_ptr<JournalWriter> writer(new JournalWriter(
      path, fd, scan.end_offset,
      scan.last_seq == 0 ? journal::kFirstSeq : scan.last_seq + 1));

  // Only one process writes a journal, so the file is as the scan saw it.
  if (scan.file_size > scan.end_offset) {
    s = writer->TruncateToSize();
    if (!s.ok()) return s;
  }
  if (writer->size_ == 0) {  // new, empty, or only part of the magic
    s = writer->Append(std::string_view(journal::kMagic, journal::kMagicSize));
    if (s.ok()) s = writer->Sync();
    if (s.ok()) s = SyncParentDir(path);
    if (!s.ok()) return s;
  }
  *out = std::move(writer);
  return Status::OK();
}

void JournalWriter::EncodeFrame(uint64_t seq, std::string_view payload,
                                std::string* buf) {
  assert(payload.size() <= journal::kMaxPayload);
  char header[journal::kHeaderSize];
  journal::EncodeFixed32(header + journal::kLengthOffset,
                         static_cast<uint32_t>(payload.size()));
  journal::EncodeFixed64(header + journal::kSeqOffset, seq);
  uint32_t crc = crc32c::Value(header + journal::kLengthOffset,
                               journal::kHeaderSize - journal::kLengthOffset);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  journal::EncodeFixed32(header + journal::kCrcOffset, crc32c::Mask(crc));
  buf->append(header, sizeof(header));
  buf->append(payload.data(), payload.size());
}

Status JournalWriter::TruncateToSize() {
  while (ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    if (errno == EINTR) continue;
    tail_dirty_ = true;
    return Status::FromErrno("truncate journal", path_, errno);
  }
  tail_dirty_ = false;
  return Status::OK();
}

Status JournalWriter::Append(std::string_view frames) {
  if (tail_dirty_) {
    Status s = TruncateToSize();
    if (!s.ok()) return s;
  }
  size_t done = 0;
  while (done < frames.size()) {
    ssize_t r = write(fd_, frames.data() + done, frames.size() - done);
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    const int err = r < 0 ? errno : EIO;  // 0 bytes written: no progress
    Status s = Status::FromErrno("append to journal", path_, err);
    // A partial frame must not stay for readers to see. Truncate even when
    // this call wrote nothing: a failed write may still have left bytes.
    Status t = TruncateToSize();
    if (!t.ok()) s = Status::IOError(s.message() + "; then " + t.message());
    return s;
  }
  size_ += frames.size();
  return Status::OK();
}

Status JournalWriter::Sync() {
  while (fdatasync(fd_) != 0) {
    if (errno == EINTR) continue;
    return Status::FromErrno("sync journal", path_, errno);
  }
  return Status::OK();
}

}  // namespace lumodb

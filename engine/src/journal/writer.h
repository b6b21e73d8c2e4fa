// JournalWriter: the one process that appends frames to a run journal.
// Appends are all-or-nothing on disk, so readers only ever see whole frames
// or an in-progress tail.
#ifndef LUMODB_ENGINE_JOURNAL_WRITER_H_
#define LUMODB_ENGINE_JOURNAL_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lumodb/status.h"

namespace lumodb {

class JournalWriter {
 public:
  // Opens path for appending. A missing file is created with the magic
  // header. An existing journal is scanned: its last good frame gives the
  // next seq, and a torn or corrupt tail after it is truncated away.
  // A file with a wrong magic is Corruption and is left untouched.
  static Status Open(const std::string& path,
                     std::unique_ptr<JournalWriter>* out);

  ~JournalWriter();  // closes the fd
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  // Appends one encoded frame to *buf (no I/O). payload.size() must be at
  // most journal::kMaxPayload: a longer frame reads back as corrupt.
  static void EncodeFrame(uint64_t seq, std::string_view payload,
                          std::string* buf);

  // Writes bytes (whole frames) at the end of the file, looping on short
  // writes and EINTR. On failure (ENOSPC, EFBIG, EIO...) it truncates the
  // file back to its size before the call so a journal never keeps a partial
  // frame, and returns an IOError that names the path and the errno text.
  // The caller keeps the bytes and may retry later.
  Status Append(std::string_view frames);
  Status Sync();  // fdatasync

  uint64_t size() const { return size_; }          // bytes in the file
  uint64_t next_seq() const { return next_seq_; }  // 1 for a new journal
  // The caller bumps it as it encodes frames.
  void set_next_seq(uint64_t s) { next_seq_ = s; }
  const std::string& path() const { return path_; }

 private:
  JournalWriter(std::string path, int fd, uint64_t size, uint64_t next_seq);

  // Cuts the file back to size_ after a failed append.
  Status TruncateToSize();

  const std::string path_;
  const int fd_;
  uint64_t size_;
  uint64_t next_seq_;
  // A failed append whose truncation failed too leaves bytes past size_;
  // they must go before anything else is appended.
  bool tail_dirty_ = false;
};

}  // namespace lumodb

#endif  // LUMODB_ENGINE_JOURNAL_WRITER_H_

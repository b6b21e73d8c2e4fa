// A writer of POSIX tar archives (ustar, IEEE Std 1003.1-2001), the format
// `tar -tf` and `tar -xf` read everywhere. A path that fits ustar's name
// (100 bytes) or prefix/name split (155 + 100) goes in the ustar header; a
// longer path, a symlink target over 100 bytes or a size of 8 GiB or more
// gets a pax extended header ('x') before the entry, as POSIX specifies.
//
// Entries are written in the order added; Finish() writes the two zero
// blocks that end the archive and pads it to a whole 10240-byte record.
#ifndef LUMODB_TAR_WRITER_H_
#define LUMODB_TAR_WRITER_H_

#include <cstdint>
#include <string>

#include "lumodb/status.h"

namespace lumodb {

class TarWriter {
 public:
  // Writes to fd (not owned, not closed); path names fd in errors.
  TarWriter(int fd, std::string path);

  // path is relative, '/'-separated, without a trailing '/'. mode holds the
  // permission bits only (0755, 0644); mtime is in seconds since the epoch.
  Status AddDirectory(const std::string& path, uint32_t mode, int64_t mtime);
  Status AddFile(const std::string& path, uint32_t mode, int64_t mtime, const void* data,
                 uint64_t size);
  Status AddSymlink(const std::string& path, const std::string& target, int64_t mtime);
  // Ends the archive and writes out what is buffered. Nothing may be added
  // after it.
  Status Finish();

  // Bytes handed to the file so far (after Finish: the archive's size).
  uint64_t bytes_written() const { return written_; }

 private:
  Status AddEntry(const std::string& path, char type, uint32_t mode, int64_t mtime,
                  const std::string& link, const void* data, uint64_t size);
  Status AddPaxHeader(const std::string& records);
  void AppendHeader(const std::string& name, const std::string& prefix, char type, uint32_t mode,
                    uint64_t size, int64_t mtime, const std::string& link);
  void AppendPadding(uint64_t size);
  Status Append(const void* data, size_t size);
  Status Flush();

  int fd_;
  std::string path_;
  std::string buffer_;
  uint64_t written_ = 0;  // bytes flushed plus bytes buffered
  bool finished_ = false;
};

}  // namespace lumodb

#endif  // LUMODB_TAR_WRITER_H_

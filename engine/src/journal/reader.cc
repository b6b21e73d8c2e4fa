// ReadJournal: one pread of the unread range, then a walk over its frames
// that resynchronises past bad bytes (docs/format.md, "Reading").
#include "journal/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "journal/crc32c.h"
#include "journal/format.h"

namespace lumodb {
namespace {

using journal::kHeaderSize;

enum class FrameCheck { kGood, kIncomplete, kBadLength, kBadChecksum };

// Checks the frame that would start at p, with n bytes left in the buffer.
FrameCheck CheckFrame(const char* p, size_t n, uint32_t* length) {
  if (n < kHeaderSize) return FrameCheck::kIncomplete;
  const uint32_t len = journal::DecodeFixed32(p + journal::kLengthOffset);
  if (len > journal::kMaxPayload) return FrameCheck::kBadLength;
  if (n - kHeaderSize < len) return FrameCheck::kIncomplete;
  const uint32_t stored = crc32c::Unmask(journal::DecodeFixed32(p));
  const uint32_t actual = crc32c::Value(
      p + journal::kLengthOffset, kHeaderSize - journal::kLengthOffset + len);
  if (stored != actual) return FrameCheck::kBadChecksum;
  *length = len;
  return FrameCheck::kGood;
}

const char* Reason(FrameCheck check) {
  switch (check) {
    case FrameCheck::kBadChecksum:
      return "checksum mismatch";
    case FrameCheck::kBadLength:
    case FrameCheck::kIncomplete:  // its length runs over the next good frame
      return "bad length";
    case FrameCheck::kGood:
      break;
  }
  return "good frame";
}

// The first position in [from, n) where a whole frame verifies, or n.
// A random 4-byte length rarely fits in what is left, so most positions are
// rejected without computing a CRC.
size_t FindNextFrame(const char* data, size_t from, size_t n) {
  uint32_t length;
  for (size_t q = from; q + kHeaderSize <= n; ++q) {
    if (CheckFrame(data + q, n - q, &length) == FrameCheck::kGood) return q;
  }
  return n;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// Reads [offset, offset + buf->size()) and shrinks *buf if the file ends
// sooner.
Status ReadRange(int fd, const std::string& path, uint64_t offset,
                 std::string* buf) {
  size_t done = 0;
  while (done < buf->size()) {
    ssize_t r = pread(fd, buf->data() + done, buf->size() - done,
                      static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("read journal", path, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  buf->resize(done);
  return Status::OK();
}

}  // namespace

Status ReadJournal(const std::string& path, uint64_t from_offset,
                   bool tail_is_final, JournalReporter* reporter,
                   const std::function<Status(uint64_t seq, uint64_t offset,
                                              std::string_view payload)>& visit,
                   JournalReadResult* result) {
  *result = JournalReadResult();
  result->end_offset = from_offset;
  auto report = [&](uint64_t offset, uint64_t bytes, const char* reason) {
    ++result->corrupt;
    if (reporter != nullptr) reporter->Corruption(path, offset, bytes, reason);
  };

  if (from_offset != 0 && from_offset < journal::kMagicSize) {
    return Status::InvalidArgument(
        "read offset " + std::to_string(from_offset) + " of journal " + path +
        " is inside its magic");
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return Status::NotFound("journal " + path + ": no such file");
    return Status::FromErrno("open journal", path, errno);
  }
  FdCloser closer(fd);
  struct stat st;
  if (fstat(fd, &st) != 0)
    return Status::FromErrno("stat journal", path, errno);
  result->file_size = static_cast<uint64_t>(st.st_size);
  if (from_offset > result->file_size) {
    // A live writer cuts a failed append back off, frames a reader may have
    // seen included, and rewrites the same bytes when it retries.
    if (!tail_is_final) return Status::OK();
    return Status::InvalidArgument(
        "read offset " + std::to_string(from_offset) +
        " is past the end of journal " + path + " (" +
        std::to_string(result->file_size) + " bytes)");
  }

  // Only the unread range: an incremental read costs what was appended.
  std::string buf(result->file_size - from_offset, '\0');
  Status s = ReadRange(fd, path, from_offset, &buf);
  if (!s.ok()) return s;
  const char* data = buf.data();
  const size_t n = buf.size();
  size_t pos = 0;

  // Before the first frame seq 0 is "previous", so seq 1 is expected; when
  // starting mid-file the previous seq is unknown and nothing is expected.
  bool have_prev = false;
  uint64_t prev_seq = 0;
  if (from_offset == 0) {
    const size_t have = n < journal::kMagicSize ? n : journal::kMagicSize;
    if (std::memcmp(data, journal::kMagic, have) != 0) {
      return Status::Corruption("journal " + path + " does not start with " +
                                journal::kMagic);
    }
    if (n < journal::kMagicSize) {  // the writer has not finished the magic
      result->torn_bytes = n;
      if (tail_is_final && n > 0) report(0, n, "torn tail");
      return Status::OK();
    }
    pos = journal::kMagicSize;
    result->end_offset = pos;
    have_prev = true;
  }

  bool after_skip = false;
  while (pos < n) {
    uint32_t length = 0;
    const FrameCheck check = CheckFrame(data + pos, n - pos, &length);
    if (check != FrameCheck::kGood) {
      const size_t next = FindNextFrame(data, pos + 1, n);
      if (next == n) {
        // Nothing good follows: a write in progress, or a crash mid-write.
        result->torn_bytes = n - pos;
        if (tail_is_final) report(from_offset + pos, n - pos, "torn tail");
        break;
      }
      report(from_offset + pos, next - pos, Reason(check));
      pos = next;
      after_skip = true;
      continue;
    }
    const uint64_t seq =
        journal::DecodeFixed64(data + pos + journal::kSeqOffset);
    // Skipped bytes explain a jump forward; they were reported already.
    const bool explained = after_skip && seq > prev_seq;
    if (have_prev && seq != prev_seq + 1 && !explained) {
      report(from_offset + pos, 0, "sequence gap");
    }
    s = visit(seq, from_offset + pos,
              std::string_view(data + pos + kHeaderSize, length));
    if (!s.ok()) return s;
    pos += kHeaderSize + length;
    have_prev = true;
    prev_seq = seq;
    after_skip = false;
    ++result->records;
    result->last_seq = seq;
    result->end_offset = from_offset + pos;
  }
  return Status::OK();
}

}  // namespace lumodb

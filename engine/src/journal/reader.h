// ReadJournal: visits the good frames of a run journal, reporting and
// skipping bad bytes, while its one writer may still be appending.
#ifndef LUMODB_ENGINE_JOURNAL_READER_H_
#define LUMODB_ENGINE_JOURNAL_READER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lumodb/status.h"

namespace lumodb {

// Told about every stretch of bad bytes a read skips. Readers never die on
// bad bytes.
class JournalReporter {
 public:
  virtual ~JournalReporter() = default;
  // path and byte offset of the bad stretch, its length, and why: "checksum
  // mismatch", "bad length", "torn tail", "sequence gap" (bytes is 0: the
  // frame is still delivered).
  virtual void Corruption(const std::string& path, uint64_t offset,
                          uint64_t bytes, const std::string& reason) = 0;
};

struct JournalReadResult {
  uint64_t end_offset = 0;  // offset just after the last good frame read:
                            // where the next read starts
  uint64_t last_seq = 0;    // seq of the last good frame (0 if none)
  uint64_t file_size = 0;
  size_t records = 0;       // good frames visited
  size_t corrupt = 0;       // reports made (bad stretches and sequence gaps)
  uint64_t torn_bytes = 0;  // bytes after end_offset that are not (yet) a
                            // whole good frame
};

// Reads frames from from_offset (0 = beginning: the magic is checked, first
// frame at 8) to EOF, calling visit(seq, offset, payload) for each good frame
// in order. A non-OK status from visit stops the read and is returned;
// end_offset then stays before that frame.
//
// tail_is_final: the writer is known to be gone. When false, an incomplete
// frame at the end, or a bad frame with no good frame after it, is taken for
// a write still in progress: silently not read (torn_bytes set, end_offset
// stays before it), so a later read picks it up. When true, such a tail is
// reported once as "torn tail" and skipped.
//
// A bad frame followed by good frames is corruption: it is reported and the
// read resynchronises at the next offset where a whole frame verifies.
//
// A missing file is NotFound naming the path. At from_offset 0, a file
// shorter than the magic that is a prefix of it is an empty journal (a torn
// tail if tail_is_final); a wrong magic is Corruption naming the path.
// reporter may be null. A from_offset past the end of the file reads
// nothing while the writer may be alive (it truncates a failed append, which
// a reader may have seen, and retries it), and is InvalidArgument once
// tail_is_final.
Status ReadJournal(const std::string& path, uint64_t from_offset,
                   bool tail_is_final, JournalReporter* reporter,
                   const std::function<Status(uint64_t seq, uint64_t offset,
                                              std::string_view payload)>& visit,
                   JournalReadResult* result);

}  // namespace lumodb

#endif  // LUMODB_ENGINE_JOURNAL_READER_H_

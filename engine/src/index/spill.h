// Spill: the rows of a sorted read, kept aside while the sort keys are
// sorted: in memory up to kMemoryLimit bytes, then in an unlinked temporary
// file under $TMPDIR, so a read's memory stays bounded however many runs it
// returns (the file lives in the page cache, not the process).
#ifndef LUMODB_INDEX_SPILL_H_
#define LUMODB_INDEX_SPILL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lumodb/status.h"

namespace lumodb {

class Spill {
 public:
  static constexpr size_t kMemoryLimit = size_t{32} << 20;

  explicit Spill(size_t memory_limit = kMemoryLimit) : memory_limit_(memory_limit) {}
  ~Spill();
  Spill(const Spill&) = delete;
  Spill& operator=(const Spill&) = delete;

  // Keeps bytes; *offset is where they start. IOError naming the folder
  // when the temporary file cannot be made or written (a full disk).
  Status Append(std::string_view bytes, uint64_t* offset);
  // The size bytes at offset, into *out.
  Status Read(uint64_t offset, size_t size, std::string* out);
  bool in_file() const { return fd_ >= 0; }

 private:
  Status MoveToFile();
  Status FlushBuffer();

  size_t memory_limit_;
  std::string memory_;  // everything, until it passes memory_limit_
  int fd_ = -1;
  std::string dir_;
  std::string buffer_;  // appends not yet written to the file
  uint64_t size_ = 0;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_SPILL_H_

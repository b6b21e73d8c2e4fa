// The run journal's on-disk layout, shared by JournalWriter and ReadJournal.
// docs/format.md ("Run journal") is the description; this file follows it.
#ifndef LUMODB_ENGINE_JOURNAL_FORMAT_H_
#define LUMODB_ENGINE_JOURNAL_FORMAT_H_

#include <cstddef>
#include <cstdint>

namespace lumodb::journal {

// A journal starts with these 8 ASCII bytes, no NUL.
inline constexpr char kMagic[] = "LUMOJNL1";
inline constexpr size_t kMagicSize = 8;
static_assert(sizeof(kMagic) == kMagicSize + 1, "magic is 8 bytes");

// Frame header, little-endian: u32 masked_crc | u32 length | u64 seq.
// masked_crc = crc32c::Mask(CRC-32C of bytes [4, 16 + length) of the frame).
inline constexpr size_t kCrcOffset = 0;
inline constexpr size_t kLengthOffset = 4;
inline constexpr size_t kSeqOffset = 8;
inline constexpr size_t kHeaderSize = 16;

// A payload longer than this is corrupt, so a flipped bit in a length field
// cannot make a reader swallow the rest of the file as one frame.
inline constexpr uint32_t kMaxPayload = 16u << 20;

// The first frame of a journal has seq 1; each next frame has seq + 1.
inline constexpr uint64_t kFirstSeq = 1;

inline void EncodeFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t DecodeFixed32(const char* src) {
  const auto* p = reinterpret_cast<const unsigned char*>(src);
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
         (uint32_t{p[3]} << 24);
}
inline uint64_t DecodeFixed64(const char* src) {
  return uint64_t{DecodeFixed32(src)} |
         (uint64_t{DecodeFixed32(src + 4)} << 32);
}

}  // namespace lumodb::journal

#endif  // LUMODB_ENGINE_JOURNAL_FORMAT_H_

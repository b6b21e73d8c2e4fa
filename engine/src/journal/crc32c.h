// CRC-32C (Castagnoli), the checksum of journal frames.
// Debian's abseil ships none, so lumo-db carries its own.
#ifndef LUMODB_ENGINE_CRC32C_H_
#define LUMODB_ENGINE_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace lumodb::crc32c {

// The CRC-32C of data[0,n) appended to a stream whose CRC so far is
// init_crc: Extend(Value(a), b) == Value(a + b).
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);

inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }

// LevelDB-style masking so a CRC stored inside CRC'd data stays strong:
// the CRC of a string that embeds its own CRC is a poor check.
inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8ul;
}
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8ul;
  return ((rot >> 17) | (rot << 15));
}

// Exposed for tests, which check that both paths agree.
namespace internal {
// The table-driven path, used when the CPU has no CRC32 instruction.
uint32_t ExtendPortable(uint32_t init_crc, const char* data, size_t n);
// True when ExtendHardware may be called (x86 with SSE4.2).
bool HardwareAvailable();
// The SSE4.2 path; only call it when HardwareAvailable().
uint32_t ExtendHardware(uint32_t init_crc, const char* data, size_t n);
}  // namespace internal

}  // namespace lumodb::crc32c

#endif  // LUMODB_ENGINE_CRC32C_H_

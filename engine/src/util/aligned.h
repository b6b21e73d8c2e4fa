// Aligned: FlatBuffers must be read from 8-byte aligned memory, but journal
// payloads and RocksDB values sit at any offset. This hands out the bytes
// as they are when aligned, or an aligned copy.
#ifndef LUMODB_ALIGNED_H_
#define LUMODB_ALIGNED_H_

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace lumodb {

class Aligned {
 public:
  const uint8_t* Get(std::string_view bytes) {
    if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 == 0) {
      return reinterpret_cast<const uint8_t*>(bytes.data());
    }
    copy_.resize(bytes.size() / 8 + 1);
    std::memcpy(copy_.data(), bytes.data(), bytes.size());
    return reinterpret_cast<const uint8_t*>(copy_.data());
  }

 private:
  std::vector<uint64_t> copy_;
};

}  // namespace lumodb

#endif  // LUMODB_ALIGNED_H_

// Tests for engine/src/crc32c.cc: known vectors and agreement of both paths.
#include "journal/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>

namespace lumodb::crc32c {
namespace {

// The known answers from RFC 3720 section B.4 (also LevelDB's crc32c_test).
void ExpectStandardVectors(uint32_t (*extend)(uint32_t, const char*, size_t)) {
  char buf[32];

  EXPECT_EQ(0xE3069283u, extend(0, "123456789", 9));

  std::memset(buf, 0, sizeof(buf));
  EXPECT_EQ(0x8A9136AAu, extend(0, buf, sizeof(buf)));

  std::memset(buf, 0xff, sizeof(buf));
  EXPECT_EQ(0x62A8AB43u, extend(0, buf, sizeof(buf)));

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(i);
  EXPECT_EQ(0x46DD794Eu, extend(0, buf, sizeof(buf)));

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<char>(31 - i);
  EXPECT_EQ(0x113FDB5Cu, extend(0, buf, sizeof(buf)));
}

TEST(Crc32cTest, StandardVectors) { ExpectStandardVectors(Extend); }

TEST(Crc32cTest, StandardVectorsPortable) {
  ExpectStandardVectors(internal::ExtendPortable);
}

TEST(Crc32cTest, StandardVectorsHardware) {
  if (!internal::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  ExpectStandardVectors(internal::ExtendHardware);
}

TEST(Crc32cTest, EmptyInput) {
  EXPECT_EQ(0u, Value("", 0));
  EXPECT_EQ(0x12345678u, Extend(0x12345678u, "", 0));
}

TEST(Crc32cTest, Values) { EXPECT_NE(Value("a", 1), Value("foo", 3)); }

TEST(Crc32cTest, ExtendInPiecesEqualsWhole) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  const uint32_t whole = Value(data.data(), data.size());
  // Every split point, so the pieces start at every alignment and both the
  // 8-byte loop and the byte tail run on each side.
  for (size_t cut = 0; cut <= 40; ++cut) {
    uint32_t crc = Value(data.data(), cut);
    crc = Extend(crc, data.data() + cut, data.size() - cut);
    EXPECT_EQ(whole, crc) << "cut at " << cut;
  }
  EXPECT_EQ(Value("hello world", 11), Extend(Value("hello ", 6), "world", 5));
}

TEST(Crc32cTest, PortableAndHardwareAgree) {
  if (!internal::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937 rng(42);
  std::string data(4096 + 16, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t n : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096}) {
      uint32_t init = static_cast<uint32_t>(rng());
      EXPECT_EQ(internal::ExtendPortable(init, data.data() + offset, n),
                internal::ExtendHardware(init, data.data() + offset, n))
          << "offset " << offset << " n " << n;
    }
  }
}

TEST(Crc32cTest, Mask) {
  const uint32_t crc = Value("foo", 3);
  EXPECT_NE(crc, Mask(crc));
  EXPECT_NE(crc, Mask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Mask(crc)));
  EXPECT_EQ(crc, Unmask(Unmask(Mask(Mask(crc)))));
  for (uint32_t x : {0u, 1u, 0xffffffffu, 0xa282ead8u, 0xE3069283u}) {
    EXPECT_NE(x, Mask(x));
    EXPECT_EQ(x, Unmask(Mask(x)));
  }
}

}  // namespace
}  // namespace lumodb::crc32c

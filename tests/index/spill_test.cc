// Tests for engine/src/index/spill.cc: the rows of a sorted read, kept in
// memory, then in an unlinked temporary file, read back exactly.
#include "index/spill.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

namespace lumodb {
namespace {

std::string Row(size_t i) {
  std::string row = "row " + std::to_string(i) + ":";
  row.append(i % 97, static_cast<char>('a' + i % 26));
  return row;
}

TEST(SpillTest, RowsComeBackExactlyFromMemoryAndFromTheFile) {
  for (size_t limit : {size_t{1} << 30, size_t{4096}}) {
    Spill spill(limit);
    std::vector<std::pair<uint64_t, size_t>> where;
    for (size_t i = 0; i < 5000; ++i) {
      uint64_t offset = 0;
      const std::string row = Row(i);
      ASSERT_TRUE(spill.Append(row, &offset).ok());
      where.emplace_back(offset, row.size());
    }
    EXPECT_EQ(spill.in_file(), limit < (size_t{1} << 30));
    // Read back in another order, as a sort hands them out.
    std::mt19937 rng(3);
    std::vector<size_t> order(where.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::string out;
    for (size_t i : order) {
      ASSERT_TRUE(spill.Read(where[i].first, where[i].second, &out).ok());
      ASSERT_EQ(out, Row(i)) << i;
    }
  }
}

TEST(SpillTest, AFolderThatCannotHoldTheFileIsNamed) {
  testing::TempDir dir;
  const std::string missing = dir / "no-such-folder";
  const char* old = std::getenv("TMPDIR");
  std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", missing.c_str(), 1);
  Spill spill(16);
  uint64_t offset = 0;
  Status s = spill.Append(std::string(100, 'x'), &offset);
  if (old != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.message();
}

}  // namespace
}  // namespace lumodb

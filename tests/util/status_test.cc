// Tests for engine/src/status.cc.
#include "lumodb/status.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace lumodb {
namespace {

TEST(StatusTest, OkIsOk) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
}

TEST(StatusTest, ErrnoNamesThePath) {
  Status s = Status::FromErrno("open", "/no/such/file", ENOENT);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.ToString(), "IO error: open /no/such/file: No such file or directory");
}

}  // namespace
}  // namespace lumodb

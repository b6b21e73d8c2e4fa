// Tests for engine/src/tar_writer.cc: archives written by TarWriter are read
// back by the real GNU tar (`tar -tvf`, `tar -xf`), long names included.
#include "code/tar_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace lumodb {
namespace {

using ::testing::HasSubstr;
using testing::Lines;
using testing::Result;

class GitRetrieveTarWriterTest : public testing::ProgramTest {
 protected:
  // Writes an archive with fill(), returns its path.
  template <typename Fill>
  std::string Write(const std::string& name, Fill fill) {
    const std::string path = dir_ / name;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    EXPECT_GE(fd, 0);
    TarWriter tar(fd, path);
    fill(&tar);
    Status s = tar.Finish();
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(::close(fd), 0);
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(static_cast<uint64_t>(st.st_size), tar.bytes_written());
    EXPECT_EQ(st.st_size % 10240, 0) << "not a whole number of 10240-byte records";
    return path;
  }

  Result Tar(const std::vector<std::string>& args) { return Run("/usr/bin/tar", args); }
};

TEST_F(GitRetrieveTarWriterTest, TarListsAndExtractsEveryKindOfEntry) {
  const std::string name99 = std::string(99, 'a');
  const std::string name100 = std::string(100, 'b');
  // 140 bytes: only fits through ustar's prefix field.
  const std::string split = std::string(60, 'd') + "/" + std::string(79, 'e');
  // 303 bytes with no usable split (the name part alone is over 100): needs
  // a pax header.
  const std::string long_dir = "p/" + std::string(150, 'q');
  const std::string very_long = long_dir + "/" + std::string(150, 'r');
  const std::string long_target = std::string(150, 't');
  const std::string block(512, 'x');
  const std::string body = "print('hi')\n";
  std::string path = Write("a.tar", [&](TarWriter* tar) {
    ASSERT_TRUE(tar->AddDirectory("dir", 0755, 1700000000).ok());
    ASSERT_TRUE(tar->AddFile("dir/run.sh", 0755, 1700000000, "#!/bin/sh\n", 10).ok());
    ASSERT_TRUE(tar->AddFile("empty", 0644, 1700000000, "", 0).ok());
    ASSERT_TRUE(tar->AddFile("block", 0644, 1700000000, block.data(), block.size()).ok());
    ASSERT_TRUE(tar->AddFile(name99, 0644, 1700000000, body.data(), body.size()).ok());
    ASSERT_TRUE(tar->AddFile(name100, 0644, 1700000000, body.data(), body.size()).ok());
    ASSERT_TRUE(tar->AddDirectory(std::string(60, 'd'), 0755, 1700000000).ok());
    ASSERT_TRUE(tar->AddFile(split, 0644, 1700000000, body.data(), body.size()).ok());
    ASSERT_TRUE(tar->AddDirectory("p", 0755, 1700000000).ok());
    ASSERT_TRUE(tar->AddDirectory(long_dir, 0755, 1700000000).ok());
    ASSERT_TRUE(tar->AddFile(very_long, 0644, 1700000000, body.data(), body.size()).ok());
    ASSERT_TRUE(tar->AddSymlink("link", "dir/run.sh", 1700000000).ok());
    ASSERT_TRUE(tar->AddSymlink("far", long_target, 1700000000).ok());
  });

  Result list = Tar({"-tf", path});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(list.err, "") << "tar warned";
  EXPECT_THAT(Lines(list.out),
              ::testing::ElementsAre("dir/", "dir/run.sh", "empty", "block", name99, name100,
                                     std::string(60, 'd') + "/", split, "p/", long_dir + "/",
                                     very_long, "link", "far"));

  ASSERT_EQ(::mkdir((dir_ / "x").c_str(), 0755), 0);
  Result extract = Tar({"-xf", path, "-C", dir_ / "x"});
  ASSERT_EQ(extract.code, 0) << extract.err;
  EXPECT_EQ(testing::ReadFile(dir_ / "x/dir/run.sh"), "#!/bin/sh\n");
  EXPECT_EQ(testing::ReadFile(dir_ / "x/empty"), "");
  EXPECT_EQ(testing::ReadFile(dir_ / "x/block"), block);
  EXPECT_EQ(testing::ReadFile(dir_ / ("x/" + name100)), body);
  EXPECT_EQ(testing::ReadFile(dir_ / ("x/" + split)), body);
  EXPECT_EQ(testing::ReadFile(dir_ / ("x/" + very_long)), body);
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "x/dir/run.sh").c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0100, 0u) << "executable bit lost";
  ASSERT_EQ(::stat((dir_ / "x/empty").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0111, 0u);
  EXPECT_EQ(st.st_mtime, 1700000000);
  char target[512];
  ssize_t n = ::readlink((dir_ / "x/link").c_str(), target, sizeof(target));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(target, static_cast<size_t>(n)), "dir/run.sh");
  n = ::readlink((dir_ / "x/far").c_str(), target, sizeof(target));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(target, static_cast<size_t>(n)), long_target);
}

TEST_F(GitRetrieveTarWriterTest, EmptyArchiveIsValidAndNothingMayFollowTheEnd) {
  std::string path = Write("empty.tar", [](TarWriter*) {});
  Result list = Tar({"-tf", path});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(list.out, "");

  int fd = ::open((dir_ / "b.tar").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  TarWriter tar(fd, dir_ / "b.tar");
  ASSERT_TRUE(tar.Finish().ok());
  Status s = tar.AddFile("late", 0644, 0, "x", 1);
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  EXPECT_THAT(s.message(), HasSubstr("b.tar"));
  ::close(fd);
}

TEST_F(GitRetrieveTarWriterTest, WriteErrorNamesTheArchive) {
  int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_SKIP() << "no /dev/full";
  TarWriter tar(fd, "/dev/full");
  Status s = tar.AddFile("f", 0644, 0, "x", 1);
  if (s.ok()) s = tar.Finish();
  ::close(fd);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.ToString(), HasSubstr("/dev/full"));
}

}  // namespace
}  // namespace lumodb

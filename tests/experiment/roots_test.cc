// Tests for engine/src/roots.cc, with real config files in a fake home and a
// fake git work tree made by each test.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "lumodb/options.h"
#include "test_util.h"

namespace lumodb {
namespace {

using lumodb::testing::TempDir;
using lumodb::testing::WriteFile;

class RootsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(home_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir(repo_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((repo_ + "/.git").c_str(), 0755), 0);
    ASSERT_EQ(mkdir((repo_ + "/src").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(cwd_.c_str(), 0755), 0);
  }

  TempDir tmp_;
  const std::string home_ = tmp_ / "home";
  const std::string repo_ = tmp_ / "repo";
  const std::string cwd_ = repo_ + "/src/deep";
};

TEST_F(RootsTest, DefaultsWithoutConfig) {
  Roots roots;
  ASSERT_TRUE(Roots::FromLumoConfig(home_, cwd_, &roots).ok());
  EXPECT_EQ(roots.home, home_ + "/.lumo");
  EXPECT_EQ(roots.info_root, home_ + "/.lumo/experiments");
  EXPECT_EQ(roots.blob_root, home_ + "/.lumo/blob");
  EXPECT_EQ(roots.cache_root, home_ + "/.cache/lumo");
  EXPECT_EQ(roots.timezone, "Asia/Shanghai");
  EXPECT_EQ(roots.dev_branch, "lumo_experiments");
}

TEST_F(RootsTest, FillDefaultsKeepsWhatIsSet) {
  Roots roots;
  roots.home = "/h";
  roots.blob_root = "/b";
  roots.timezone = "";
  roots.FillDefaults("/users/me");
  EXPECT_EQ(roots.home, "/h");
  EXPECT_EQ(roots.info_root, "/h/experiments");
  EXPECT_EQ(roots.blob_root, "/b");
  EXPECT_EQ(roots.cache_root, "/users/me/.cache/lumo");
  EXPECT_EQ(roots.timezone, "Asia/Shanghai");
}

TEST_F(RootsTest, LaterFilesWin) {
  WriteFile(home_ + "/.lumorc.json",
            R"({"exp_root": "/u/exp", "blob_root": "/u/blob",
                "cache_dir": "/u/cache", "timezone": "UTC",
                "dev_branch": "user_branch"})");
  WriteFile(repo_ + "/.lumorc.json",
            R"({"blob_root": "/r/blob", "cache_dir": "/r/cache"})");
  WriteFile(repo_ + "/.lumorc.public.json",
            R"({"cache_dir": "/p/cache", "unknown": [1, 2], "db_root": 3})");
  Roots roots;
  Status s = Roots::FromLumoConfig(home_, cwd_, &roots);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(roots.info_root, "/u/exp");
  EXPECT_EQ(roots.blob_root, "/r/blob");
  EXPECT_EQ(roots.cache_root, "/p/cache");
  EXPECT_EQ(roots.timezone, "UTC");
  EXPECT_EQ(roots.dev_branch, "user_branch");
  EXPECT_EQ(roots.home, home_ + "/.lumo");
}

TEST_F(RootsTest, RepoConfigIgnoredOutsideTheRepo) {
  WriteFile(repo_ + "/.lumorc.json", R"({"exp_root": "/r/exp"})");
  Roots roots;
  ASSERT_TRUE(Roots::FromLumoConfig(home_, home_, &roots).ok());
  EXPECT_EQ(roots.info_root, home_ + "/.lumo/experiments");
  // A .git file (worktrees, submodules) marks a top level too.
  WriteFile(home_ + "/.git", "gitdir: /elsewhere\n");
  WriteFile(home_ + "/.lumorc.public.json", R"({"exp_root": "/h/exp"})");
  ASSERT_TRUE(Roots::FromLumoConfig(home_, home_, &roots).ok());
  EXPECT_EQ(roots.info_root, "/h/exp");
}

TEST_F(RootsTest, HomeMovesDerivedRoots) {
  WriteFile(home_ + "/.lumorc.json", R"({"home": "/data/lumo"})");
  WriteFile(repo_ + "/.lumorc.json", R"({"blob_root": "/fast/blob"})");
  Roots roots;
  ASSERT_TRUE(Roots::FromLumoConfig(home_, cwd_, &roots).ok());
  EXPECT_EQ(roots.home, "/data/lumo");
  EXPECT_EQ(roots.info_root, "/data/lumo/experiments");
  EXPECT_EQ(roots.blob_root, "/fast/blob");
  // cache_dir does not live under home in lumo.
  EXPECT_EQ(roots.cache_root, home_ + "/.cache/lumo");
}

TEST_F(RootsTest, TildeExpandsToUserHome) {
  WriteFile(repo_ + "/.lumorc.json",
            R"({"home": "~/lumo-home", "cache_dir": "~", "exp_root": "a~b"})");
  Roots roots;
  ASSERT_TRUE(Roots::FromLumoConfig(home_, cwd_, &roots).ok());
  EXPECT_EQ(roots.home, home_ + "/lumo-home");
  EXPECT_EQ(roots.blob_root, home_ + "/lumo-home/blob");
  EXPECT_EQ(roots.cache_root, home_);
  EXPECT_EQ(roots.info_root, "a~b");
}

TEST_F(RootsTest, BadJsonNamesTheFile) {
  WriteFile(home_ + "/.lumorc.json", R"({"home": "/ok"})");
  const std::string bad = repo_ + "/.lumorc.public.json";
  WriteFile(bad, R"({"home": "/x",)");
  Roots roots;
  roots.home = "untouched";
  Status s = Roots::FromLumoConfig(home_, cwd_, &roots);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find(bad), std::string::npos) << s.ToString();
  EXPECT_EQ(roots.home, "untouched");
}

TEST_F(RootsTest, NonObjectJsonNamesTheFile) {
  const std::string bad = home_ + "/.lumorc.json";
  WriteFile(bad, R"(["home", "/x"])");
  Roots roots;
  Status s = Roots::FromLumoConfig(home_, cwd_, &roots);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find(bad), std::string::npos) << s.ToString();
}

TEST_F(RootsTest, NonStringValueNamesFileAndKey) {
  const std::string bad = repo_ + "/.lumorc.json";
  WriteFile(bad, R"({"timezone": 8})");
  Roots roots;
  Status s = Roots::FromLumoConfig(home_, cwd_, &roots);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find(bad), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("timezone"), std::string::npos) << s.ToString();
}

TEST_F(RootsTest, NoArgOverloadUsesHomeEnv) {
  // Only checks that $HOME is honoured; cwd is the test's own.
  const char* old = getenv("HOME");
  std::string saved = old ? old : "";
  setenv("HOME", home_.c_str(), 1);
  Roots roots;
  Status s = Roots::FromLumoConfig(&roots);
  if (old)
    setenv("HOME", saved.c_str(), 1);
  else
    unsetenv("HOME");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(roots.cache_root, home_ + "/.cache/lumo");
}

}  // namespace
}  // namespace lumodb

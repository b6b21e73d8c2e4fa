// Tests for engine/src/test_name.cc, with real folders and real processes.
#include "experiment/test_name.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lumodb/names.h"
#include "test_util.h"
#include "util/time_util.h"

namespace lumodb {
namespace {

using lumodb::testing::ReadFile;
using lumodb::testing::TempDir;
using lumodb::testing::WriteFile;

// 2026-11-28 21:20:38 in Shanghai.
constexpr int64_t kNow = 1795872038LL * 1000000;
const char kTz[] = "Asia/Shanghai";

bool IsDir(const std::string& path) {
  struct stat sb;
  return stat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

// The NNN of a test_name, as written.
std::string CounterText(const std::string& test_name) {
  return test_name.substr(7, test_name.rfind('.') - 7);
}

TEST(TestNameTest, DateIsInTheZone) {
  EXPECT_EQ(TestNameDate(kNow, kTz), "261128");
  // 2026-11-28 17:00 UTC is already the 29th in Shanghai.
  EXPECT_EQ(TestNameDate(1795885200LL * 1000000, kTz), "261129");
  EXPECT_EQ(TestNameDate(1795885200LL * 1000000, "UTC"), "261128");
}

TEST(TestNameTest, ClaimMakesAValidNameAndItsFolder) {
  TempDir tmp;
  const std::string info_root = tmp / "no/such/root";  // made on demand
  std::string name;
  Status s = ClaimTestName(info_root, "mnist", kTz, kNow, &name);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(IsValidTestName(name)) << name;
  EXPECT_EQ(name.substr(0, 11), "261128.000.");
  EXPECT_TRUE(IsDir(info_root + "/mnist/" + name));

  std::string second;
  ASSERT_TRUE(ClaimTestName(info_root, "mnist", kTz, kNow, &second).ok());
  EXPECT_EQ(second.substr(0, 11), "261128.001.");
  EXPECT_TRUE(IsDir(info_root + "/mnist/" + second));
}

TEST(TestNameTest, CounterStartsAtTodaysEntries) {
  TempDir tmp;
  const std::string exp_dir = tmp / "exp";
  ASSERT_EQ(mkdir(exp_dir.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((exp_dir + "/261128.000.aat").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((exp_dir + "/261127.007.aat").c_str(), 0755),
            0);  // yesterday
  WriteFile(exp_dir + "/261128-notes.txt", "counted, as lumo counts it");
  std::string name;
  ASSERT_TRUE(ClaimTestName(tmp.path(), "exp", kTz, kNow, &name).ok());
  EXPECT_EQ(CounterText(name), "002");
}

TEST(TestNameTest, CounterInUseIsSkipped) {
  // A deleted run lowers lumo's count; its successor must not reuse 002.
  TempDir tmp;
  const std::string exp_dir = tmp / "exp";
  ASSERT_EQ(mkdir(exp_dir.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((exp_dir + "/261128.000.aat").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((exp_dir + "/261128.002.bbt").c_str(), 0755), 0);
  std::string name;
  ASSERT_TRUE(ClaimTestName(tmp.path(), "exp", kTz, kNow, &name).ok());
  EXPECT_EQ(CounterText(name), "003");
}

TEST(TestNameTest, PastNineHundredNinetyNineRuns) {
  TempDir tmp;
  const std::string exp_dir = tmp / "busy";
  ASSERT_EQ(mkdir(exp_dir.c_str(), 0755), 0);
  for (int i = 0; i < 1000; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "/261128.%03d.%02xt", i, i % 256);
    ASSERT_EQ(mkdir((exp_dir + name).c_str(), 0755), 0);
  }
  std::string name;
  ASSERT_TRUE(ClaimTestName(tmp.path(), "busy", kTz, kNow, &name).ok());
  EXPECT_EQ(CounterText(name), "1000");
  EXPECT_EQ(name.size(), std::string("261128.1000.a3t").size());
  EXPECT_TRUE(IsValidTestName(name)) << name;
  EXPECT_TRUE(IsDir(exp_dir + "/" + name));
}

TEST(TestNameTest, RandomPartVaries) {
  TempDir tmp;
  std::set<std::string> random_parts;
  for (int i = 0; i < 40; ++i) {
    std::string name;
    ASSERT_TRUE(ClaimTestName(tmp.path(), "exp", kTz, kNow, &name).ok());
    random_parts.insert(name.substr(name.size() - 3, 2));
  }
  // 40 draws from 256 values: fewer than 20 distinct is (far) below 1e-9.
  EXPECT_GE(random_parts.size(), 20u);
}

TEST(TestNameTest, ConcurrentProcessesNeverShare) {
  constexpr int kProcs = 16;
  constexpr int kEach = 20;
  TempDir tmp;
  const std::string info_root = tmp / "info";
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  std::vector<pid_t> children;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(gate[1]);
      char c;
      // Every child blocks here until the parent closes the pipe.
      while (read(gate[0], &c, 1) > 0) {
      }
      std::string names;
      for (int i = 0; i < kEach; ++i) {
        std::string name;
        Status s = ClaimTestName(info_root, "shared_exp", kTz, kNow, &name);
        if (!s.ok()) {
          names += "ERROR " + s.ToString() + "\n";
          continue;
        }
        names += name + "\n";
      }
      WriteFile(tmp / ("names." + std::to_string(p)), names);
      _exit(0);
    }
    children.push_back(pid);
  }
  close(gate[0]);
  close(gate[1]);  // start them all at once
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  std::set<std::string> names;
  std::set<std::string> counters;
  int total = 0;
  for (int p = 0; p < kProcs; ++p) {
    std::istringstream in(ReadFile(tmp / ("names." + std::to_string(p))));
    std::string line;
    while (std::getline(in, line)) {
      ++total;
      ASSERT_TRUE(IsValidTestName(line)) << line;
      EXPECT_TRUE(IsDir(info_root + "/shared_exp/" + line)) << line;
      names.insert(line);
      counters.insert(CounterText(line));
    }
  }
  EXPECT_EQ(total, kProcs * kEach);
  EXPECT_EQ(names.size(), static_cast<size_t>(kProcs * kEach));
  // Beyond lumo: no two runs of a day share NNN either.
  EXPECT_EQ(counters.size(), static_cast<size_t>(kProcs * kEach));
  // Backed-off claims leave no folders behind.
  size_t entries = 0;
  if (DIR* d = opendir((info_root + "/shared_exp").c_str())) {
    while (struct dirent* e = readdir(d)) {
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") {
        ++entries;
      }
    }
    closedir(d);
  }
  EXPECT_EQ(entries, static_cast<size_t>(kProcs * kEach));
}

TEST(TestNameTest, ClaimRejectsBadExpName) {
  TempDir tmp;
  std::string name = "unchanged";
  Status s = ClaimTestName(tmp.path(), "../escape", kTz, kNow, &name);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(name, "unchanged");
}

TEST(TestNameTest, ClaimReportsMkdirFailure) {
  TempDir tmp;
  const std::string file = tmp / "a_file";
  WriteFile(file, "not a folder");
  std::string name;
  Status s = ClaimTestName(file, "exp", kTz, kNow, &name);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_NE(s.message().find(file), std::string::npos) << s.ToString();
}

TEST(TestNameTest, GivenNameRules) {
  TempDir tmp;
  const std::string given = "261128.042.c0t";
  const std::string dir = tmp / ("exp/" + given);

  Status s = ClaimGivenTestName(tmp.path(), "exp", "261128.42.c0t");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("'261128.42.c0t'"), std::string::npos);

  EXPECT_TRUE(
      ClaimGivenTestName(tmp.path(), "bad/exp", given).IsInvalidArgument());

  // Fresh: the folder is made.
  ASSERT_TRUE(ClaimGivenTestName(tmp.path(), "exp", given).ok());
  EXPECT_TRUE(IsDir(dir));
  // Existing folder without a journal: still free.
  WriteFile(dir + "/note.md", "prepared by hand");
  EXPECT_TRUE(ClaimGivenTestName(tmp.path(), "exp", given).ok());
  // With a journal: taken, and the message names the path.
  WriteFile(dir + "/journal", "");
  s = ClaimGivenTestName(tmp.path(), "exp", given);
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  EXPECT_NE(s.message().find(dir + "/journal"), std::string::npos)
      << s.ToString();
  // A file where the folder should be.
  WriteFile(tmp / "exp/261128.043.c0t", "");
  s = ClaimGivenTestName(tmp.path(), "exp", "261128.043.c0t");
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  // Past 999 a given name has four digits.
  EXPECT_TRUE(ClaimGivenTestName(tmp.path(), "exp", "261128.1000.a3t").ok());
}

}  // namespace
}  // namespace lumodb

namespace lumodb {
namespace {

TEST(TestNameGlobalTest, NamesAreUniqueAcrossExperiments) {
  testing::TempDir dir;
  std::set<std::string> names;
  // 20 experiments' first runs of one day: lumo's scheme shares a name
  // about once in 256 such pairs; lumo-db never does.
  for (int round = 0; round < 10; ++round) {
    for (int e = 0; e < 20; ++e) {
      std::string name;
      ASSERT_TRUE(ClaimTestName(dir.path(), "exp" + std::to_string(round * 20 + e),
                                "UTC", 1795872141000000, &name)
                      .ok());
      EXPECT_TRUE(names.insert(name).second) << name;
      EXPECT_TRUE(std::filesystem::exists(dir.path() + "/.lumodb/names/" + name));
    }
  }
  EXPECT_EQ(names.size(), 200u);
}

}  // namespace
}  // namespace lumodb

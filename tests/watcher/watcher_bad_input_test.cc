// Bad input to the Watcher: a file that is not a journal, a bad exp folder,
// never stop the other runs from loading.
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

std::mutex g_mu;
std::vector<std::string> g_warnings;
void Collect(const std::string& m) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_warnings.push_back(m);
}

TEST(WatcherBadInputTest, ANonJournalIsSkippedWithAWarningNamingTheRun) {
  testing::TempDir dir;
  Roots roots;
  roots.home = dir / "home";
  roots.cache_root = dir / "cache";
  roots.FillDefaults(dir.path());
  ExperimentOptions eo;
  eo.default_hooks = false;
  std::string good;
  {
    Experiment exp("good", roots, eo);
    ASSERT_TRUE(exp.start().ok());
    exp.dump_metric("acc", 0.5, Cmp::Max);
    ASSERT_TRUE(exp.end(0).ok());
    good = exp.test_name();
  }
  // A folder that looks like a run but whose journal is foreign bytes.
  std::string bad_dir = roots.info_root + "/bad/261128.000.00t";
  std::filesystem::create_directories(bad_dir);
  testing::WriteFile(bad_dir + "/journal", "this is not a journal at all");
  // Stray entries that are not runs.
  std::filesystem::create_directories(roots.info_root + "/bad/not-a-test-name");
  testing::WriteFile(roots.info_root + "/stray-file", "x");

  g_warnings.clear();
  WatcherOptions wo;
  wo.db_path = dir / "db";
  wo.warn = Collect;
  std::unique_ptr<Watcher> w;
  ASSERT_TRUE(Watcher::Open(roots, wo, &w).ok());
  LoadStats stats;
  Status s = w->reindex(&stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(stats.runs_failed, 1u);
  // Built aside and swapped in: nothing of the build is left beside it.
  EXPECT_FALSE(std::filesystem::exists(dir / "db.reindex"));
  EXPECT_FALSE(std::filesystem::exists(dir / "db.old"));
  ASSERT_EQ(g_warnings.size(), 1u);
  EXPECT_NE(g_warnings[0].find("bad/261128.000.00t"), std::string::npos) << g_warnings[0];
  EXPECT_NE(g_warnings[0].find(bad_dir + "/journal"), std::string::npos) << g_warnings[0];

  std::string json;
  ASSERT_TRUE(w->retrieve(good, "good", &json).ok());
  auto run = nlohmann::json::parse(json);
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["metrics"]["acc"], 0.5);
}

}  // namespace
}  // namespace lumodb

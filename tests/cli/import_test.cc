// Tests for the import command of tools/lumo-db/main.cc: the real lumo-db
// binary run as a child over a copy of ../shared/fixtures (lumo-home and
// lumo-cache), with a temporary $HOME and an explicit --db.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

extern char** environ;

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

using testing::Lines;
using testing::Result;

class CliImportTest : public testing::ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    lumo_home_ = dir_ / "lumo-home";
    lumo_cache_ = dir_ / "lumo-cache";
    db_ = dir_ / "db";
    fs::copy(testing::FixturesDir() + "/lumo-home", lumo_home_, fs::copy_options::recursive);
    fs::copy(testing::FixturesDir() + "/lumo-cache", lumo_cache_, fs::copy_options::recursive);
  }

  // lumo-db with args, in work_, HOME=home_, its own roots and --db.
  Result Cli(std::vector<std::string> args) {
    const std::vector<std::string> common = {"--db", db_, "--info-root", dir_ / "own-info",
                                             "--cache-root", dir_ / "own-cache"};
    args.insert(args.end(), common.begin(), common.end());
    return Run(testing::BinPath("lumo-db"), args);
  }

  std::string lumo_home_, lumo_cache_, db_;
};

TEST_F(CliImportTest, HelpNamesTheOptions) {
  Result r = Cli({"import", "--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  for (const char* word : {"lumo-db import", "paths", "--lumo-cache", "--format"}) {
    EXPECT_THAT(r.out, HasSubstr(word));
  }
  Result bad = Cli({"import", lumo_home_, "--format", "xml"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("xml"));
}

TEST_F(CliImportTest, JsonReportThenQueryListsTheRuns) {
  const std::string exp = lumo_home_ + "/experiments/mnist.mlp";
  testing::WriteFile(exp + "/stray.txt", "x");
  const std::string params = lumo_home_ + "/experiments/cifar10.resnet/261128.000.a2t/info/params.json";
  testing::WriteFile(params, "{\"lr\": 0.0");

  Result r = Cli({"import", lumo_home_, "--lumo-cache", lumo_cache_, "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["imported"], 13);
  EXPECT_EQ(report["updated"], 0);
  EXPECT_EQ(report["unchanged"], 0);
  EXPECT_EQ(report["partial"], 1);
  EXPECT_EQ(report["skipped"], 1);
  ASSERT_EQ(report["skipped_paths"].size(), 1u);
  EXPECT_EQ(report["skipped_paths"][0]["path"], exp + "/stray.txt");
  EXPECT_FALSE(report["skipped_paths"][0]["what"].get<std::string>().empty());
  ASSERT_EQ(report["problems"].size(), 1u);
  EXPECT_EQ(report["problems"][0]["path"], params);
  EXPECT_THAT(report["problems"][0]["what"].get<std::string>(), HasSubstr("JSON"));

  Result again = Cli({"import", lumo_home_, "--lumo-cache", lumo_cache_, "--format=json"});
  ASSERT_EQ(again.code, 0) << again.err;
  json second = json::parse(again.out);
  EXPECT_EQ(second["imported"], 0);
  EXPECT_EQ(second["unchanged"], 13);

  Result q = Cli({"query", "--format", "jsonl"});
  ASSERT_EQ(q.code, 0) << q.err;
  std::set<std::string> runs;
  for (const auto& line : Lines(q.out)) {
    json row = json::parse(line);
    runs.insert(row["exp_name"].get<std::string>() + "/" + row["test_name"].get<std::string>());
  }
  EXPECT_EQ(runs.size(), 13u);
  EXPECT_TRUE(runs.count("cifar10.resnet/261128.003.6at"));
  EXPECT_TRUE(runs.count("ablation_v2/261128.000.7at"));

  Result killed = Cli({"query", "--status", "killed", "--format", "jsonl"});
  ASSERT_EQ(killed.code, 0) << killed.err;
  ASSERT_EQ(Lines(killed.out).size(), 1u) << killed.out;
  EXPECT_EQ(json::parse(Lines(killed.out)[0])["test_name"], "261128.003.6at");

  // show: both reruns of d6t, from the index the import wrote.
  Result show = Cli({"show", "261128.000.d6t"});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(json::parse(show.out)["rerun"]["reruns"],
              UnorderedElementsAre("261128.006.74t", "261128.007.adt"));
}

TEST_F(CliImportTest, TextReportEndsWithTheCounts) {
  Result r = Cli({"import", lumo_home_ + "/experiments/cifar10.resnet", "--lumo-cache",
                  lumo_cache_});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), HasSubstr("runs: 4 imported, 0 updated, 0 unchanged, 0 partial, "
                                      "0 skipped"));
  EXPECT_THAT(lines.back(), HasSubstr(db_));

  testing::WriteFile(lumo_home_ + "/experiments/cifar10.resnet/notes.txt", "x");
  Result again = Cli({"import", lumo_home_ + "/experiments/cifar10.resnet"});
  ASSERT_EQ(again.code, 0) << again.err;
  lines = Lines(again.out);
  ASSERT_EQ(lines.size(), 2u) << again.out;
  EXPECT_THAT(lines[0], HasSubstr("skipped " + lumo_home_ +
                                  "/experiments/cifar10.resnet/notes.txt"));
  EXPECT_THAT(lines.back(), HasSubstr("runs: 0 imported, 0 updated, 4 unchanged, 0 partial, "
                                      "1 skipped"));
}

TEST_F(CliImportTest, MissingPathExitsOneNamingItAndImportsNothing) {
  const std::string missing = dir_ / "nowhere";
  Result r = Cli({"import", lumo_home_, missing, "--lumo-cache", lumo_cache_});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(missing));
  Result q = Cli({"query", "--format", "jsonl"});
  ASSERT_EQ(q.code, 0) << q.err;
  EXPECT_EQ(q.out, "");
}

}  // namespace
}  // namespace lumodb

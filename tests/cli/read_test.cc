// The streamed read path through the real lumo-db binary: raw values of
// imported runs only when asked, pages, the formats agreeing run for run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::Lines;
using testing::Result;

class CliReadTest : public testing::ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    fs::copy(testing::FixturesDir() + "/lumo-home", dir_ / "lumo-home",
             fs::copy_options::recursive);
    Result r = Cli({"import", dir_ / "lumo-home"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  Result Cli(std::vector<std::string> args) {
    for (const std::string& a :
         {std::string("--db"), dir_ / "db", std::string("--info-root"), dir_ / "own"}) {
      args.push_back(a);
    }
    return Run(testing::BinPath("lumo-db"), args);
  }
  std::vector<json> JsonLines(const std::string& out) {
    std::vector<json> rows;
    for (const std::string& line : Lines(out)) rows.push_back(json::parse(line));
    return rows;
  }
};

TEST_F(CliReadTest, RawValuesOnlyWhenAskedAndAlwaysAsColumns) {
  Result plain = Cli({"show", "261128.000.d6t"});
  Result raw = Cli({"show", "261128.000.d6t", "--raw"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(raw.code, 0) << raw.err;
  json p = json::parse(plain.out), r = json::parse(raw.out);
  EXPECT_FALSE(p.contains("info"));
  EXPECT_TRUE(r["info"]["pinfo"].contains("hash")) << raw.out;
  EXPECT_EQ(r["info"]["progress"]["end_code"], 0);
  r.erase("info");
  EXPECT_EQ(r, p) << "raw adds only the info object";

  Result dump = Cli({"dump", "--raw"});
  ASSERT_EQ(dump.code, 0) << dump.err;
  std::vector<json> runs = JsonLines(dump.out);
  ASSERT_EQ(runs.size(), 13u);
  for (const json& run : runs) EXPECT_TRUE(run.contains("info")) << run["test_name"];
  Result column =
      Cli({"query", "--columns", "test_name,info.progress.end_code,info.pinfo.obj.pname",
           "--format", "jsonl", "--exp", "mnist.mlp", "--limit", "1"});
  ASSERT_EQ(column.code, 0) << column.err;
  json row = json::parse(Lines(column.out).at(0));
  EXPECT_EQ(row["info.progress.end_code"], 0);
  EXPECT_EQ(row["info.pinfo.obj.pname"], "python3");
}

TEST_F(CliReadTest, PagesOfAQueryAreTheQueryCutIntoPieces) {
  Result all = Cli({"query", "--sort=-metrics.acc", "--columns", "test_name", "--format", "csv"});
  ASSERT_EQ(all.code, 0) << all.err;
  std::vector<std::string> whole = Lines(all.out);
  ASSERT_EQ(whole.size(), 14u);
  std::vector<std::string> pages = {whole[0]};
  for (int offset = 0; offset < 13; offset += 5) {
    Result page = Cli({"query", "--sort=-metrics.acc", "--columns", "test_name", "--format", "csv",
                       "--limit", "5", "--offset", std::to_string(offset)});
    ASSERT_EQ(page.code, 0) << page.err;
    std::vector<std::string> lines = Lines(page.out);
    pages.insert(pages.end(), lines.begin() + 1, lines.end());
  }
  EXPECT_EQ(pages, whole);
}

TEST_F(CliReadTest, JsonJsonlAndShowAgreeRunForRun) {
  Result jsonl = Cli({"query", "--format", "jsonl"});
  Result array = Cli({"query", "--format", "json"});
  ASSERT_EQ(jsonl.code, 0) << jsonl.err;
  ASSERT_EQ(array.code, 0) << array.err;
  std::vector<json> rows = JsonLines(jsonl.out);
  json parsed = json::parse(array.out);
  ASSERT_EQ(parsed.size(), rows.size());
  ASSERT_EQ(rows.size(), 13u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(parsed[i], rows[i]);
    // json is indented as a pretty printer does it; each line of a run
    // compact in jsonl.
    Result one = Cli({"show", rows[i]["test_name"], "--exp", rows[i]["exp_name"]});
    ASSERT_EQ(one.code, 0) << one.err;
    EXPECT_EQ(json::parse(one.out), rows[i]);
    EXPECT_EQ(one.out, rows[i].dump(2) + "\n");
  }
  EXPECT_EQ(array.out.substr(0, 4), "[\n  ");
}

}  // namespace
}  // namespace lumodb

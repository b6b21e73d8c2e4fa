// What a new user meets first, through the real lumo-db binary: numbers in
// tables, the progress line of long commands (on a real pseudo-terminal and
// off it), and values lumo never recorded shown as absent.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "progress.h"
#include "test_util.h"

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::Lines;
using ::testing::Not;
using testing::Result;

class FirstUseTest : public testing::ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    fs::copy(testing::FixturesDir() + "/lumo-home", dir_ / "lumo-home",
             fs::copy_options::recursive);
  }
  std::vector<std::string> Common() const {
    return {"--db",         dir_ / "db",       "--info-root", dir_ / "own-info",
            "--cache-root", dir_ / "own-cache"};
  }
  Result Cli(std::vector<std::string> args) {
    for (const auto& a : Common()) args.push_back(a);
    return Run(testing::BinPath("lumo-db"), args);
  }
  Result CliOnTerminal(std::vector<std::string> args) {
    for (const auto& a : Common()) args.push_back(a);
    return RunOnTerminal(testing::BinPath("lumo-db"), args);
  }
  void Import() {
    Result r = Cli({"import", dir_ / "lumo-home"});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
};

// The significant digits of a number's text: "0.990644" has 6, "12" 2.
size_t SignificantDigits(const std::string& text) {
  std::string mantissa = text.substr(0, text.find_first_of("eE"));
  size_t first = mantissa.find_first_of("123456789");
  if (first == std::string::npos) return 1;
  size_t n = 0;
  for (size_t i = first; i < mantissa.size(); ++i) n += std::isdigit(mantissa[i]) ? 1 : 0;
  // Trailing zeros of an integer are not significant here.
  if (mantissa.find('.') == std::string::npos) {
    while (n > 1 && mantissa.back() == '0') {
      mantissa.pop_back();
      --n;
    }
  }
  return n;
}

TEST_F(FirstUseTest, TableShowsSixSignificantDigitsCsvAndJsonKeepEveryDigit) {
  Import();
  const std::string columns = "test_name,metrics.acc,metrics.best_epoch,progress.ratio";
  Result table = Cli({"query", "--exp", "mnist.mlp", "--sort", "test_name", "--columns", columns,
                      "--format", "table"});
  ASSERT_EQ(table.code, 0) << table.err;
  Result csv = Cli({"query", "--exp", "mnist.mlp", "--sort", "test_name", "--columns", columns,
                    "--format", "csv"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  Result jsonl = Cli({"query", "--exp", "mnist.mlp", "--sort", "test_name", "--columns", columns,
                      "--format", "jsonl"});
  ASSERT_EQ(jsonl.code, 0) << jsonl.err;

  std::vector<std::string> rows = Lines(table.out), csv_rows = Lines(csv.out),
                           json_rows = Lines(jsonl.out);
  ASSERT_EQ(rows.size(), 2 + 8u) << table.out;  // header, dashes, the 8 mnist runs
  ASSERT_EQ(csv_rows.size(), 1 + 8u) << csv.out;
  ASSERT_EQ(json_rows.size(), 8u) << jsonl.out;
  // 261128.000.d6t: acc 0.7855860341440297 (lumo's metric.pkl), ratio 1.0.
  EXPECT_THAT(rows[2], HasSubstr("261128.000.d6t"));
  EXPECT_THAT(rows[2], HasSubstr("  0.785586"));
  EXPECT_THAT(rows[2], Not(HasSubstr("0.7855860341440297")));
  EXPECT_THAT(csv_rows[1], HasSubstr("0.7855860341440297"));
  EXPECT_EQ(json::parse(json_rows[0])["metrics.acc"].get<double>(), 0.7855860341440297);
  for (size_t r = 2; r < rows.size(); ++r) {
    std::vector<std::string> cells;
    std::istringstream in(rows[r]);
    for (std::string cell; in >> cell;) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 4u) << rows[r];
    EXPECT_LE(SignificantDigits(cells[1]), 6u) << rows[r];
    EXPECT_EQ(cells[3], "1") << "an integer-valued float shows no fraction: " << rows[r];
    // Numbers are right-aligned: each ends where its column's dashes end.
    const std::string& dashes = rows[1];
    size_t col_end = 0;
    for (int c = 0, pos = 0; c < 2; ++c) {
      size_t start = dashes.find('-', pos);
      col_end = dashes.find(' ', start);
      pos = static_cast<int>(col_end);
    }
    EXPECT_EQ(rows[r].find(cells[1]) + cells[1].size(), col_end) << rows[r];
  }
  // Inside an object cell, floats are shortened too.
  Result objects = Cli({"query", "--exp", "mnist.mlp", "--sort", "test_name", "--limit", "1",
                        "--columns", "metrics", "--format", "table"});
  ASSERT_EQ(objects.code, 0) << objects.err;
  EXPECT_THAT(objects.out, HasSubstr("\"acc\":0.785586"));
  EXPECT_THAT(objects.out, HasSubstr("\"best_epoch\":3"));
}

TEST_F(FirstUseTest, ImportedRunsShowNoEmptyValuesLumoNeverRecorded) {
  Import();
  Result r = Cli({"show", "261128.000.d6t"});
  ASSERT_EQ(r.code, 0) << r.err;
  json run = json::parse(r.out);
  ASSERT_TRUE(run["pinfo"].is_object()) << r.out;
  EXPECT_FALSE(run["pinfo"].contains("host")) << run["pinfo"];
  EXPECT_FALSE(run["pinfo"].contains("boot_id")) << run["pinfo"];
  EXPECT_EQ(run["pinfo"]["pid"], 16154) << "what lumo recorded" << run["pinfo"];
  EXPECT_EQ(run["pinfo"]["pname"], "python3") << run["pinfo"];
  EXPECT_FALSE(run.contains("lumodb_version")) << r.out;

  // A run lumo-db recorded itself has them, filled.
  Result trained =
      Run(testing::BinPath("example_trainer"),
          {"--exp", "own.run", "--lr", "0.1", "--seed", "1", "--epochs", "1", "--sleep-ms", "0"},
          "", {{"LUMODB_GIT_SNAPSHOT", "0"}});
  ASSERT_EQ(trained.code, 0) << trained.err;
  Result own = Run(testing::BinPath("lumo-db"), {"query", "--exp", "own.run", "--format", "jsonl"});
  ASSERT_EQ(own.code, 0) << own.err;
  ASSERT_EQ(Lines(own.out).size(), 1u) << own.out;
  json mine = json::parse(Lines(own.out)[0]);
  EXPECT_FALSE(mine["pinfo"].value("host", "").empty()) << mine["pinfo"];
  EXPECT_FALSE(mine["pinfo"].value("boot_id", "").empty()) << mine["pinfo"];
  EXPECT_FALSE(mine.value("lumodb_version", "").empty());
}

TEST_F(FirstUseTest, LongCommandsDrawAProgressLineOnATerminalOnly) {
  Result on_tty = CliOnTerminal({"import", dir_ / "lumo-home"});
  ASSERT_EQ(on_tty.code, 0) << on_tty.err;
  EXPECT_THAT(on_tty.err, HasSubstr("\r\033[K"));  // redrawn in place
  EXPECT_THAT(on_tty.err, HasSubstr("importing  "));
  EXPECT_THAT(on_tty.err, HasSubstr("%  "));
  EXPECT_THAT(on_tty.err, HasSubstr(" runs/s"));
  EXPECT_THAT(on_tty.err, HasSubstr(" elapsed"));
  EXPECT_THAT(on_tty.err, HasSubstr("read 13 runs in "));  // the summary line
  EXPECT_THAT(on_tty.out, HasSubstr("runs: 13 imported, 0 updated, 0 unchanged"))
      << "the report itself goes to stdout";

  Result reindex = CliOnTerminal({"reindex"});
  ASSERT_EQ(reindex.code, 0) << reindex.err;
  EXPECT_THAT(reindex.err, HasSubstr("reindexing  "));
  EXPECT_THAT(reindex.err, HasSubstr("reindexed "));

  Result exported = CliOnTerminal({"dump", "--format", "lumo-dir", dir_ / "exported"});
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_THAT(exported.err, HasSubstr("exporting  "));
  EXPECT_THAT(exported.err, HasSubstr("exported 13 runs in "));

  // Not a terminal, or machine-readable output: none of it.
  Result piped = Cli({"import", dir_ / "lumo-home", "--full"});
  ASSERT_EQ(piped.code, 0) << piped.err;
  EXPECT_THAT(piped.err, Not(HasSubstr("importing")));
  EXPECT_THAT(piped.err, Not(HasSubstr("\r")));
  Result json_report = CliOnTerminal({"import", dir_ / "lumo-home", "--format", "json"});
  ASSERT_EQ(json_report.code, 0) << json_report.err;
  EXPECT_THAT(json_report.err, Not(HasSubstr("importing")));
  EXPECT_NO_THROW(json::parse(json_report.out)) << json_report.out;
}

TEST(ProgressLineTest, TextHasPercentRateElapsedAndEta) {
  using cli::ProgressLine;
  EXPECT_EQ(ProgressLine::Text("importing", "runs", 8400, 20000, 1.1),
            "importing  42%  8,400/20,000 runs  7,636 runs/s  1.1 s elapsed  ETA 1.5 s");
  EXPECT_EQ(ProgressLine::Text("reindexing", "runs", 0, 100000, 0.0),
            "reindexing  0%  0/100,000 runs  0.0 s elapsed");
  EXPECT_EQ(ProgressLine::Text("exporting", "runs", 7, 0, 2.0),
            "exporting  7 runs  4 runs/s  2.0 s elapsed");
  EXPECT_EQ(ProgressLine::Text("importing", "runs", 1000000, 1000000, 125.0),
            "importing  100%  1,000,000/1,000,000 runs  8,000 runs/s  2 min 05 s elapsed");
  EXPECT_EQ(ProgressLine::Summary("imported", "runs", 20000, 2.5),
            "imported 20,000 runs in 2.5 s (8,000 runs/s)");
  EXPECT_EQ(ProgressLine::Summary("exported", "runs", 0, 0.1), "exported 0 runs in 0.1 s");
}

}  // namespace
}  // namespace lumodb

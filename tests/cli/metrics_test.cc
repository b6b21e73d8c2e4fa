// Tests for tools/lumo-db/cmd_metrics.cc: `lumo-db metrics` run as a child
// over runs that series_logger children recorded under a temporary $HOME.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "helpers/series_value.h"
#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using testing::Lines;
using testing::Result;

// A CSV line without quoted fields.
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) out.push_back(field);
  return out;
}

class MetricsCliTest : public testing::ProgramTest {
 protected:
  // series_logger EXP N; returns the run's test_name.
  std::string Log(const std::string& exp, long n,
                  const std::map<std::string, std::string>& env = {}) {
    Result r = Run(testing::BinPath("series_logger"), {exp, std::to_string(n)}, "", env);
    EXPECT_EQ(r.code, 0) << r.err;
    std::istringstream in(r.out);
    std::string word, e, test;
    in >> word >> e >> test;
    EXPECT_EQ(e, exp) << r.out;
    return test;
  }

  Result Cli(const std::vector<std::string>& args) {
    return Run(testing::BinPath("lumo-db"), args);
  }
};

TEST_F(MetricsCliTest, CsvAndJsonlHoldEveryValueExactly) {
  constexpr long kN = 3000;
  const std::string test = Log("cli.hist", kN);
  Result r = Cli({"metrics", test, "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), static_cast<size_t>(2 * kN + 1));
  EXPECT_EQ(lines[0], "key,step,time_us,value");
  // Keys in byte order: acc (default steps), then loss (steps 10 i).
  for (long i = 0; i < kN; ++i) {
    std::vector<std::string> acc = SplitCsv(lines[1 + i]);
    std::vector<std::string> loss = SplitCsv(lines[1 + kN + i]);
    ASSERT_EQ(acc.size(), 4u);
    ASSERT_EQ(loss.size(), 4u);
    EXPECT_EQ(acc[0], "acc");
    EXPECT_EQ(acc[1], std::to_string(i));
    EXPECT_EQ(std::strtod(acc[3].c_str(), nullptr), static_cast<double>(i) / kN);
    EXPECT_EQ(loss[0], "loss");
    EXPECT_EQ(loss[1], std::to_string(10 * i));
    EXPECT_GT(std::strtoll(loss[2].c_str(), nullptr, 10), 1600000000000000);
    ASSERT_EQ(std::strtod(loss[3].c_str(), nullptr), testing::SeriesValue(i)) << lines[1 + kN + i];
  }

  r = Cli({"metrics", test, "loss", "--format", "jsonl", "--min-step", "100", "--max-step", "120"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    json row = json::parse(lines[k]);
    EXPECT_EQ(row["key"], "loss");
    EXPECT_EQ(row["step"], 100 + 10 * k);
    EXPECT_EQ(row["value"].get<double>(), testing::SeriesValue(10 + static_cast<long>(k)));
    EXPECT_TRUE(row["time_us"].is_number_integer());
  }
}

TEST_F(MetricsCliTest, PointsDownsampleAndKeepTheSpikes) {
  constexpr long kN = 20000;
  const std::string test = Log("cli.spikes", kN);
  Result r = Cli({"metrics", test, "loss", "--points", "100", "--format", "jsonl"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_LE(lines.size(), 100u);
  EXPECT_GE(lines.size(), 50u);
  bool max_seen = false, min_seen = false;
  long long prev = -1;
  for (const std::string& line : lines) {
    json row = json::parse(line);
    const long long step = row["step"];
    EXPECT_GT(step, prev);
    prev = step;
    EXPECT_EQ(row["value"].get<double>(), testing::SeriesValue(static_cast<long>(step / 10)));
    max_seen |= step == 79190;
    min_seen |= step == 158770;
  }
  EXPECT_TRUE(max_seen) << "the spike up";
  EXPECT_TRUE(min_seen) << "the spike down";

  // The table: aligned, short floats, and a note on stderr.
  r = Cli({"metrics", test, "acc", "--points", "8"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_THAT(lines[0], ::testing::MatchesRegex("key +step +value +time"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("-+  -+  -+  -+"));
  EXPECT_THAT(lines[2], ::testing::MatchesRegex("acc +0 +0  [0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{6}"));
  EXPECT_THAT(lines.back(), ::testing::MatchesRegex("acc +19999 +0\\.99995  .*"));
  EXPECT_THAT(r.err, HasSubstr("of 20000 values shown"));
}

TEST_F(MetricsCliTest, ErrorsAndExitCodes) {
  const std::string test = "240101.001.a1t";
  Log("alpha", 10, {{"LUMO_EXP_TEST_NAME", test}});
  Log("beta", 10, {{"LUMO_EXP_TEST_NAME", test}});
  Result r = Cli({"metrics", test});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("alpha/" + test));
  EXPECT_THAT(r.err, HasSubstr("beta/" + test));
  r = Cli({"metrics", test, "--exp", "beta", "acc", "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 11u);

  r = Cli({"metrics", test, "--exp", "beta", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("'nope'"));
  EXPECT_THAT(r.err, HasSubstr("beta/" + test));
  r = Cli({"metrics", "991231.001.zzt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("991231.001.zzt"));
  r = Cli({"metrics", test, "--exp", "beta", "--format", "xml"});
  EXPECT_EQ(r.code, 2);
  r = Cli({"metrics", test, "--exp", "beta", "--points", "-3"});
  EXPECT_EQ(r.code, 2);
  r = Cli({"metrics", test, "--exp", "beta", "--min-step", "9", "--max-step", "3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("min_step 9"));
  r = Cli({"metrics", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--points"));
}

}  // namespace
}  // namespace lumodb

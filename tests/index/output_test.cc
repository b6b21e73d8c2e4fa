// Tests for engine/src/output.cc.
#include "index/output.h"

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lumodb {
namespace {

using nlohmann::json;

std::vector<json> SampleRuns() {
  return {
      json::parse(R"({
        "exp_name": "mnist.mlp", "test_name": "261128.004.7et",
        "status": "finished",
        "progress": {"start": "26-11-28-212038", "ratio": 1},
        "params": {"lr": 0.1, "opt": {"name": "sgd"}},
        "note": "line one\nline two"
      })"),
      json::parse(R"({
        "exp_name": "cifar", "test_name": "261129.001.abc",
        "status": "running",
        "progress": {"start": "26-11-29-080000", "ratio": 0.25},
        "params": {"lr": 0.01, "tag": "a,\"b\""}
      })"),
  };
}

std::string Write(const std::vector<json>& runs,
                  const std::vector<std::string>& columns,
                  OutputFormat format) {
  std::ostringstream out;
  WriteRuns(out, runs, columns, format);
  return out.str();
}

TEST(ParseOutputFormatTest, KnownNames) {
  OutputFormat f = OutputFormat::kCsv;
  ASSERT_TRUE(ParseOutputFormat("table", &f).ok());
  EXPECT_EQ(f, OutputFormat::kTable);
  ASSERT_TRUE(ParseOutputFormat("json", &f).ok());
  EXPECT_EQ(f, OutputFormat::kJson);
  ASSERT_TRUE(ParseOutputFormat("jsonl", &f).ok());
  EXPECT_EQ(f, OutputFormat::kJsonl);
  ASSERT_TRUE(ParseOutputFormat("csv", &f).ok());
  EXPECT_EQ(f, OutputFormat::kCsv);
}

TEST(ParseOutputFormatTest, UnknownNameListsValidOnes) {
  OutputFormat f = OutputFormat::kJson;
  Status s = ParseOutputFormat("xml", &f);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(),
            "output format 'xml' is unknown: use one of table, json, jsonl, "
            "csv");
  EXPECT_EQ(f, OutputFormat::kJson);
  EXPECT_FALSE(ParseOutputFormat("JSON", &f).ok());
  EXPECT_FALSE(ParseOutputFormat("", &f).ok());
}

TEST(ParseColumnsTest, SplitsAndTrims) {
  std::vector<std::string> columns;
  ASSERT_TRUE(ParseColumns("a,b, c", &columns).ok());
  EXPECT_EQ(columns, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_TRUE(ParseColumns(" params.lr ", &columns).ok());
  EXPECT_EQ(columns, (std::vector<std::string>{"params.lr"}));
}

TEST(ParseColumnsTest, EmptyEntriesAreErrors) {
  for (const char* csv : {"", " ", "a,,b", "a,", ",a", "a, ,b"}) {
    std::vector<std::string> columns = {"kept"};
    Status s = ParseColumns(csv, &columns);
    EXPECT_TRUE(s.IsInvalidArgument()) << csv;
    EXPECT_NE(s.message().find("columns '" + std::string(csv) + "'"),
              std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("empty entry"), std::string::npos);
    EXPECT_EQ(columns, (std::vector<std::string>{"kept"}));
  }
  std::vector<std::string> columns;
  Status s = ParseColumns("a,,b", &columns);
  EXPECT_NE(s.message().find("(number 2)"), std::string::npos) << s.message();
}

TEST(WriteRunsTest, TableDefaultColumns) {
  EXPECT_EQ(Write(SampleRuns(), {}, OutputFormat::kTable),
            "exp_name   test_name       status    progress.ratio  "
            "progress.start\n"
            "---------  --------------  --------  --------------  "
            "---------------\n"
            "mnist.mlp  261128.004.7et  finished               1  "
            "26-11-28-212038\n"
            "cifar      261129.001.abc  running             0.25  "
            "26-11-29-080000\n");
}

TEST(WriteRunsTest, TableProjectionEscapesNewlinesAndLeavesAbsentEmpty) {
  EXPECT_EQ(Write(SampleRuns(), {"params.lr", "note", "exp_name"},
                  OutputFormat::kTable),
            "params.lr  note                exp_name\n"
            "---------  ------------------  ---------\n"
            "      0.1  line one\\nline two  mnist.mlp\n"
            "     0.01                      cifar\n");
}

TEST(WriteRunsTest, TableCountsCharactersNotBytes) {
  std::vector<json> runs = {json{{"a", "\xc3\xa9t\xc3\xa9"}, {"b", 1}},
                            json{{"a", "x"}, {"b", 22}}};
  EXPECT_EQ(Write(runs, {"a", "b"}, OutputFormat::kTable),
            "a    b\n"
            "---  --\n"
            "\xc3\xa9t\xc3\xa9   1\n"
            "x    22\n");
}

TEST(WriteRunsTest, TableWithNoRunsHasHeaderOnly) {
  EXPECT_EQ(Write({}, {"status"}, OutputFormat::kTable), "status\n------\n");
}

TEST(WriteRunsTest, JsonWholeRuns) {
  std::vector<json> runs = {
      json{{"status", "finished"}, {"metrics", {{"acc", 0.9}}}},
      json{{"status", "running"}}};
  EXPECT_EQ(Write(runs, {}, OutputFormat::kJson),
            "[\n"
            "  {\n"
            "    \"metrics\": {\n"
            "      \"acc\": 0.9\n"
            "    },\n"
            "    \"status\": \"finished\"\n"
            "  },\n"
            "  {\n"
            "    \"status\": \"running\"\n"
            "  }\n"
            "]\n");
  EXPECT_EQ(Write({}, {}, OutputFormat::kJson), "[]\n");
}

TEST(WriteRunsTest, JsonProjectionKeepsColumnOrderAndNullsAbsent) {
  EXPECT_EQ(Write(SampleRuns(), {"test_name", "params.opt", "params.lr"},
                  OutputFormat::kJson),
            "[\n"
            "  {\n"
            "    \"test_name\": \"261128.004.7et\",\n"
            "    \"params.opt\": {\n"
            "      \"name\": \"sgd\"\n"
            "    },\n"
            "    \"params.lr\": 0.1\n"
            "  },\n"
            "  {\n"
            "    \"test_name\": \"261129.001.abc\",\n"
            "    \"params.opt\": null,\n"
            "    \"params.lr\": 0.01\n"
            "  }\n"
            "]\n");
}

TEST(WriteRunsTest, JsonlWholeRuns) {
  std::vector<json> runs = {json{{"status", "finished"}, {"tags", {"a", "b"}}},
                            json{{"note", "x\ny"}}};
  EXPECT_EQ(Write(runs, {}, OutputFormat::kJsonl),
            "{\"status\":\"finished\",\"tags\":[\"a\",\"b\"]}\n"
            "{\"note\":\"x\\ny\"}\n");
  EXPECT_EQ(Write({}, {}, OutputFormat::kJsonl), "");
}

TEST(WriteRunsTest, JsonlProjection) {
  EXPECT_EQ(Write(SampleRuns(), {"status", "note"}, OutputFormat::kJsonl),
            "{\"status\":\"finished\",\"note\":\"line one\\nline two\"}\n"
            "{\"status\":\"running\",\"note\":null}\n");
}

TEST(WriteRunsTest, CsvDefaultColumns) {
  EXPECT_EQ(Write(SampleRuns(), {}, OutputFormat::kCsv),
            "exp_name,test_name,status,progress.ratio,progress.start\n"
            "mnist.mlp,261128.004.7et,finished,1,26-11-28-212038\n"
            "cifar,261129.001.abc,running,0.25,26-11-29-080000\n");
}

TEST(WriteRunsTest, CsvQuotesCommasQuotesAndLineBreaks) {
  EXPECT_EQ(Write(SampleRuns(), {"exp_name", "params.tag", "note"},
                  OutputFormat::kCsv),
            "exp_name,params.tag,note\n"
            "mnist.mlp,,\"line one\nline two\"\n"
            "cifar,\"a,\"\"b\"\"\",\n");
  std::vector<json> runs = {json{{"a", "cr\rhere"}, {"b", "plain"}}};
  EXPECT_EQ(Write(runs, {"a", "b"}, OutputFormat::kCsv),
            "a,b\n\"cr\rhere\",plain\n");
}

TEST(WriteRunsTest, CsvQuotesHeaderAndWritesContainersAsJson) {
  std::vector<json> runs = {json{{"tags", {"a", "b"}}, {"x,y", 1}}};
  EXPECT_EQ(Write(runs, {"tags", "x,y"}, OutputFormat::kCsv),
            "tags,\"x,y\"\n"
            "\"[\"\"a\"\",\"\"b\"\"]\",1\n");
}

TEST(WriteRunsTest, InvalidUtf8DoesNotThrow) {
  std::vector<json> runs = {json{{"note", "bad \xff byte"}}};
  std::string out;
  EXPECT_NO_THROW(out = Write(runs, {}, OutputFormat::kJsonl));
  EXPECT_EQ(out, "{\"note\":\"bad \xef\xbf\xbd byte\"}\n");
}

}  // namespace
}  // namespace lumodb

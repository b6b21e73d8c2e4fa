// Tests for engine/src/filter.cc.
#include "index/filter.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace lumodb {
namespace {

using nlohmann::json;

json SampleRun() {
  return json::parse(R"({
    "exp_name": "mnist.mlp",
    "test_name": "261128.004.7et",
    "status": "finished",
    "progress": {"start": "26-11-28-212038", "ratio": 1, "end_code": 0},
    "params": {"lr": 0.1, "seed": 1, "wd": "0.01", "code": "1.0",
               "amp": true, "opt": {"name": "sgd"}},
    "metrics": {"acc": 0.91, "loss": 0.3, "best_epoch": 3,
                "val.acc": 0.8, "val": {"acc": 0.7}},
    "tags": ["a", "b"],
    "history": [{"loss": 0.9}, {"loss": 0.5}],
    "note": "two words, 42 epochs",
    "parent": null
  })");
}

// Parses and compiles `text`, failing the test if either step fails.
bool Match(const std::string& text, const json& run = SampleRun()) {
  Filter f;
  Status s = Filter::Parse(text, &f);
  if (!s.ok()) {
    ADD_FAILURE() << text << ": " << s.ToString();
    return false;
  }
  CompiledFilter compiled;
  s = CompiledFilter::Compile(f, &compiled);
  if (!s.ok()) {
    ADD_FAILURE() << text << ": " << s.ToString();
    return false;
  }
  return compiled.Matches(run);
}

Status ParseError(const std::string& text) {
  Filter f;
  return Filter::Parse(text, &f);
}

// ---- Filter::Parse ----

TEST(FilterParseTest, SplitsFieldOperatorValue) {
  Filter f;
  ASSERT_TRUE(Filter::Parse("params.lr>=0.1", &f).ok());
  EXPECT_EQ(f.field, "params.lr");
  EXPECT_EQ(f.op, ">=");
  EXPECT_EQ(f.value, "0.1");

  ASSERT_TRUE(Filter::Parse("  status ==   running  ", &f).ok());
  EXPECT_EQ(f.field, "status");
  EXPECT_EQ(f.op, "==");
  EXPECT_EQ(f.value, "running");

  ASSERT_TRUE(Filter::Parse("exp_name ~ ^mnist", &f).ok());
  EXPECT_EQ(f.field, "exp_name");
  EXPECT_EQ(f.op, "~");
  EXPECT_EQ(f.value, "^mnist");
}

TEST(FilterParseTest, LongestOperatorWins) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a<=1", "<="}, {"a<1", "<"},   {"a>=1", ">="}, {"a>1", ">"},
      {"a==1", "=="}, {"a!=1", "!="}, {"a~1", "~"},
  };
  for (const auto& [text, op] : cases) {
    Filter f;
    ASSERT_TRUE(Filter::Parse(text, &f).ok()) << text;
    EXPECT_EQ(f.field, "a") << text;
    EXPECT_EQ(f.op, op) << text;
    EXPECT_EQ(f.value, "1") << text;
  }
}

TEST(FilterParseTest, ValueKeepsInnerSpacesAndOperatorCharacters) {
  Filter f;
  ASSERT_TRUE(Filter::Parse("note == <none> = ok", &f).ok());
  EXPECT_EQ(f.op, "==");
  EXPECT_EQ(f.value, "<none> = ok");
}

TEST(FilterParseTest, QuotedValueBecomesJsonStringText) {
  Filter f;
  ASSERT_TRUE(Filter::Parse(R"(note ~ "two words")", &f).ok());
  EXPECT_EQ(f.value, R"("two words")");
  ASSERT_TRUE(Filter::Parse(R"(note == "say \"hi\"")", &f).ok());
  EXPECT_EQ(json::parse(f.value), json("say \"hi\""));
  // Backslashes other than \" and \\ are kept for regexes.
  ASSERT_TRUE(Filter::Parse(R"(note ~ "\d+ \\ x")", &f).ok());
  EXPECT_EQ(json::parse(f.value), json(R"(\d+ \ x)"));
}

TEST(FilterParseTest, EmptyValueOnlyForEquality) {
  Filter f;
  ASSERT_TRUE(Filter::Parse("note ==", &f).ok());
  EXPECT_EQ(f.value, "");
  ASSERT_TRUE(Filter::Parse("note!=", &f).ok());
  EXPECT_EQ(f.value, "");
  for (const char* text : {"a <", "a <=", "a >", "a >=", "a ~"}) {
    Status s = ParseError(text);
    EXPECT_TRUE(s.IsInvalidArgument()) << text;
    EXPECT_NE(s.message().find("has no value"), std::string::npos) << text;
  }
}

TEST(FilterParseTest, NoOperatorMessage) {
  Status s = ParseError("params.lr");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(),
            "filter 'params.lr' has no operator: use FIELD OP VALUE, OP one "
            "of == != < <= > >= ~");
}

TEST(FilterParseTest, ErrorsQuoteTheFilterAndSayWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "is empty"},
      {"   ", "is empty"},
      {"== 1", "has no field"},
      {"a => 1", "unknown operator '=>'"},
      {"a === 1", "unknown operator '==='"},
      {"a = 1", "unknown operator '='"},
      {"a <> 1", "unknown operator '<>'"},
      {"params lr == 1", "has a space in its field 'params lr'"},
      {R"(note == "abc)", "no closing quote"},
      {R"(note == "a" b)", "text after the closing quote"},
      {"a ~", "has no value after '~'"},
  };
  for (const auto& [text, what] : cases) {
    Status s = ParseError(text);
    EXPECT_TRUE(s.IsInvalidArgument()) << text;
    EXPECT_NE(s.message().find("filter '" + text + "'"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(what), std::string::npos) << s.message();
    // ... and what a good one looks like.
    EXPECT_TRUE(s.message().find("FIELD") != std::string::npos ||
                s.message().find("e.g.") != std::string::npos)
        << s.message();
  }
}

TEST(FilterParseTest, ErrorLeavesOutputAlone) {
  Filter f{"status", "==", "running"};
  EXPECT_FALSE(Filter::Parse("oops", &f).ok());
  EXPECT_EQ(f.field, "status");
  EXPECT_EQ(f.value, "running");
}

// ---- LookupPath ----

TEST(LookupPathTest, WalksObjects) {
  json run = SampleRun();
  const json* v = LookupPath(run, "params.opt.name");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "sgd");
  v = LookupPath(run, "status");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "finished");
  v = LookupPath(run, "params");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->is_object());
}

TEST(LookupPathTest, LongestDottedKeyWins) {
  json run = SampleRun();
  const json* v = LookupPath(run, "metrics.val.acc");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 0.8);  // the key "val.acc", not val -> acc (0.7)

  json top = {{"val.acc", 1}, {"val", {{"acc", 2}}}};
  v = LookupPath(top, "val.acc");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 1);
}

TEST(LookupPathTest, BacksOffToShorterKeys) {
  // "a.b" exists but holds no "c"; a -> b -> c does.
  json run = {{"a.b", 5}, {"a", {{"b", {{"c", 7}}}}}};
  const json* v = LookupPath(run, "a.b.c");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 7);
}

TEST(LookupPathTest, ArrayIndexes) {
  json run = SampleRun();
  const json* v = LookupPath(run, "tags.0");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "a");
  v = LookupPath(run, "tags.1");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, "b");
  v = LookupPath(run, "history.1.loss");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(*v, 0.5);
  EXPECT_EQ(LookupPath(run, "tags.2"), nullptr);
  EXPECT_EQ(LookupPath(run, "tags.x"), nullptr);
  EXPECT_EQ(LookupPath(run, "tags.-1"), nullptr);
  EXPECT_EQ(LookupPath(run, "tags.1x"), nullptr);
  EXPECT_EQ(LookupPath(run, "tags.99999999999999999999999"), nullptr);
}

TEST(LookupPathTest, AbsentIsNull) {
  json run = SampleRun();
  EXPECT_EQ(LookupPath(run, "params.nope"), nullptr);
  EXPECT_EQ(LookupPath(run, "nope"), nullptr);
  EXPECT_EQ(LookupPath(run, "status.x"), nullptr);
  EXPECT_EQ(LookupPath(run, "params."), nullptr);
  EXPECT_EQ(LookupPath(run, ""), nullptr);
  // A present null is not absent.
  const json* v = LookupPath(run, "parent");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->is_null());
}

// ---- CompareJson ----

TEST(CompareJsonTest, TypesInOrder) {
  std::vector<json> values = {
      json::object({{"a", 1}}), json::array({1}), "s", 2.5, true, nullptr};
  std::sort(values.begin(), values.end(),
            [](const json& a, const json& b) { return CompareJson(a, b) < 0; });
  EXPECT_EQ(json(values).dump(), R"([null,true,2.5,"s",[1],{"a":1}])");
  EXPECT_LT(CompareJson(false, true), 0);
  EXPECT_LT(CompareJson(nullptr, false), 0);
  EXPECT_LT(CompareJson(true, -1e9), 0);
  EXPECT_LT(CompareJson(1e300, ""), 0);
  EXPECT_LT(CompareJson("zzz", json::array()), 0);
  EXPECT_LT(CompareJson(json::array({9}), json::object()), 0);
}

TEST(CompareJsonTest, NumbersByValue) {
  EXPECT_EQ(CompareJson(1, 1.0), 0);
  EXPECT_LT(CompareJson(1, 1.5), 0);
  EXPECT_GT(CompareJson(2, 1.5), 0);
  EXPECT_LT(CompareJson(-1, 0u), 0);
  EXPECT_GT(CompareJson(0u, -1), 0);
  EXPECT_LT(CompareJson(json(std::numeric_limits<int64_t>::min()),
                        json(std::numeric_limits<uint64_t>::max())),
            0);
  EXPECT_GT(CompareJson(json(std::numeric_limits<uint64_t>::max()),
                        json(std::numeric_limits<uint64_t>::max() - 1)),
            0);
  EXPECT_LT(CompareJson(10, 9.5e1), 0);
}

TEST(CompareJsonTest, StringsBytewise) {
  EXPECT_LT(CompareJson("B", "a"), 0);
  EXPECT_LT(CompareJson("a", "ab"), 0);
  EXPECT_EQ(CompareJson("x", "x"), 0);
  EXPECT_GT(CompareJson("\xc3\xa9", "z"), 0);  // é after z: unsigned bytes
}

TEST(CompareJsonTest, ArraysAndObjectsByDump) {
  EXPECT_LT(CompareJson(json::array({1, 2}), json::array({1, 3})), 0);
  EXPECT_EQ(CompareJson(json::array({"a"}), json::array({"a"})), 0);
  EXPECT_LT(CompareJson(json{{"a", 2}}, json{{"b", 1}}), 0);
}

// ---- JsonCellText ----

TEST(JsonCellTextTest, Scalars) {
  EXPECT_EQ(JsonCellText(0.1), "0.1");
  EXPECT_EQ(JsonCellText(3), "3");
  EXPECT_EQ(JsonCellText(3.0), "3");
  EXPECT_EQ(JsonCellText(-7), "-7");
  EXPECT_EQ(JsonCellText(0.91), "0.91");
  EXPECT_EQ(JsonCellText(1e-05), "1e-05");
  EXPECT_EQ(JsonCellText(json(std::numeric_limits<uint64_t>::max())),
            "18446744073709551615");
  EXPECT_EQ(JsonCellText(true), "true");
  EXPECT_EQ(JsonCellText(false), "false");
  EXPECT_EQ(JsonCellText(nullptr), "");
  EXPECT_EQ(JsonCellText("raw \"text\""), "raw \"text\"");
}

TEST(JsonCellTextTest, ContainersAsCompactJson) {
  EXPECT_EQ(JsonCellText(json::array({"a", 1})), R"(["a",1])");
  EXPECT_EQ(JsonCellText(json{{"name", "sgd"}}), R"({"name":"sgd"})");
}

// ---- CompiledFilter ----

TEST(CompiledFilterTest, EqualStrings) {
  EXPECT_TRUE(Match("status == finished"));
  EXPECT_FALSE(Match("status == running"));
  EXPECT_TRUE(Match("exp_name == mnist.mlp"));
  EXPECT_TRUE(Match(R"(note == "two words, 42 epochs")"));
}

TEST(CompiledFilterTest, EqualNumbersByValue) {
  EXPECT_TRUE(Match("params.lr == 0.1"));
  EXPECT_TRUE(Match("params.lr == 0.10"));
  EXPECT_TRUE(Match("progress.ratio == 1.0"));
  EXPECT_TRUE(Match("metrics.best_epoch == 3"));
  EXPECT_FALSE(Match("metrics.best_epoch == 4"));
  EXPECT_FALSE(Match("params.lr == 0.2"));
}

TEST(CompiledFilterTest, NumberFieldAgainstStringValueComparesText) {
  EXPECT_TRUE(Match(R"(params.seed == "1")"));
  EXPECT_TRUE(Match(R"(params.lr == "0.1")"));
  EXPECT_FALSE(Match(R"(params.lr == "0.10")"));
  EXPECT_TRUE(Match(R"(params.lr != "0.10")"));
}

TEST(CompiledFilterTest, StringFieldAgainstNumberValueIsParsed) {
  EXPECT_TRUE(Match("params.wd == 0.01"));
  EXPECT_TRUE(Match("params.code == 1"));        // "1.0" read as a number
  EXPECT_FALSE(Match(R"(params.code == "1")"));  // but not as text
  EXPECT_TRUE(Match(R"(params.code == "1.0")"));
  EXPECT_FALSE(Match("status == 1"));  // "finished" is no number
  EXPECT_TRUE(Match("params.wd < 0.1"));
  EXPECT_FALSE(Match("params.wd > 0.1"));
}

TEST(CompiledFilterTest, NotEqual) {
  EXPECT_TRUE(Match("status != running"));
  EXPECT_FALSE(Match("status != finished"));
  EXPECT_FALSE(Match("params.lr != 0.1"));
  EXPECT_TRUE(Match("params.lr != 0.2"));
}

TEST(CompiledFilterTest, BoolAndNull) {
  EXPECT_TRUE(Match("params.amp == true"));
  EXPECT_FALSE(Match("params.amp == false"));
  EXPECT_TRUE(Match("params.amp != false"));
  EXPECT_FALSE(Match("params.lr == true"));
  EXPECT_TRUE(Match("parent == null"));
  EXPECT_FALSE(Match("parent != null"));
  EXPECT_FALSE(Match("status == null"));
  // An empty value matches null (shown as an empty cell) and "".
  EXPECT_TRUE(Match("parent =="));
  EXPECT_FALSE(Match("status =="));
  EXPECT_TRUE(Match("status !="));
}

TEST(CompiledFilterTest, AbsentFieldFailsAllButNotEqual) {
  for (const char* op : {"==", "<", "<=", ">", ">=", "~"}) {
    EXPECT_FALSE(Match(std::string("params.nope ") + op + " 1")) << op;
  }
  EXPECT_TRUE(Match("params.nope != 1"));
  EXPECT_TRUE(Match("params.nope !="));
  EXPECT_FALSE(Match("params.nope =="));
}

TEST(CompiledFilterTest, OrderingNumbers) {
  EXPECT_TRUE(Match("metrics.acc > 0.9"));
  EXPECT_FALSE(Match("metrics.acc > 0.91"));
  EXPECT_TRUE(Match("metrics.acc >= 0.91"));
  EXPECT_FALSE(Match("metrics.acc >= 0.92"));
  EXPECT_TRUE(Match("metrics.acc < 1"));
  EXPECT_FALSE(Match("metrics.acc < 0.91"));
  EXPECT_TRUE(Match("metrics.acc <= 0.91"));
  EXPECT_FALSE(Match("metrics.acc <= 0.9"));
  EXPECT_TRUE(Match("metrics.best_epoch > 2.5"));
  EXPECT_TRUE(Match("progress.end_code <= 0"));
}

TEST(CompiledFilterTest, OrderingStringsBytewise) {
  EXPECT_TRUE(Match("progress.start >= 26-11-28"));
  EXPECT_FALSE(Match("progress.start < 26-11-28"));
  EXPECT_TRUE(Match("exp_name < n"));
  EXPECT_FALSE(Match("exp_name > n"));
  EXPECT_TRUE(Match(R"(test_name > "261128")"));
}

TEST(CompiledFilterTest, OrderingMixedTypesFails) {
  EXPECT_FALSE(Match("status > 1"));
  EXPECT_FALSE(Match("status < 1"));
  EXPECT_FALSE(Match(R"(metrics.acc > "0.5")"));
  EXPECT_FALSE(Match(R"(metrics.acc < "0.5")"));
  EXPECT_FALSE(Match("tags > 0"));
  EXPECT_FALSE(Match("params.amp >= true"));
}

TEST(CompiledFilterTest, RegexSearch) {
  EXPECT_TRUE(Match("exp_name ~ ^mnist"));
  EXPECT_FALSE(Match("exp_name ~ ^cifar"));
  EXPECT_TRUE(Match("exp_name ~ mlp"));  // search, not full match
  EXPECT_TRUE(Match(R"(exp_name ~ ^mnist\.mlp$)"));
  EXPECT_TRUE(Match(R"(note ~ "two words")"));
  EXPECT_TRUE(Match(R"(note ~ "\d+ epochs")"));
  EXPECT_FALSE(Match(R"(note ~ "^\d")"));
}

TEST(CompiledFilterTest, RegexOnNumbersAndBools) {
  EXPECT_TRUE(Match(R"(metrics.acc ~ ^0\.9)"));
  EXPECT_FALSE(Match(R"(metrics.acc ~ ^0\.8)"));
  EXPECT_TRUE(Match("progress.ratio ~ ^1$"));
  EXPECT_TRUE(Match("params.amp ~ ^true$"));
}

TEST(CompiledFilterTest, RegexOnArraysMatchesAnyElement) {
  EXPECT_TRUE(Match("tags ~ ^b$"));
  EXPECT_TRUE(Match("tags ~ ^a$"));
  EXPECT_FALSE(Match("tags ~ ^c$"));
  EXPECT_FALSE(Match("tags ~ ^ab$"));
  json run = {{"tags", json::array()}};
  EXPECT_FALSE(Match("tags ~ .*", run));
}

TEST(CompiledFilterTest, DottedKeysAndIndexes) {
  EXPECT_TRUE(Match("metrics.val.acc == 0.8"));
  EXPECT_TRUE(Match("params.opt.name == sgd"));
  EXPECT_TRUE(Match("tags.1 == b"));
  EXPECT_TRUE(Match("history.0.loss > 0.8"));
  EXPECT_FALSE(Match("history.0.loss > history"));  // number vs word
}

TEST(CompiledFilterTest, BadRegexIsInvalidArgumentAtCompile) {
  Filter f;
  ASSERT_TRUE(Filter::Parse("note ~ (unclosed", &f).ok());
  CompiledFilter compiled;
  Status s = CompiledFilter::Compile(f, &compiled);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("filter 'note ~ (unclosed'"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("bad regex '(unclosed'"), std::string::npos)
      << s.message();
}

TEST(CompiledFilterTest, CompileRejectsUnknownOperatorAndEmptyField) {
  CompiledFilter compiled;
  Status s = CompiledFilter::Compile(Filter{"a", "=", "1"}, &compiled);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("unknown operator '='"), std::string::npos);
  s = CompiledFilter::Compile(Filter{"", "==", "1"}, &compiled);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("has no field"), std::string::npos);
}

TEST(CompiledFilterTest, KeepsItsFilterAndCopies) {
  Filter f{"metrics.acc", ">", "0.5"};
  CompiledFilter compiled;
  ASSERT_TRUE(CompiledFilter::Compile(f, &compiled).ok());
  EXPECT_EQ(compiled.filter().field, "metrics.acc");
  EXPECT_EQ(compiled.filter().op, ">");
  EXPECT_EQ(compiled.filter().value, "0.5");
  CompiledFilter copy = compiled;
  EXPECT_TRUE(copy.Matches(SampleRun()));
  EXPECT_FALSE(copy.Matches(json{{"metrics", {{"acc", 0.1}}}}));
}

TEST(CompiledFilterTest, HandBuiltFilterValueIsJsonOrBareWord) {
  CompiledFilter compiled;
  ASSERT_TRUE(
      CompiledFilter::Compile(Filter{"status", "==", "finished"}, &compiled)
          .ok());
  EXPECT_TRUE(compiled.Matches(SampleRun()));
  ASSERT_TRUE(
      CompiledFilter::Compile(Filter{"params.code", "==", "\"1.0\""}, &compiled)
          .ok());
  EXPECT_TRUE(compiled.Matches(SampleRun()));
  // An array value compares with the field's compact JSON.
  ASSERT_TRUE(
      CompiledFilter::Compile(Filter{"tags", "==", R"(["a", "b"])"}, &compiled)
          .ok());
  EXPECT_FALSE(
      compiled.Matches(SampleRun()));  // spacing differs from ["a","b"]
  ASSERT_TRUE(
      CompiledFilter::Compile(Filter{"tags", "==", R"(["a","b"])"}, &compiled)
          .ok());
  EXPECT_TRUE(compiled.Matches(SampleRun()));
}

}  // namespace
}  // namespace lumodb

// Tests for engine/src/util/json_text.cc: JSON text written without a tree
// must be byte for byte what nlohmann::json writes for the same value.
#include "util/json_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "index/filter.h"

namespace lumodb {
namespace {

using nlohmann::json;

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

std::string Dbl(double d) {
  std::string out;
  AppendJsonDouble(d, &out);
  return out;
}

std::string Pretty(const std::string& compact) {
  std::string out;
  AppendPrettyJson(compact, 2, 0, &out);
  return out;
}

TEST(JsonTextTest, StringsAreEscapedAsNlohmannEscapesThem) {
  for (std::string s : {std::string(""), std::string("plain"), std::string("quote \" and \\ back"),
                        std::string("tab\tnew\nline\rcr\bbs\fff"), std::string("\x01\x1f\x7f"),
                        std::string("slash / stays"),
                        std::string("utf-8: \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
                        std::string("nul\0inside", 10)}) {
    EXPECT_EQ(Str(s), json(s).dump()) << s;
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    // Random valid UTF-8: ASCII (control characters included) and a few
    // two-, three- and four-byte code points.
    std::string s;
    for (int k = rng() % 20; k > 0; --k) {
      switch (rng() % 4) {
        case 0:
          s.push_back(static_cast<char>(rng() % 0x80));
          break;
        case 1:
          s += "\xc3\xa9";
          break;
        case 2:
          s += "\xe4\xb8\xad";
          break;
        default:
          s += "\xf0\x9f\x8e\x89";
          break;
      }
    }
    ASSERT_EQ(Str(s), json(s).dump()) << i;
  }
}

TEST(JsonTextTest, BytesThatAreNotUtf8BecomeTheReplacementCharacter) {
  EXPECT_EQ(Str("a\xff"
                "b"),
            "\"a\xef\xbf\xbd"
            "b\"");
  EXPECT_EQ(Str("\xc3"), "\"\xef\xbf\xbd\"");                                  // cut short
  EXPECT_EQ(Str("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");  // a surrogate
  EXPECT_EQ(Str("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");                  // overlong
  // The result is always valid JSON.
  EXPECT_FALSE(json::parse(Str("x\xfe\xff\xc3(y"), nullptr, false).is_discarded());
}

TEST(JsonTextTest, DoublesAreWrittenAsNlohmannWritesThem) {
  for (double d :
       {0.0, -0.0, 1.0, -1.0, 0.1, 1e-05, 1e-4, 123456789.0, 1e15, 1e16, 1e21, 1e300, 5e-324,
        0.9906442466474564, 3.141592653589793, -2.5e-7, std::numeric_limits<double>::max()}) {
    EXPECT_EQ(Dbl(d), json(d).dump()) << d;
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    if (!std::isfinite(d)) continue;
    ASSERT_EQ(Dbl(d), json(d).dump()) << bits;
    ASSERT_EQ(json::parse(Dbl(d)).get<double>(), d);
  }
  EXPECT_EQ(Dbl(std::nan("")), "null");
  EXPECT_EQ(Dbl(INFINITY), "null");
}

TEST(JsonTextTest, PrettyTextIsWhatDumpTwoWrites) {
  for (const char* text :
       {R"({})", R"([])", R"(1)", R"("s")", R"({"a":1})", R"([1,2,[],{}])",
        R"({"b":{"c":[1,{"d":"x,y:z{}[]"}],"e":{}},"a":[],"q":"say \"hi\", ok"})",
        R"([[[1]],{"k":[{"z":null,"t":true}]}])"}) {
    json v = json::parse(text);
    EXPECT_EQ(Pretty(v.dump()), v.dump(2)) << text;
  }
  // At a deeper level, as inside an array of runs.
  std::string out;
  AppendPrettyJson(R"({"a":[1]})", 2, 1, &out);
  EXPECT_EQ(out, "{\n    \"a\": [\n      1\n    ]\n  }");
}

TEST(JsonTextTest, MembersElementsAndEnds) {
  const std::string text = R"({"a":1,"b\"q":"x}","c":[1,{"d":2}],"e":{"f":null}})";
  std::vector<std::pair<std::string, std::string>> seen;
  EXPECT_TRUE(ForEachMember(text, [&](std::string_view k, std::string_view v) {
    seen.emplace_back(std::string(k), std::string(v));
    return true;
  }));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[1].first, "b\"q");
  EXPECT_EQ(seen[1].second, "\"x}\"");
  EXPECT_EQ(seen[2].second, R"([1,{"d":2}])");
  EXPECT_EQ(seen[3].second, R"({"f":null})");
  size_t n = 0;
  EXPECT_TRUE(ForEachElement(seen[2].second, [&](size_t i, std::string_view v) {
    EXPECT_EQ(i, n++);
    return true;
  }));
  EXPECT_EQ(n, 2u);
  EXPECT_FALSE(ForEachMember("[1]", [](std::string_view, std::string_view) { return true; }));
  EXPECT_FALSE(ForEachMember(R"({"a":)", [](std::string_view, std::string_view) { return true; }));
  EXPECT_EQ(SkipJsonValue(R"("unterminated)", 0), std::string_view::npos);
  std::string u;
  EXPECT_TRUE(UnescapeJsonString(R"("\u00e9\ud83d\ude00\n")", &u));
  EXPECT_EQ(u, "\xc3\xa9\xf0\x9f\x98\x80\n");
}

TEST(JsonTextTest, PathsAreFoundAsLookupPathFindsThem) {
  const json doc = json::parse(R"({
    "lr": 0.1, "opt": {"name": "sgd", "beta": [0.9, 0.99]},
    "val.acc": 0.5, "val": {"acc": 0.7, "f1": 0.2},
    "a": {"b.c": 1, "b": {"c": 2, "d": 3}},
    "layers": [64, {"units": 32}], "e": {}
  })");
  const std::string text = doc.dump();
  for (const char* path :
       {"lr",       "opt",     "opt.name", "opt.beta", "opt.beta.1", "opt.beta.2", "val.acc",
        "val.f1",   "val",     "a.b.c",    "a.b.d",    "a.b",        "layers.0",   "layers.1.units",
        "layers.x", "missing", "lr.x",     "e",        "e.x",        "opt.",       "layers.0.",
        ".lr"}) {
    const json* want = LookupPath(doc, path);
    std::string_view found;
    const bool have = FindJsonPath(text, path, &found);
    EXPECT_EQ(have, want != nullptr) << path;
    if (have && want != nullptr) {
      EXPECT_EQ(json::parse(found), *want) << path;
    }
  }
}

}  // namespace
}  // namespace lumodb

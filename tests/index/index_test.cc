// Tests for engine/src/index.cc: key layouts, order-preserving field values,
// open as writer or as a read-only secondary.
#include "index/index.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "index/filter.h"
#include "journal/markers.h"
#include "test_util.h"

namespace lumodb {
namespace {

std::string Enc(const nlohmann::json& v) {
  std::string out;
  EXPECT_TRUE(EncodeFieldValue(v, &out)) << v.dump();
  return out;
}

TEST(IndexKeysTest, NumbersSortByValue) {
  std::vector<double> values = {-1e300, -3.5, -1, -1e-9, 0, 1e-9, 0.1, 1, 2, 10, 1e300};
  std::vector<std::string> encoded;
  for (double v : values) encoded.push_back(Enc(v));
  EXPECT_TRUE(std::is_sorted(encoded.begin(), encoded.end()));
  for (double v : values) EXPECT_EQ(DecodeFieldValue(Enc(v)).get<double>(), v);
}

TEST(IndexKeysTest, RandomNumbersKeepTheirOrder) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  for (int i = 0; i < 1000; ++i) {
    double a = dist(rng), b = dist(rng);
    EXPECT_EQ(a < b, Enc(a) < Enc(b)) << a << " " << b;
  }
}

TEST(IndexKeysTest, EveryTypeSortsAsCompareJson) {
  std::vector<nlohmann::json> values = {
      nullptr, false, true, -2.5, 0, 3, 1e10, "", "a", "ab", "b",
      std::string("a\0b", 3), nlohmann::json::array({1}), nlohmann::json::array({2}),
      nlohmann::json::parse(R"({"a":1})"), nlohmann::json::parse(R"({"b":0})")};
  for (const auto& a : values) {
    for (const auto& b : values) {
      int c = CompareJson(a, b);
      std::string ea = Enc(a), eb = Enc(b);
      EXPECT_EQ(c < 0, ea < eb) << a.dump() << " vs " << b.dump();
      EXPECT_EQ(c == 0, ea == eb) << a.dump() << " vs " << b.dump();
    }
  }
  EXPECT_EQ(DecodeFieldValue(Enc("sgd")), "sgd");
  EXPECT_EQ(DecodeFieldValue(Enc(true)), true);
  EXPECT_EQ(DecodeFieldValue(Enc(false)), false);
  EXPECT_EQ(DecodeFieldValue(Enc(nlohmann::json::array({1, 2}))),
            nlohmann::json::array({1, 2}));
}

TEST(IndexKeysTest, NanSortsBelowEveryNumber) {
  double nan = std::nan("");
  EXPECT_LT(Enc(nan), Enc(-std::numeric_limits<double>::infinity()));
  EXPECT_LT(CompareJson(nlohmann::json(nan), nlohmann::json(-1e308)), 0);
}

TEST(IndexKeysTest, FieldKeySplitsEvenWhenTheValueHoldsNul) {
  // 0.0 encodes with NUL bytes inside the value.
  std::string value = Enc(0.0);
  ASSERT_NE(value.find('\0'), std::string::npos);
  std::string key = FieldKey("metrics.acc", value, "mnist.mlp", "261128.000.aat");
  std::string_view field, v, exp, test;
  ASSERT_TRUE(ParseFieldKey(key, &field, &v, &exp, &test));
  EXPECT_EQ(field, "metrics.acc");
  EXPECT_EQ(v, value);
  EXPECT_EQ(exp, "mnist.mlp");
  EXPECT_EQ(test, "261128.000.aat");
  EXPECT_FALSE(ParseFieldKey("no-nul-at-all", &field, &v, &exp, &test));
}

TEST(IndexKeysTest, RunAndSubKeys) {
  std::string_view exp, test, name;
  const std::string sub = SubKey("e", "261128.000.aat", "params");
  ASSERT_TRUE(SplitKey(sub, &exp, &test, &name));
  EXPECT_EQ(exp, "e");
  EXPECT_EQ(test, "261128.000.aat");
  EXPECT_EQ(name, "params");
  const std::string run = RunKey("e", "t");
  ASSERT_TRUE(SplitKey(run, &exp, &test, &name));
  EXPECT_EQ(test, "t");
  EXPECT_TRUE(name.empty());
}

TEST(IndexKeysTest, FlattenParamsIndexesEveryPath) {
  auto params = nlohmann::json::parse(
      R"({"lr": 0.1, "opt": {"name": "sgd", "betas": [0.9, 0.99]}, "x": null, "ok": true})");
  std::vector<std::pair<std::string, nlohmann::json>> leaves;
  FlattenParams(params, "params", &leaves);
  std::map<std::string, nlohmann::json> m(leaves.begin(), leaves.end());
  EXPECT_EQ(m.size(), 6u);
  EXPECT_EQ(m["params.lr"], 0.1);
  EXPECT_EQ(m["params.opt.name"], "sgd");
  EXPECT_EQ(m["params.opt.betas"], nlohmann::json::parse("[0.9, 0.99]"));
  EXPECT_EQ(m["params.opt"], params["opt"]);
  EXPECT_TRUE(m["params.x"].is_null());
  EXPECT_EQ(m["params.ok"], true);
  for (const auto& [path, value] : m) {
    EXPECT_EQ(*LookupPath(nlohmann::json{{"params", params}}, path), value) << path;
  }
}

TEST(MarkersTest, NamesRoundTrip) {
  std::string exp, test;
  ASSERT_TRUE(ParseMarkerName(MarkerName("a@b.c", "261128.000.aat"), &exp, &test));
  EXPECT_EQ(exp, "a@b.c");
  EXPECT_EQ(test, "261128.000.aat");
  EXPECT_FALSE(ParseMarkerName("not-a-marker", &exp, &test));
  EXPECT_FALSE(ParseMarkerName("bad@exp", &exp, &test));
}

TEST(IndexOpenTest, SecondProcessOpensReadOnly) {
  testing::TempDir dir;
  std::unique_ptr<Index> writer;
  ASSERT_TRUE(Index::Open(dir / "db", false, &writer).ok());
  EXPECT_FALSE(writer->read_only());
  rocksdb::WriteBatch batch;
  batch.Put(writer->cf(kInfo), SubKey("e", "t", "k"), "1");
  ASSERT_TRUE(writer->Write(&batch).ok());
  ASSERT_TRUE(writer->FlushAll().ok());

  // RocksDB's lock is per process too: a second open here finds it held.
  std::unique_ptr<Index> reader;
  Status s = Index::Open(dir / "db", false, &reader);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(reader->read_only());
  std::string value;
  ASSERT_TRUE(reader->Get(kInfo, SubKey("e", "t", "k"), &value).ok());
  EXPECT_EQ(value, "1");
  rocksdb::WriteBatch refused;
  refused.Put(reader->cf(kInfo), "x", "y");
  EXPECT_EQ(reader->Write(&refused).code(), Status::Code::kIllegalState);
}

TEST(IndexOpenTest, ReadOnlyOnAMissingIndexNamesThePath) {
  testing::TempDir dir;
  std::unique_ptr<Index> reader;
  Status s = Index::Open(dir / "nothing-here", true, &reader);
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_NE(s.message().find(dir / "nothing-here"), std::string::npos);
}

TEST(IndexOpenTest, ClearEmptiesEveryFamily) {
  testing::TempDir dir;
  std::unique_ptr<Index> index;
  ASSERT_TRUE(Index::Open(dir / "db", false, &index).ok());
  rocksdb::WriteBatch batch;
  for (int cf = 0; cf < kNumCf; ++cf) batch.Put(index->cf(static_cast<Cf>(cf)), "k", "v");
  ASSERT_TRUE(index->Write(&batch).ok());
  ASSERT_TRUE(index->Clear().ok());
  std::string value;
  for (int cf = 0; cf < kNumCf; ++cf) {
    EXPECT_TRUE(index->Get(static_cast<Cf>(cf), "k", &value).IsNotFound()) << cf;
  }
}

}  // namespace
}  // namespace lumodb

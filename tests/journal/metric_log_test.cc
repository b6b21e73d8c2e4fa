// Tests for engine/src/journal/metric_log.cc: the delta varints of steps
// and times, and MetricPoints tables, byte for byte as docs/format.md says.
#include "journal/metric_log.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace lumodb {
namespace {

std::string Steps(const std::vector<int64_t>& steps) {
  std::vector<SeriesPoint> points;
  for (int64_t s : steps) points.push_back({s, 0, 0});
  std::string out;
  AppendDeltaVarints(points.data(), points.size(), &SeriesPoint::step, &out);
  return out;
}

std::vector<int64_t> Decode(const std::string& bytes, size_t n, bool* ok) {
  std::vector<SeriesPoint> points(n);
  *ok = DecodeDeltaVarints(bytes, n, &SeriesPoint::step, points.data());
  std::vector<int64_t> out;
  for (const auto& p : points) out.push_back(p.step);
  return out;
}

TEST(MetricLogTest, DeltaVarintBytesAreAsDocumented) {
  // 5 -> zigzag 10; +1 -> 2; -1 -> 1; +64 -> 128 = 0x80 0x01.
  EXPECT_EQ(Steps({5, 6, 5, 69}), std::string("\x0a\x02\x01\x80\x01", 5));
  // A step that repeats costs one byte: delta 0.
  EXPECT_EQ(Steps({0, 0}), std::string("\x00\x00", 2));
}

TEST(MetricLogTest, EveryInt64SequenceRoundTrips) {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  const int64_t hi = std::numeric_limits<int64_t>::max();
  const std::vector<int64_t> steps = {0, hi, lo, -1, 1, lo, hi, 1700000000000000, -42, 0};
  const std::string bytes = Steps(steps);
  bool ok = false;
  EXPECT_EQ(Decode(bytes, steps.size(), &ok), steps);
  EXPECT_TRUE(ok);
}

TEST(MetricLogTest, MalformedVarintsAreRejected) {
  bool ok = true;
  Decode(std::string("\x80", 1), 1, &ok);  // ends inside a varint
  EXPECT_FALSE(ok);
  Decode(std::string("\x02\x02", 2), 1, &ok);  // bytes left over
  EXPECT_FALSE(ok);
  Decode(std::string("\x02", 1), 2, &ok);  // too few values
  EXPECT_FALSE(ok);
  Decode(std::string(11, '\x80') + '\x01', 1, &ok);  // longer than 10 bytes
  EXPECT_FALSE(ok);
}

TEST(MetricLogTest, MetricPointsTableRoundTrips) {
  const std::vector<SeriesPoint> in = {
      {0, 1700000000000000, 0.5}, {10, 1700000000004000, -1e300}, {5, 1700000000004000, 2}};
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(BuildMetricPoints(fbb, "acc", in.data(), in.size()));
  flatbuffers::Verifier verifier(fbb.GetBufferPointer(), fbb.GetSize());
  ASSERT_TRUE(verifier.VerifyBuffer<fbs::MetricPoints>(nullptr));
  const auto* table = flatbuffers::GetRoot<fbs::MetricPoints>(fbb.GetBufferPointer());
  EXPECT_EQ(table->key()->str(), "acc");
  EXPECT_EQ(table->values()->size(), 3u);
  std::vector<SeriesPoint> out = {{99, 99, 99}};
  ASSERT_TRUE(DecodeMetricPoints(*table, &out));
  ASSERT_EQ(out.size(), 4u);  // appended
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i + 1].step, in[i].step);
    EXPECT_EQ(out[i + 1].time_us, in[i].time_us);
    EXPECT_EQ(out[i + 1].value, in[i].value);
  }
}

TEST(MetricLogTest, ArraysThatDisagreeOnTheCountAreRejected) {
  const std::vector<SeriesPoint> in = {{0, 1, 0.5}, {1, 2, 0.6}};
  std::string steps;
  AppendDeltaVarints(in.data(), 1, &SeriesPoint::step, &steps);  // one step only
  std::string times;
  AppendDeltaVarints(in.data(), 2, &SeriesPoint::time_us, &times);
  const double values[] = {0.5, 0.6};
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fbs::CreateMetricPoints(
      fbb, fbb.CreateString("acc"),
      fbb.CreateVector(reinterpret_cast<const uint8_t*>(steps.data()), steps.size()),
      fbb.CreateVector(reinterpret_cast<const uint8_t*>(times.data()), times.size()),
      fbb.CreateVector(values, 2)));
  std::vector<SeriesPoint> out;
  EXPECT_FALSE(
      DecodeMetricPoints(*flatbuffers::GetRoot<fbs::MetricPoints>(fbb.GetBufferPointer()), &out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace lumodb

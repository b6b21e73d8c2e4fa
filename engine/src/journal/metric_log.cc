// Zigzag delta varints and MetricPoints tables (see metric_log.h).
#include "journal/metric_log.h"

namespace lumodb {

namespace {

// Zigzag maps small negative and positive differences to small unsigned
// numbers: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
inline uint64_t ZigZag(uint64_t d) { return (d << 1) ^ (0 - (d >> 63)); }
inline uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

}  // namespace

void AppendDeltaVarints(const SeriesPoint* points, size_t n, int64_t SeriesPoint::*field,
                        std::string* out) {
  // At most 10 bytes a value, written in place and cut to size after.
  const size_t old = out->size();
  out->resize(old + 10 * n);
  char* p = out->data() + old;
  uint64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t v = static_cast<uint64_t>(points[i].*field);
    uint64_t z = ZigZag(v - prev);
    prev = v;
    while (z >= 0x80) {
      *p++ = static_cast<char>(z | 0x80);
      z >>= 7;
    }
    *p++ = static_cast<char>(z);
  }
  out->resize(static_cast<size_t>(p - out->data()));
}

bool DecodeDeltaVarints(std::string_view bytes, size_t n, int64_t SeriesPoint::*field,
                        SeriesPoint* points) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  uint64_t prev = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t z = 0;
    for (int shift = 0;; shift += 7) {
      if (p == end || shift > 63) return false;
      const uint8_t b = *p++;
      z |= uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) break;
    }
    prev += UnZigZag(z);
    points[i].*field = static_cast<int64_t>(prev);
  }
  return p == end;
}

flatbuffers::Offset<fbs::MetricPoints> BuildMetricPoints(flatbuffers::FlatBufferBuilder& fbb,
                                                         std::string_view key,
                                                         const SeriesPoint* points, size_t n) {
  // Scratch kept per thread: a flush or a load builds thousands of these.
  thread_local std::string steps, times;
  steps.clear();
  times.clear();
  AppendDeltaVarints(points, n, &SeriesPoint::step, &steps);
  AppendDeltaVarints(points, n, &SeriesPoint::time_us, &times);
  double* values = nullptr;
  auto values_vec = fbb.CreateUninitializedVector(n, &values);
  for (size_t i = 0; i < n; ++i) values[i] = points[i].value;
  auto steps_vec = fbb.CreateVector(reinterpret_cast<const uint8_t*>(steps.data()), steps.size());
  auto times_vec = fbb.CreateVector(reinterpret_cast<const uint8_t*>(times.data()), times.size());
  auto key_str = key.empty() ? 0 : fbb.CreateString(key.data(), key.size());
  return fbs::CreateMetricPoints(fbb, key_str, steps_vec, times_vec, values_vec);
}

bool DecodeMetricPoints(const fbs::MetricPoints& table, std::vector<SeriesPoint>* out) {
  const auto* values = table.values();
  const size_t n = values != nullptr ? values->size() : 0;
  auto bytes = [](const flatbuffers::Vector<uint8_t>* v) {
    return v == nullptr ? std::string_view()
                        : std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
  };
  const size_t old = out->size();
  out->resize(old + n);
  SeriesPoint* points = out->data() + old;
  if (!DecodeDeltaVarints(bytes(table.steps()), n, &SeriesPoint::step, points) ||
      !DecodeDeltaVarints(bytes(table.times_us()), n, &SeriesPoint::time_us, points)) {
    out->resize(old);
    return false;
  }
  for (size_t i = 0; i < n; ++i) points[i].value = values->Get(i);
  return true;
}

}  // namespace lumodb

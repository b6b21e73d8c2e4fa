// The values of a metric's history as bytes: steps and times as zigzag
// varints of their differences, values as doubles. The journal's MetricLog
// record and the index's metric_log blocks share this encoding
// (docs/format.md, "MetricLog").
#ifndef LUMODB_JOURNAL_METRIC_LOG_H_
#define LUMODB_JOURNAL_METRIC_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "journal_generated.h"

namespace lumodb {

// One logged value of a metric. A plain aggregate without initialisers, so
// the chunks the trainer logs into need not be zeroed first: write
// SeriesPoint{} for a zero one.
struct SeriesPoint {
  int64_t step;
  int64_t time_us;
  double value;
};

// Appends the zigzag varints of v[0], v[1] - v[0], ... (differences taken
// modulo 2^64, so every int64 sequence round-trips). field picks step or
// time_us of each point.
void AppendDeltaVarints(const SeriesPoint* points, size_t n, int64_t SeriesPoint::*field,
                        std::string* out);

// Decodes exactly n values written by AppendDeltaVarints into field of
// points[0..n). False when the bytes end early, hold more, or a varint is
// longer than 10 bytes.
bool DecodeDeltaVarints(std::string_view bytes, size_t n, int64_t SeriesPoint::*field,
                        SeriesPoint* points);

// A MetricPoints table of points[0..n) (key may be empty: index blocks).
flatbuffers::Offset<fbs::MetricPoints> BuildMetricPoints(flatbuffers::FlatBufferBuilder& fbb,
                                                         std::string_view key,
                                                         const SeriesPoint* points, size_t n);

// Appends the points of a verified MetricPoints table to *out. False (and
// *out as it was) when its three arrays disagree on the count or a varint
// does not decode.
bool DecodeMetricPoints(const fbs::MetricPoints& table, std::vector<SeriesPoint>* out);

}  // namespace lumodb

#endif  // LUMODB_JOURNAL_METRIC_LOG_H_

// The metric_log column family: every metric's history, cut into blocks of
// consecutive steps, each with a summary beside it (docs/format.md,
// "RocksDB index"). Key layout, merging new values into the stored blocks,
// and reading blocks and summaries back.
#ifndef LUMODB_INDEX_SERIES_STORE_H_
#define LUMODB_INDEX_SERIES_STORE_H_

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "index/index.h"
#include "journal/metric_log.h"

namespace lumodb {

// At most this many values per block: a block read by an incremental load
// (the tail of a series) stays a few KB, and 1,000,000 values are 2,000
// keys.
constexpr size_t kSeriesBlockPoints = 512;

// exp \0 test \0 metric \0 kind step, kind 'b' (block) or 's' (summary),
// step 8 bytes big-endian with the sign bit flipped (byte order is the
// numeric order).
constexpr char kSeriesBlock = 'b';
constexpr char kSeriesSummary = 's';
std::string SeriesKey(std::string_view exp, std::string_view test, std::string_view metric,
                      char kind, int64_t step);
// The step of a series key (its last 8 bytes).
int64_t SeriesKeyStep(std::string_view key);
// The metric names that have a series, of one run, in key order.
std::vector<std::string> SeriesMetrics(Index* index, const std::string& exp,
                                       const std::string& test);

// A block's summary: enough for a downsampled read without its values.
struct BlockSummary {
  int64_t first_step = 0;  // the block's key
  uint32_t count = 0;
  SeriesPoint first{}, last{}, min{}, max{};
  bool has_min_max = false;  // false: every value is NaN
};
// Summary of points[0..n), n > 0.
BlockSummary Summarize(const SeriesPoint* points, size_t n);

// Puts the new values of one run's metrics into batch, merged into what the
// index holds: values come out in step order, one per step, and a step
// already stored takes the new value. stored: the run may already have
// blocks (else nothing is read). Reads everything before the first Put, so
// an error leaves batch as it was.
Status WriteSeries(Index* index, const std::string& exp, const std::string& test,
                   const std::map<std::string, std::vector<SeriesPoint>>& added, bool stored,
                   rocksdb::WriteBatch* batch);

// The summaries of the blocks of one metric that may hold steps in
// [min_step, max_step]: the block holding min_step (or the first) through
// the last one starting at or before max_step, in step order.
Status ReadSummaries(Index* index, const std::string& exp, const std::string& test,
                     const std::string& metric, int64_t min_step, int64_t max_step,
                     std::vector<BlockSummary>* out);
// Appends the values of the block at first_step to *out.
Status ReadBlock(Index* index, const std::string& exp, const std::string& test,
                 const std::string& metric, int64_t first_step, std::vector<SeriesPoint>* out);
// Appends the values of one metric with steps in [min_step, max_step].
Status ReadPoints(Index* index, const std::string& exp, const std::string& test,
                  const std::string& metric, int64_t min_step, int64_t max_step,
                  std::vector<SeriesPoint>* out);

}  // namespace lumodb

#endif  // LUMODB_INDEX_SERIES_STORE_H_

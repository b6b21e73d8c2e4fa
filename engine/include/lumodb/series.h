// Metric history: every value dump_metric logged, with its step and time,
// as Watcher::metric_series returns it. Columnar (one array per field), so
// a caller makes numpy arrays or JSON arrays without an object per value.
#ifndef LUMODB_SERIES_H_
#define LUMODB_SERIES_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace lumodb {

struct SeriesRequest {
  // (exp_name, test_name) of each run; an empty exp_name is found from the
  // test_name alone (kAmbiguous when it names runs of several exp_names).
  std::vector<std::pair<std::string, std::string>> runs;
  // Metric keys; empty: every key of each run, in byte order.
  std::vector<std::string> keys;
  // 0: every value. Else at most about this many per series: the values
  // are cut into points/4 buckets of consecutive steps and each bucket
  // keeps its first, min, max and last value, so spikes and the global min
  // and max survive (at most max(points, 4) values).
  size_t points = 0;
  // Only values with min_step <= step <= max_step.
  int64_t min_step = std::numeric_limits<int64_t>::min();
  int64_t max_step = std::numeric_limits<int64_t>::max();
};

// One metric of one run, in step order, one value per step.
struct MetricSeries {
  std::string exp_name, test_name, key;
  std::vector<int64_t> steps;
  std::vector<int64_t> times_us;  // wall clock, µs since the epoch (UTC)
  std::vector<double> values;
  bool downsampled = false;  // fewer values than total_points
  size_t total_points = 0;   // values in the step range before downsampling
};

}  // namespace lumodb

#endif  // LUMODB_SERIES_H_

// SeriesQuery: answers Watcher::metric_series from the metric_log family:
// resolves each run (a bare test_name through by_test) and its keys, reads
// the values in the step range, and downsamples them when asked.
#ifndef LUMODB_INDEX_SERIES_QUERY_H_
#define LUMODB_INDEX_SERIES_QUERY_H_

#include <string>
#include <vector>

#include "index/index.h"
#include "lumodb/series.h"
#include "lumodb/status.h"

namespace lumodb {

class SeriesQuery {
 public:
  explicit SeriesQuery(Index* index) : index_(index) {}

  // See Watcher::metric_series.
  Status Run(const SeriesRequest& request, std::vector<MetricSeries>* out);

 private:
  // *exp: the run's exp_name, given or found from test alone.
  Status ResolveRun(const std::string& test, std::string* exp);
  // Every metric key of a run: its metrics records and its series.
  std::vector<std::string> KeysOf(const std::string& exp, const std::string& test);
  Status ReadOne(const SeriesRequest& request, MetricSeries* series);

  Index* index_;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_SERIES_QUERY_H_

// QueryEngine: answers lookups and queries from the index. A query's
// equality filters on indexed fields (status, progress.start, params.*,
// metrics.*) pick its candidate runs from the fields family, and a sort on
// an indexed field walks that family in order; every other filter and sort
// is checked on the run's JSON.
#ifndef LUMODB_INDEX_QUERY_H_
#define LUMODB_INDEX_QUERY_H_

#include <absl/container/flat_hash_set.h>

#include <string>
#include <vector>

#include "index/index.h"
#include "lumodb/watcher.h"

namespace lumodb {

class QueryEngine {
 public:
  // timezone: lumo's zone, in which time strings are shown.
  QueryEngine(Index* index, const std::string& timezone) : index_(index), timezone_(timezone) {}

  // One run as JSON; see Watcher::retrieve.
  Status Retrieve(const std::string& test_name, const std::string& exp_name, std::string* json,
                  std::vector<std::string>* candidates);
  // The runs a query selects, each as one JSON object, in order.
  Status Run(const Query& query, std::vector<std::string>* runs);
  // The exp_names that hold a run with this test_name, in key order.
  std::vector<std::string> ExpsOf(const std::string& test_name);

 private:
  // Run keys (exp_name \0 test_name), looked up by string_view without a copy.
  using RunSet = absl::flat_hash_set<std::string>;

  // Runs whose indexed value of f.field could equal f.value under
  // CompiledFilter's rules (a superset of the runs the filter accepts).
  RunSet EqualityCandidates(const Filter& f);
  // Calls fn(exp, test) for every run (of exp_name, when given) in key order.
  template <typename Fn>
  Status ScanRuns(const std::string& exp_name, Fn fn);

  Index* index_;
  const std::string& timezone_;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_QUERY_H_

// QueryEngine: lookups and bulk reads answered from the index. A read picks
// one of three ways through the index, the cheapest for the query:
//
//   candidates  equality filters on indexed fields (status, progress.start,
//               params.*, metrics.*) name few runs: those are read by key;
//   walk        a small limit on an indexed sort field: the fields family is
//               walked in order, and the walk stops once the page is full;
//   scan        every run in key order, the families side by side
//               (RunScanner); a sort other than the key order keeps only
//               the sort keys in memory and the rendered rows in a Spill.
//
// Rows reach the visitor as they are made: no JSON tree per run, no buffer
// of all runs. Only the families the columns, filters and sort need are
// read.
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
  Status Retrieve(const std::string& test_name, const std::string& exp_name, bool raw,
                  std::string* json, std::vector<std::string>* candidates);
  // See Watcher::read.
  Status Read(const Query& query, const ReadOptions& options, const RowVisitor& visit,
              ReadStats* stats);
  // The runs a query selects, each as one JSON object, in order.
  Status Run(const Query& query, std::vector<std::string>* runs);
  // The exp_names that hold a run with this test_name, in key order.
  std::vector<std::string> ExpsOf(const std::string& test_name);
  // See Watcher::changed_runs.
  Status Changed(int64_t after, std::vector<RunName>* runs, int64_t* latest);

 private:
  // Run keys (exp_name \0 test_name), looked up by string_view without a copy.
  using RunSet = absl::flat_hash_set<std::string>;
  struct Plan;

  // Runs whose indexed value of f.field could equal f.value under
  // CompiledFilter's rules (a superset of the runs the filter accepts).
  RunSet EqualityCandidates(const Filter& f);
  Status ReadCandidates(Plan& plan, const RunSet& candidates);
  Status ReadWalk(Plan& plan, const RunSet* candidates);
  Status ReadScan(Plan& plan, const RunSet* candidates);

  Index* index_;
  const std::string& timezone_;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_QUERY_H_

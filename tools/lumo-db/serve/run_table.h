// RunTable: the dashboard's in-memory view of the runs table, so that a
// page of 100 rows out of 100,000 runs, filtered and sorted, is answered in
// a few milliseconds instead of a scan of the index per request.
//
// It keeps, for every run of the index, its names, and for each field a
// filter or sort has named (a "column"), every run's value, read from the
// index once through Watcher::read and kept current through the change
// feed (Watcher::changed_runs). A filter is evaluated over a column once per
// column version and kept as a bitmap; a sort is one permutation of all
// runs per field and direction, kept likewise. What comes out is the same
// as `lumo-db query` gives for the same filters and sort: the same
// CompiledFilter, the same order-preserving sort keys (runs without the
// field last, ties in key order).
//
// Not thread-safe: the server calls it under the lock that also guards the
// Watcher.
#ifndef LUMODB_TOOLS_SERVE_RUN_TABLE_H_
#define LUMODB_TOOLS_SERVE_RUN_TABLE_H_

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <string>
#include <vector>

#include "index/filter.h"
#include "lumodb/watcher.h"

namespace lumodb::cli {

struct TableRequest {
  std::vector<Filter> filters;
  std::string sort_field;  // empty: progress.start, newest first
  bool descending = false;
  size_t offset = 0;
  size_t limit = 100;
  // Rows ordered by exp_name first; counts per exp_name.
  bool group = false;
  std::set<std::string> collapsed;  // with group: exp_names left out of the rows
};

struct TableGroup {
  std::string exp_name;
  size_t count = 0;
};

struct TablePage {
  size_t total = 0;            // matching runs outside collapsed groups
  std::vector<RunName> runs;   // the page, in order
  std::vector<TableGroup> groups;  // with group: every exp_name that matches
};

class RunTable {
 public:
  explicit RunTable(Watcher* watcher) : watcher_(watcher) {}

  // Brings the table up to date with the index: the runs written since the
  // last call (all of them the first time, or after a reindex).
  Status Refresh();
  // Reads these fields' columns now (a warm-up, so that first requests
  // need not).
  Status Preload(const std::vector<std::string>& fields);
  // The runs of one page.
  Status Page(const TableRequest& request, TablePage* out);
  // Every matching run in order (at most limit), with these fields' values
  // (JSON, null when absent): one row per run, names first.
  Status Values(const TableRequest& request, const std::vector<std::string>& fields, size_t limit,
                size_t* total, std::vector<nlohmann::json>* rows);

  size_t size() const { return runs_.size(); }
  // Fields whose columns are held (for the warm-up of a later start).
  std::vector<std::string> ColumnNames() const;

 private:
  struct Cell {
    nlohmann::json value;  // the run's value (null when absent)
    std::string key;       // EncodeFieldValue's order-preserving bytes
    bool absent = true;
  };
  struct Column {
    std::vector<Cell> cells;  // by run id
    uint64_t version = 0;     // bumped whenever a cell changes
  };
  struct Run {
    std::string exp_name, test_name;
    uint32_t exp_id = 0;
  };
  struct Bitmap {
    std::vector<bool> bits;
    uint64_t version = 0;
    size_t runs = 0;
  };
  struct Order {
    std::vector<uint32_t> ids;
    uint64_t version = 0;
    size_t runs = 0;
  };

  Status Rebuild();
  Status ReadColumns(const std::vector<std::string>& fields, const std::vector<RunName>* only);
  // The column of a field, read first if not held. Reading may add runs
  // (written since the last Refresh): orders and bitmaps are made after
  // every column a request needs is held.
  Column* ColumnOf(const std::string& field, Status* status);
  // Drops columns and bitmaps beyond the limits, at the start of a request
  // (never while it holds them).
  void Trim();
  uint32_t AddRun(const std::string& exp, const std::string& test);
  // The run ids that match, in the request's order (group: exp_name first).
  Status Select(const TableRequest& request, std::vector<uint32_t>* ids,
                std::vector<size_t>* exp_counts);
  // rank_: each run's place in key order (exp_name \0 test_name).
  void RankRuns();
  const std::vector<uint32_t>& OrderOf(const std::string& field, bool descending, Status* s);
  const std::vector<bool>& BitmapOf(const CompiledFilter& filter, Status* s);

  Watcher* watcher_;
  int64_t stamp_ = -1;  // the change feed's newest stamp seen; -1: never read
  std::vector<Run> runs_;
  absl::flat_hash_map<std::string, uint32_t> by_key_;  // RunKey -> id
  std::vector<std::string> exp_names_;                 // by exp id
  absl::flat_hash_map<std::string, uint32_t> exp_ids_;
  absl::flat_hash_map<std::string, std::unique_ptr<Column>> columns_;
  // Pointer-stable maps: a request holds several entries at once.
  std::unordered_map<std::string, Order> orders_;    // field + direction
  std::unordered_map<std::string, Bitmap> bitmaps_;  // filter text
  std::set<std::string> preloaded_;  // kept by Trim
  uint64_t names_version_ = 0;  // bumped when runs are added
  std::vector<uint32_t> rank_;
  uint64_t rank_version_ = ~uint64_t{0};
};

}  // namespace lumodb::cli

#endif  // LUMODB_TOOLS_SERVE_RUN_TABLE_H_

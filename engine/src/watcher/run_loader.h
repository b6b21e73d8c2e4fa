// LoadRun: brings one run's records in the index up to date with its
// journal, reading only the bytes after the offset already applied, and
// derives whether a silent run was killed.
#ifndef LUMODB_RUN_LOADER_H_
#define LUMODB_RUN_LOADER_H_

#include <cstdint>
#include <map>
#include <string>

#include <rocksdb/write_batch.h>

#include "index/index.h"
#include "index_generated.h"
#include "journal/metric_log.h"
#include "journal/reader.h"
#include "lumodb/options.h"
#include "lumodb/watcher.h"

namespace lumodb {

struct RunLoadContext {
  std::string exp_name;
  std::string test_name;
  std::string info_root;
  std::string timezone;
  bool fresh = false;          // the index holds nothing of this run yet
  bool has_marker = false;     // found through an active marker
  int64_t marker_mtime_us = 0;  // the heartbeat
  int64_t now_us = 0;
  int heartbeat_timeout_s = 60;
  int marker_retire_s = 600;
};

// What a load changes besides the run record itself.
struct RunChanges {
  std::map<std::string, std::string> info;  // key -> compact JSON
  std::map<std::string, std::string> text;
  std::map<std::string, fbs::MetricRecordT> metrics;
  // Logged values per metric key, in journal order (metric history).
  std::map<std::string, std::vector<SeriesPoint>> series;
  nlohmann::json hook_errors;  // appended to the stored list
};

// The compact JSON text the index keeps for an info value: nlohmann's own
// dump of it, so that readers copy it into their output as it is (a text
// that is not JSON becomes a JSON string).
std::string CanonicalJson(std::string_view text);

// Puts a run's record and changes into batch, with every derived key
// (fields, by_test, reruns, the metric history). previous_status: the
// stored record's status, null for a run new to the index; had_start: the
// stored record had one; rec.changed_us: the stored record's change-feed
// stamp (0 for a new run), replaced by a new one. An error (reading stored
// history) leaves batch as it was.
Status WriteRun(Index* index, const std::string& timezone, fbs::RunRecordT& rec,
                const RunChanges& changes, const fbs::Status* previous_status,
                bool had_start, rocksdb::WriteBatch* batch);

// Adds the run's changes to batch (nothing when it is up to date, nothing
// when it returns an error: every read happens before the first Put). Sets
// *retire_marker when the run has ended and its marker is old enough.
Status LoadRun(Index* index, const RunLoadContext& ctx,
               JournalReporter* reporter, rocksdb::WriteBatch* batch,
               LoadStats* stats, bool* retire_marker);

// Whether LoadRun would change anything: new journal bytes, a run whose
// process is gone, a marker due to retire. Reads, never writes.
bool RunNeedsLoad(Index* index, const RunLoadContext& ctx);

}  // namespace lumodb

#endif  // LUMODB_RUN_LOADER_H_

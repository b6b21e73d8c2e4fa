// LoadRun: brings one run's records in the index up to date with its
// journal, reading only the bytes after the offset already applied, and
// derives whether a silent run was killed.
#ifndef LUMODB_RUN_LOADER_H_
#define LUMODB_RUN_LOADER_H_

#include <cstdint>
#include <string>

#include <rocksdb/write_batch.h>

#include "index.h"
#include "journal_reader.h"
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

// Adds the run's changes to batch (nothing when it is up to date, nothing
// when it returns an error: every read happens before the first Put). Sets
// *retire_marker when the run has ended and its marker is old enough.
Status LoadRun(Index* index, const RunLoadContext& ctx,
               JournalReporter* reporter, rocksdb::WriteBatch* batch,
               LoadStats* stats, bool* retire_marker);

// Whether LoadRun would change anything: new journal bytes, a run whose
// process is gone, a marker due to retire. Reads, never writes.
bool RunNeedsLoad(Index* index, const RunLoadContext& ctx);

const char* StatusName(int status);

}  // namespace lumodb

#endif  // LUMODB_RUN_LOADER_H_

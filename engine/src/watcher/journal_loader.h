// JournalLoader: the incremental load. Lists the active-run markers under
// <info_root>/.lumodb/active/ and, for each marked run, applies the journal
// records the index has not applied yet (docs/format.md, "Run folder and
// active-run markers"); a load when nothing changed reads one folder.
#ifndef LUMODB_WATCHER_JOURNAL_LOADER_H_
#define LUMODB_WATCHER_JOURNAL_LOADER_H_

#include <cstdint>
#include <string>

#include "index/index.h"
#include "lumodb/watcher.h"
#include "watcher/run_loader.h"
#include "watcher/warnings.h"

namespace lumodb {

// What loading journals needs to know of the Watcher's setup.
struct LoadSettings {
  std::string info_root;
  std::string timezone;
  int heartbeat_timeout_s = 60;
  int marker_retire_s = 600;

  // A context for one run, loaded at time now_us; names left empty.
  RunLoadContext Context(int64_t now_us) const;
};

class JournalLoader {
 public:
  JournalLoader(Index* index, const LoadSettings& settings, Warnings* warnings)
      : index_(index), settings_(settings), warnings_(warnings) {}

  // Whether a load would change anything (new journal bytes, a process
  // gone, a marker due to retire). Reads, never writes.
  Status AnyToLoad(LoadStats* stats, bool* needed);
  // Applies the new records of every marked run, one WriteBatch per run,
  // and retires the markers of runs that ended long enough ago. A run that
  // cannot be read is warned about and skipped.
  Status Load(LoadStats* stats);

 private:
  // Calls fn(context, marker path) for each active-run marker.
  template <typename Fn>
  Status ForEachMarker(LoadStats* stats, Fn fn);
  Status LoadOne(const RunLoadContext& ctx, const std::string& marker, LoadStats* stats);

  Index* index_;
  const LoadSettings& settings_;
  Warnings* warnings_;
};

}  // namespace lumodb

#endif  // LUMODB_WATCHER_JOURNAL_LOADER_H_

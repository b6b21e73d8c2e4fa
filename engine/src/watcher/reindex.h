// Reindex: the index rebuilt from the journals alone. The new database is
// built aside (<index>.reindex, tuned for a bulk load), then swapped in, so
// a reindex that fails or dies leaves the old index as it was
// (docs/format.md, "RocksDB index").
#ifndef LUMODB_WATCHER_REINDEX_H_
#define LUMODB_WATCHER_REINDEX_H_

#include <memory>

#include "index/index.h"
#include "lumodb/watcher.h"
#include "watcher/journal_loader.h"
#include "watcher/warnings.h"

namespace lumodb {

// Loads every <info_root>/<exp_name>/<test_name>/journal into target, in
// batches written without the WAL. Markers of runs that ended long ago are
// retired, as a load would. progress (may be empty) is told (journals
// read, journals found) every 512 runs and at the end.
Status BuildFromJournals(Index* target, const LoadSettings& settings, Warnings* warnings,
                         LoadStats* stats, const Progress& progress);

// Builds a fresh index beside *index, closes *index, swaps the new one
// into its path and reopens it for writing into *index. *index must be the
// writer. Imported lumo trees are not read here: the caller re-imports them.
Status RebuildIndex(const LoadSettings& settings, Warnings* warnings, std::unique_ptr<Index>* index,
                    LoadStats* stats, const Progress& progress);

}  // namespace lumodb

#endif  // LUMODB_WATCHER_REINDEX_H_

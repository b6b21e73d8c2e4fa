// Reindex: the index rebuilt from the journals alone. The new database is
// built aside (<index>.reindex, tuned for a bulk load), then swapped in, so
// a reindex that fails or dies leaves the old index as it was
// (docs/format.md, "RocksDB index").
#ifndef LUMODB_WATCHER_REINDEX_H_
#define LUMODB_WATCHER_REINDEX_H_

#include <functional>
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

// Builds the next generation of the index beside the current one, from
// every journal; lets also (may be empty) add to it (the Watcher imports
// the registered lumo trees again), then makes it the current one: readers
// go on with the old generation until they reopen. writer must hold the
// writer lock. A failure leaves the current generation as it was.
Status RebuildIndex(const LoadSettings& settings, Warnings* warnings, Index* writer,
                    LoadStats* stats, const Progress& progress,
                    const std::function<Status(Index* fresh)>& also);

}  // namespace lumodb

#endif  // LUMODB_WATCHER_REINDEX_H_

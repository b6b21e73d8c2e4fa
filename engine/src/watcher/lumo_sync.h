// LumoSync: imported lumo trees, kept in step. An import reads lumo's run
// folders read-only into the index and registers the tree as a source
// (meta "lumo_source"); each later load re-reads the runs of registered
// trees that have a lumo heartbeat marker or were left running, when their
// files changed (docs/format.md, "Imported lumo runs").
#ifndef LUMODB_WATCHER_LUMO_SYNC_H_
#define LUMODB_WATCHER_LUMO_SYNC_H_

#include <string>
#include <vector>

#include "index/index.h"
#include "lumodb/options.h"
#include "lumodb/watcher.h"
#include "watcher/warnings.h"

namespace lumodb {

// A registered lumo tree: the whole info_root, one exp_name folder of it
// ("exp") or one run folder ("exp/test"), as the import named it.
struct LumoSource {
  std::string info_root, cache_root, scope;
  std::string path() const { return scope.empty() ? info_root : info_root + "/" + scope; }
  bool Covers(const std::string& exp, const std::string& test) const {
    return scope.empty() || scope == exp || scope == exp + "/" + test;
  }
};

class LumoSync {
 public:
  // roots: the Watcher's (the configured tree's cache root, lumo's zone).
  LumoSync(Index* index, const Roots& roots, Warnings* warnings)
      : index_(index), roots_(roots), warnings_(warnings) {}

  // The trees registered by earlier imports.
  std::vector<LumoSource> Sources();
  // Whether a run of a registered tree changed since it was read (reads
  // only: the lazy reader's check).
  Status AnyChanged(bool* changed);
  // Reads the changed runs of the registered trees into the index (a load).
  Status Refresh();
  // Imports trees (lumo homes, info_roots, exp_name folders or run folders)
  // and registers each as a source. Every path is resolved before anything
  // is written.
  Status Import(const std::vector<std::string>& paths, const ImportOptions& options,
                ImportReport* report);

 private:
  struct PreparedRun;

  // Decides whether the run changed since it was imported and, when it did
  // and read is set, reads it. Only reads: safe from several threads.
  void Prepare(PreparedRun* p, bool read);
  // Puts a prepared run into batch and counts it in report (or warns).
  Status Commit(PreparedRun* p, ImportReport* report, rocksdb::WriteBatch* batch);
  // Runs that may have changed since the last load, ready for Prepare:
  // those with a heartbeat marker in a registered tree's cache, and those
  // indexed as running.
  Status Candidates(std::vector<PreparedRun>* out);

  Index* index_;
  const Roots& roots_;
  Warnings* warnings_;
};

}  // namespace lumodb

#endif  // LUMODB_WATCHER_LUMO_SYNC_H_

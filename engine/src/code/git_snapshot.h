// Git snapshot: commits the working tree as it is on disk (tracked files
// with their unstaged edits, untracked files that .gitignore keeps) to a
// branch of its own, leaving the user's HEAD, index, branch and files alone.
// docs/format.md ("Git snapshots") describes the private index and the
// record this returns.
#ifndef LUMODB_SRC_GIT_SNAPSHOT_H_
#define LUMODB_SRC_GIT_SNAPSHOT_H_

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "lumodb/status.h"

namespace lumodb {

struct GitSnapshotOptions {
  // The snapshot branch (lumo's dev_branch), under refs/heads/.
  std::string branch = "lumo_experiments";
  // Files changed since the last snapshot and larger than this are left out
  // of the snapshot and listed in "skipped".
  int64_t max_file_bytes = int64_t{10} << 20;
  // At most this many paths in "changed" (and in "skipped").
  size_t max_changed = 1000;
  // The snapshot commit's message (the hook puts the run's info_dir in it).
  std::string message = "lumo-db snapshot";
  // How long to wait for another snapshot of the same work tree to release
  // the private index; after that the snapshot is taken from a read-only
  // view of it (correct, but it re-hashes what changed since it was saved).
  int index_wait_ms = 10000;
  // How long to retry while the branch is locked by another git process or
  // moved by another snapshot.
  int branch_wait_ms = 3000;
};

// Snapshots the git work tree that holds work_dir and fills *record with the
// run's "git" key: commit, repo, snapshot, tree, branch, head, head_branch,
// dirty, changed, changed_truncated, skipped, submodules, reused, and
// branch_error when the commit could not be put on the branch. When no
// snapshot can be taken (not a repository, a bare one, an unreadable object
// store) the record holds "error" (and "repo" when known) and the returned
// status says the same; nothing is ever written to the user's index, HEAD
// or branches.
Status TakeGitSnapshot(const std::string& work_dir,
                       const GitSnapshotOptions& options, nlohmann::json* record);

}  // namespace lumodb

#endif  // LUMODB_SRC_GIT_SNAPSHOT_H_

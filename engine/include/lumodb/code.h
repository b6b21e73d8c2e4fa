// Code retrieval: the code a run ran, read back from the git snapshot its
// `git` record names. Resolve the snapshot commit, write its files into a
// folder or a tar archive, or diff it against another run's snapshot or the
// repository's working tree.
//
//   std::string run;                      // Watcher::retrieve(test_name, ...)
//   lumodb::CodeSnapshot snap;
//   Status s = lumodb::ResolveCodeSnapshot(run, "", &snap);
//   if (s.ok()) s = lumodb::ArchiveCode(snap, "/tmp/code.tar", nullptr);
#ifndef LUMODB_CODE_H_
#define LUMODB_CODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "lumodb/status.h"

namespace lumodb {

// A run's snapshot commit and the repository it was found in.
struct CodeSnapshot {
  std::string run;          // "exp_name/test_name", for messages
  std::string repo;         // absolute path of the repository opened
  std::string commit;       // full id (40 hex)
  std::string recorded_id;  // the id as the run recorded it (git.snapshot or git.commit)
};

// Finds the commit of a run (its JSON, as Watcher::retrieve gives it):
// git.snapshot (a full id) when present, else git.commit as an id prefix
// (lumo records 8 hex characters), in the repository at repo_override when
// it is not empty, else at git.repo. Errors name the run and what to try:
//   NotFound     no git record, a git record with an error and no commit,
//                no git.repo, a repository path that is missing or is not
//                a git repository, an id the repository does not hold
//   Ambiguous    a short id that names several objects
//   Corruption   run JSON or a recorded id that cannot be read
Status ResolveCodeSnapshot(const std::string& run_json, const std::string& repo_override,
                           CodeSnapshot* out);

struct ArchiveResult {
  size_t files = 0;    // regular files and symlinks written
  uint64_t bytes = 0;  // their content bytes
  // Entries not written, each "path: why" (submodules: their commit, which
  // lives in another repository; an empty folder stands in their place).
  std::vector<std::string> skipped;
};

// Writes the files of the snapshot's tree into out: a folder, or a POSIX
// tar archive (ustar, pax headers for long names) when out ends in ".tar".
// Executable or not as git recorded it (a folder gets 0777 or 0666 less
// the umask, a tar 0755 or 0644 and the commit's time), symlinks as
// symlinks. out must not exist, or be an empty folder (for a folder); its
// parent must exist. The archive is built under a temporary name beside out
// and renamed into place when complete, so a failure leaves no out behind.
// result may be null.
Status ArchiveCode(const CodeSnapshot& snapshot, const std::string& out, ArchiveResult* result);

struct CodeDiff {
  std::string text;                // unified patch, or with stat the diffstat
  std::vector<std::string> files;  // changed paths (the old path of a deletion)
};

// The change from one snapshot to another, as a unified patch (git's
// "diff --git a/... b/..." format) or, with stat, a diffstat. Both commits
// must be in one repository: to.commit is looked up in from.repo.
Status DiffCode(const CodeSnapshot& from, const CodeSnapshot& to, bool stat, CodeDiff* out);
// The change from a snapshot to the working tree of from.repo as it is on
// disk: edited tracked files, deletions, and untracked files that
// .gitignore does not exclude. The repository's index is read, not written.
// A bare repository has no working tree: InvalidArgument.
Status DiffCodeWithWorkTree(const CodeSnapshot& from, bool stat, CodeDiff* out);

}  // namespace lumodb

#endif  // LUMODB_CODE_H_

// Opening a snapshot's repository and its commit, shared by code retrieval
// (code_resolve.cc, code_archive.cc, code_diff.cc).
#ifndef LUMODB_CODE_REPO_H_
#define LUMODB_CODE_REPO_H_

#include <string>

#include "code/git_util.h"
#include "lumodb/code.h"
#include "lumodb/status.h"

namespace lumodb {

// Opens the repository at path itself (a work tree root, a .git folder or
// a bare repository; folders above are not searched). whose names the
// record the path came from in errors ("git.repo of run mnist/261128...").
Status OpenCodeRepository(const std::string& path, const std::string& whose, git::Repository* out);

// The snapshot's repository and commit, opened.
Status OpenSnapshot(const CodeSnapshot& snapshot, git::Repository* repo, git::Commit* commit);

}  // namespace lumodb

#endif  // LUMODB_CODE_REPO_H_

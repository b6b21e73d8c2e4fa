// Small RAII wrappers over libgit2 handles, shared by the snapshot hook and
// code retrieval. Every function here returns lumodb::Status with libgit2's
// own message and the thing that failed.
#ifndef LUMODB_GIT_UTIL_H_
#define LUMODB_GIT_UTIL_H_

#include <git2.h>

#include <memory>
#include <string>

#include "lumodb/status.h"

namespace lumodb::git {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};

using Repository = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using Index = std::unique_ptr<git_index, Deleter<git_index, git_index_free>>;
using Tree = std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>>;
using Commit = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using Reference = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;
using Object = std::unique_ptr<git_object, Deleter<git_object, git_object_free>>;
using Signature = std::unique_ptr<git_signature, Deleter<git_signature, git_signature_free>>;
using Diff = std::unique_ptr<git_diff, Deleter<git_diff, git_diff_free>>;
using Blob = std::unique_ptr<git_blob, Deleter<git_blob, git_blob_free>>;
using Odb = std::unique_ptr<git_odb, Deleter<git_odb, git_odb_free>>;
using StatusList = std::unique_ptr<git_status_list, Deleter<git_status_list, git_status_list_free>>;
using Submodule = std::unique_ptr<git_submodule, Deleter<git_submodule, git_submodule_free>>;
using Patch = std::unique_ptr<git_patch, Deleter<git_patch, git_patch_free>>;

// libgit2's global state, initialised once per process and never shut down
// (hooks may run from several threads; shutdown at exit is not needed).
inline void Init() {
  static const int once = git_libgit2_init();
  (void)once;
}

// "<what>: <libgit2's last error>" as an IOError (or NotFound when libgit2
// says GIT_ENOTFOUND).
inline Status Error(int rc, const std::string& what) {
  const git_error* e = git_error_last();
  std::string message = what + ": " + (e != nullptr && e->message != nullptr ? e->message
                                                                            : "libgit2 error " +
                                                                                  std::to_string(rc));
  if (rc == GIT_ENOTFOUND) return Status::NotFound(message);
  return Status::IOError(message);
}

inline std::string OidHex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof(buf), oid);
  return buf;
}

}  // namespace lumodb::git

#endif  // LUMODB_GIT_UTIL_H_

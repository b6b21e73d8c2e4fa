// Diffs of code snapshots: snapshot to snapshot, or snapshot to the
// repository's working tree, as git's unified patch text or a diffstat.
#include <string>

#include "code/git_util.h"
#include "code/repo.h"
#include "lumodb/code.h"

namespace lumodb {
namespace {

int AppendLine(const git_diff_delta*, const git_diff_hunk*, const git_diff_line* line,
               void* payload) {
  auto* text = static_cast<std::string*>(payload);
  if (line->origin == GIT_DIFF_LINE_CONTEXT || line->origin == GIT_DIFF_LINE_ADDITION ||
      line->origin == GIT_DIFF_LINE_DELETION) {
    text->push_back(line->origin);
  }
  text->append(line->content, line->content_len);
  return 0;
}

Status Render(git_diff* diff, bool stat, const std::string& what, CodeDiff* out) {
  *out = CodeDiff();
  const size_t deltas = git_diff_num_deltas(diff);
  for (size_t i = 0; i < deltas; ++i) {
    const git_diff_delta* d = git_diff_get_delta(diff, i);
    out->files.push_back(d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path);
  }
  if (!stat) {
    int rc = git_diff_print(diff, GIT_DIFF_FORMAT_PATCH, AppendLine, &out->text);
    return rc == 0 ? Status::OK() : git::Error(rc, "printing the diff of " + what);
  }
  if (deltas == 0) return Status::OK();
  git_diff_stats* raw = nullptr;
  int rc = git_diff_get_stats(&raw, diff);
  if (rc != 0) return git::Error(rc, "counting the diff of " + what);
  git_buf buf = GIT_BUF_INIT;
  rc = git_diff_stats_to_buf(&buf, raw, GIT_DIFF_STATS_FULL, 80);
  if (rc == 0) out->text.assign(buf.ptr, buf.size);
  if (!out->text.empty() && out->text.back() != '\n') out->text += '\n';
  git_buf_dispose(&buf);
  git_diff_stats_free(raw);
  return rc == 0 ? Status::OK() : git::Error(rc, "counting the diff of " + what);
}

Status CommitTree(git_commit* commit, const std::string& id, git::Tree* out) {
  git_tree* raw = nullptr;
  int rc = git_commit_tree(&raw, commit);
  if (rc != 0) return git::Error(rc, "reading the tree of commit " + id);
  out->reset(raw);
  return Status::OK();
}

}  // namespace

Status DiffCode(const CodeSnapshot& from, const CodeSnapshot& to, bool stat, CodeDiff* out) {
  git::Repository repo;
  git::Commit from_commit;
  Status s = OpenSnapshot(from, &repo, &from_commit);
  if (!s.ok()) return s;
  git_oid oid;
  git_commit* raw = nullptr;
  int rc = git_oid_fromstr(&oid, to.commit.c_str());
  if (rc == 0) rc = git_commit_lookup(&raw, repo.get(), &oid);
  git::Commit to_commit(raw);
  if (rc != 0) {
    return Status::NotFound("commit " + to.commit + " of run " + to.run + " is not in " +
                            from.repo + " (the repository of run " + from.run +
                            "); pass --repo DIR naming a clone that holds both");
  }
  git::Tree from_tree, to_tree;
  s = CommitTree(from_commit.get(), from.commit, &from_tree);
  if (s.ok()) s = CommitTree(to_commit.get(), to.commit, &to_tree);
  if (!s.ok()) return s;

  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  git_diff* diff_raw = nullptr;
  const std::string what = from.run + " and " + to.run;
  rc = git_diff_tree_to_tree(&diff_raw, repo.get(), from_tree.get(), to_tree.get(), &options);
  git::Diff diff(diff_raw);
  if (rc != 0) return git::Error(rc, "diffing the snapshots of " + what);
  return Render(diff.get(), stat, what, out);
}

Status DiffCodeWithWorkTree(const CodeSnapshot& from, bool stat, CodeDiff* out) {
  git::Repository repo;
  git::Commit commit;
  Status s = OpenSnapshot(from, &repo, &commit);
  if (!s.ok()) return s;
  if (git_repository_is_bare(repo.get())) {
    return Status::InvalidArgument("repository " + from.repo +
                                   " is bare: it has no working tree to diff run " + from.run +
                                   " against");
  }
  git::Tree tree;
  s = CommitTree(commit.get(), from.commit, &tree);
  if (!s.ok()) return s;

  // The work tree as it is on disk, untracked files that .gitignore does
  // not exclude included; the index is only read (no GIT_DIFF_UPDATE_INDEX).
  git_diff_options options = GIT_DIFF_OPTIONS_INIT;
  options.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
                  GIT_DIFF_SHOW_UNTRACKED_CONTENT | GIT_DIFF_INCLUDE_TYPECHANGE;
  git_diff* raw = nullptr;
  const std::string what = "run " + from.run + " and the working tree of " + from.repo;
  int rc = git_diff_tree_to_workdir(&raw, repo.get(), tree.get(), &options);
  git::Diff diff(raw);
  if (rc != 0) return git::Error(rc, "diffing " + what);
  return Render(diff.get(), stat, what, out);
}

}  // namespace lumodb

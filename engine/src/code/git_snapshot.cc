// TakeGitSnapshot: a private index of lumo-db's own, brought up to date with
// the work tree (stat data spares unchanged files), written as a tree and
// committed on the snapshot branch by compare-and-swap.
#include "code/git_snapshot.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <random>
#include <thread>
#include <vector>

#include <git2/sys/repository.h>

#include "code/git_util.h"
#include "util/parallel.h"

namespace lumodb {

namespace {

using Json = nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A few milliseconds, different in each process, so racing snapshots do not
// retry in step.
void Backoff() {
  thread_local std::minstd_rand rng(static_cast<unsigned>(getpid()) * 7919u +
                                    static_cast<unsigned>(NowMs()));
  std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 4500));
}

// An exclusive flock on a file that is never deleted (deleting it would let
// two processes hold locks on two different files of the same name).
class FileLock {
 public:
  FileLock() = default;
  ~FileLock() { Release(); }
  void Release() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
    fd_ = -1;
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // True once held; false after wait_ms or on an error.
  bool Acquire(const std::string& path, int wait_ms) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return false;
    const int64_t deadline = NowMs() + wait_ms;
    for (;;) {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
      if (errno != EWOULDBLOCK && errno != EINTR) break;
      if (NowMs() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ::close(fd_);
    fd_ = -1;
    return false;
  }

 private:
  int fd_ = -1;
};

// Copies from to to and gives the copy from's modification time: libgit2
// trusts an entry's stat data only when the file is older than the index,
// so the copy must not look newer than the original ("racy git").
bool CopyKeepingMtime(const std::string& from, const std::string& to) {
  struct stat sb;
  if (::stat(from.c_str(), &sb) != 0) return false;
  {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    if (!in || !out) return false;
    out << in.rdbuf();
    if (!out.flush()) return false;
  }
  struct timespec times[2] = {sb.st_atim, sb.st_mtim};
  return ::utimensat(AT_FDCWD, to.c_str(), times, 0) == 0;
}

// Why path must stay out of the snapshot, or "" when it may go in.
std::string SkipReason(const std::string& path, int64_t max_bytes) {
  struct stat sb;
  if (::lstat(path.c_str(), &sb) != 0) return "";  // gone or a directory: libgit2 decides
  if (!S_ISREG(sb.st_mode)) return "";
  if (sb.st_size > max_bytes) return "larger than " + std::to_string(max_bytes) + " bytes";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string("unreadable: ") + std::strerror(errno);
  ::close(fd);
  return "";
}

std::string LastGitMessage(int rc) {
  const git_error* e = git_error_last();
  return e != nullptr && e->message != nullptr ? e->message
                                               : "libgit2 error " + std::to_string(rc);
}

class Snapshotter {
 public:
  Snapshotter(const GitSnapshotOptions& options, Json* record)
      : options_(options), record_(*record) {}

  Status Run(const std::string& work_dir) {
    Status s = Open(work_dir);
    if (s.ok()) s = ReadHead();
    if (s.ok()) s = LoadIndex();
    if (s.ok()) s = UpdateIndex();
    if (s.ok()) s = Describe();
    if (s.ok()) s = CommitOnBranch();
    return s;
  }

 private:
  Status Open(const std::string& work_dir) {
    const std::string ref = "refs/heads/" + options_.branch;
    int valid = 0;
    if (options_.branch.empty() || git_reference_name_is_valid(&valid, ref.c_str()) < 0 ||
        !valid) {
      return Status::InvalidArgument("invalid snapshot branch name '" + options_.branch + "'");
    }
    branch_ref_ = ref;
    git_repository* raw = nullptr;
    int rc = git_repository_open_ext(&raw, work_dir.c_str(), 0, nullptr);
    repo_.reset(raw);
    if (rc == GIT_ENOTFOUND) return Status::NotFound("not a git repository: " + work_dir);
    if (rc < 0) return git::Error(rc, "open git repository at " + work_dir);
    if (git_repository_is_bare(repo_.get())) {
      std::string path = git_repository_path(repo_.get());
      record_["repo"] = path;
      return Status::InvalidArgument("bare git repository " + path +
                                     ": no work tree to snapshot");
    }
    workdir_ = git_repository_workdir(repo_.get());  // ends with '/'
    record_["repo"] = workdir_.substr(0, workdir_.size() - 1);
    record_["branch"] = options_.branch;
    return Status::OK();
  }

  Status ReadHead() {
    git_reference* raw = nullptr;
    int rc = git_repository_head(&raw, repo_.get());
    git::Reference head(raw);
    record_["head"] = nullptr;
    record_["head_branch"] = nullptr;
    if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
      // No commit yet: HEAD names a branch that does not exist.
      git_reference* sym = nullptr;
      if (git_reference_lookup(&sym, repo_.get(), "HEAD") == 0) {
        git::Reference holder(sym);
        if (git_reference_type(sym) == GIT_REFERENCE_SYMBOLIC) {
          std::string target = git_reference_symbolic_target(sym);
          if (target.rfind("refs/heads/", 0) == 0) target = target.substr(11);
          record_["head_branch"] = target;
          head_ref_ = git_reference_symbolic_target(sym);
        }
      }
      return Status::OK();
    }
    if (rc < 0) return git::Error(rc, "read HEAD of " + workdir_);
    head_oid_ = *git_reference_target(head.get());
    has_head_ = true;
    record_["head"] = git::OidHex(&head_oid_);
    if (!git_repository_head_detached(repo_.get())) {
      record_["head_branch"] = git_reference_shorthand(head.get());
      head_ref_ = git_reference_name(head.get());
    }
    git_commit* commit = nullptr;
    rc = git_commit_lookup(&commit, repo_.get(), &head_oid_);
    if (rc < 0) return git::Error(rc, "read HEAD commit " + git::OidHex(&head_oid_));
    head_commit_.reset(commit);
    git_tree* tree = nullptr;
    rc = git_commit_tree(&tree, commit);
    if (rc < 0) return git::Error(rc, "read the tree of HEAD " + git::OidHex(&head_oid_));
    head_tree_.reset(tree);
    return Status::OK();
  }

  // The private index at <gitdir>/lumodb/index, under an flock on
  // <gitdir>/lumodb/index.mutex. A new one starts as a copy of the user's
  // index (its stat data spares hashing the files git already knows), else
  // as HEAD's tree.
  Status LoadIndex() {
    const std::string gitdir = git_repository_path(repo_.get());  // ends with '/'
    const std::string dir = gitdir + "lumodb";
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno("create directory", dir, errno);
    }
    index_path_ = dir + "/index";
    const std::string& path = index_path_;
    unchanged_path_ = dir + "/unchanged";
    owns_index_ = lock_.Acquire(dir + "/index.mutex", options_.index_wait_ms);
    if (owns_index_) {
      // Whoever made this lock file died while holding the flock we now own.
      ::unlink((path + ".lock").c_str());
      if (::access(path.c_str(), F_OK) != 0) CopyKeepingMtime(gitdir + "index", path);
    }
    git_index* raw = nullptr;
    int rc = git_index_open(&raw, path.c_str());
    if (rc < 0) {
      // Torn or of a format libgit2 does not read: start again from HEAD.
      if (owns_index_) ::unlink(path.c_str());
      rc = git_index_open(&raw, owns_index_ ? path.c_str() : nullptr);
      if (rc < 0) return git::Error(rc, "open index " + path);
    }
    index_.reset(raw);
    if (git_index_entrycount(raw) == 0 || git_index_has_conflicts(raw)) {
      git_index_clear(raw);
      if (head_tree_ != nullptr) {
        rc = git_index_read_tree(raw, head_tree_.get());
        if (rc < 0) return git::Error(rc, "read HEAD's tree into " + path);
      }
    }
    // The repository object is ours alone: pointing it at the private index
    // lets libgit2's add and diff use it; .git/index is never opened.
    git_repository_set_index(repo_.get(), raw);
    return Status::OK();
  }

  void Skip(const std::string& path, const std::string& reason) {
    Json& skipped = record_["skipped"];
    if (skipped.size() < options_.max_changed) {
      skipped.push_back({{"path", path}, {"reason", reason}});
    }
  }

  // The fast path's record, <gitdir>/lumodb/unchanged (unchanged_path_):
  // the private index's stat as saved, and the stat of every folder of the
  // work tree that is not ignored (a file created, removed or renamed in a
  // folder changes its mtime), taken before the last snapshot that compared
  // the whole work tree. When the index and the folders are as recorded,
  // only files whose own stat data changed can hold edits.

  static std::string StatLine(const struct stat& st) {
    return std::to_string(st.st_mtim.tv_sec) + " " + std::to_string(st.st_mtim.tv_nsec) + " " +
           std::to_string(st.st_size) + " " + std::to_string(st.st_ino);
  }

  // Folders under the work tree, "" for its root, with their stat lines:
  // not .git, not ignored, not a nested repository (a submodule).
  bool ListFolders(std::vector<std::pair<std::string, std::string>>* out) {
    // Ignore rules of the repository's own: a change may exclude more files.
    struct stat xst;
    if (::lstat((workdir_ + ".git/info/exclude").c_str(), &xst) == 0) {
      out->emplace_back(".git/info/exclude", StatLine(xst));
    }
    std::vector<std::string> todo = {""};
    while (!todo.empty()) {
      std::string rel = std::move(todo.back());
      todo.pop_back();
      const std::string abs = workdir_ + rel;
      struct stat st;
      if (::lstat(abs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
      out->emplace_back(rel, StatLine(st));
      DIR* dir = ::opendir(abs.c_str());
      if (dir == nullptr) return false;
      while (struct dirent* e = ::readdir(dir)) {
        const std::string name = e->d_name;
        if (name == "." || name == ".." || (rel.empty() && name == ".git")) continue;
        unsigned char type = e->d_type;
        if (type == DT_UNKNOWN) {
          struct stat cst;
          if (::lstat((abs + name).c_str(), &cst) != 0) continue;
          type = S_ISDIR(cst.st_mode) ? DT_DIR : DT_REG;
        }
        if (type != DT_DIR) continue;
        const std::string child = rel + name + "/";
        struct stat git_st;
        if (::lstat((workdir_ + child + ".git").c_str(), &git_st) == 0) continue;
        int ignored = 0;
        if (git_ignore_path_is_ignored(&ignored, repo_.get(), child.c_str()) < 0) {
          ::closedir(dir);
          return false;
        }
        if (!ignored) todo.push_back(child);
      }
      ::closedir(dir);
    }
    return true;
  }

  // Whether the work tree's folders and the private index are as the last
  // snapshot that compared the work tree left them: then no file was
  // created, removed or renamed, and *changed lists the index entries whose
  // stat data differ (or are too new to trust), the only files that may
  // hold edits. *folders gets the recorded folders back.
  bool Unchanged(std::vector<std::string>* changed,
                 std::vector<std::pair<std::string, std::string>>* folders_out) {
    std::ifstream in(unchanged_path_);
    std::string magic, index_line;
    if (!std::getline(in, magic) || magic != "lumodb-unchanged 1" ||
        !std::getline(in, index_line)) {
      return false;
    }
    struct stat ist;
    if (::stat(index_path_.c_str(), &ist) != 0 || StatLine(ist) != index_line) return false;
    std::vector<std::pair<std::string, std::string>> folders;
    std::string line;
    while (std::getline(in, line)) {
      size_t tab = line.find('\t');
      if (tab == std::string::npos) return false;
      folders.emplace_back(line.substr(tab + 1), line.substr(0, tab));
    }
    if (folders.empty()) return false;
    git_index* index = index_.get();
    const size_t entries = git_index_entrycount(index);
    std::atomic<bool> same{true};
    std::vector<std::string> part_changed[2];
    for (const auto& [rel, line] : folders) {
      struct stat st;
      if (::lstat((workdir_ + rel).c_str(), &st) != 0 || StatLine(st) != line) return false;
    }
    // Stats are most of the cost: two threads, each a contiguous half of
    // the (path-sorted) entries, each stat relative to its folder's fd.
    constexpr size_t kParts = 2;
    ParallelFor(kParts, kParts, [&](size_t part) {
      const size_t first = entries * part / kParts, last = entries * (part + 1) / kParts;
      std::string dir_rel;
      int dir_fd = -1;
      for (size_t i = first; i < last && same.load(std::memory_order_relaxed); ++i) {
        const git_index_entry* e = git_index_get_byindex(index, i);
        if (GIT_INDEX_ENTRY_STAGE(e) != 0) {
          same = false;
          break;
        }
        if (e->mode == GIT_FILEMODE_COMMIT) continue;  // submodules: read below
        // An entry as new as the index may have changed within the same
        // tick it was read in (git's racy entries): hash it again.
        if (e->mtime.seconds > ist.st_mtim.tv_sec ||
            (e->mtime.seconds == ist.st_mtim.tv_sec &&
             e->mtime.nanoseconds >= static_cast<uint32_t>(ist.st_mtim.tv_nsec))) {
          part_changed[part].push_back(e->path);
          continue;
        }
        const char* path = e->path;
        const char* slash = std::strrchr(path, '/');
        const std::string rel(path, slash == nullptr ? 0 : slash - path);
        if (dir_fd < 0 || rel != dir_rel) {
          if (dir_fd >= 0) ::close(dir_fd);
          dir_rel = rel;
          dir_fd = ::open((workdir_ + rel).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (dir_fd < 0) {
            same = false;
            break;
          }
        }
        struct stat st;
        const bool link = e->mode == GIT_FILEMODE_LINK;
        const bool exec = e->mode == GIT_FILEMODE_BLOB_EXECUTABLE;
        if (::fstatat(dir_fd, slash == nullptr ? path : slash + 1, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            static_cast<int32_t>(st.st_mtim.tv_sec) != e->mtime.seconds ||
            static_cast<uint32_t>(st.st_mtim.tv_nsec) != e->mtime.nanoseconds ||
            static_cast<int32_t>(st.st_ctim.tv_sec) != e->ctime.seconds ||
            static_cast<uint32_t>(st.st_ctim.tv_nsec) != e->ctime.nanoseconds ||
            static_cast<uint32_t>(st.st_size) != e->file_size ||
            static_cast<uint32_t>(st.st_ino) != e->ino || S_ISLNK(st.st_mode) != link ||
            (!link && (!S_ISREG(st.st_mode) || ((st.st_mode & 0100) != 0) != exec))) {
          part_changed[part].push_back(e->path);
          // Many edits: libgit2's own comparison does as well.
          if (part_changed[part].size() > kMaxQuickChanges) same = false;
        }
      }
      if (dir_fd >= 0) ::close(dir_fd);
    });
    if (!same) return false;
    for (auto& part : part_changed) {
      changed->insert(changed->end(), part.begin(), part.end());
    }
    *folders_out = std::move(folders);
    return true;
  }
  static constexpr size_t kMaxQuickChanges = 500;

  // Records what Unchanged compares, after a snapshot that compared the
  // work tree (folders were listed before that comparison began).
  void SaveUnchanged(const std::vector<std::pair<std::string, std::string>>& folders) {
    const std::string& path = unchanged_path_;
    struct stat ist;
    if (folders.empty() || ::stat(index_path_.c_str(), &ist) != 0) {
      ::unlink(path.c_str());
      return;
    }
    std::ostringstream out;
    out << "lumodb-unchanged 1\n" << StatLine(ist) << "\n";
    for (const auto& [rel, line] : folders) {
      if (rel.find('\n') != std::string::npos) {
        ::unlink(path.c_str());
        return;
      }
      out << line << "\t" << rel << "\n";
    }
    const std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << out.str();
      if (!f.flush()) {
        ::unlink(tmp.c_str());
        return;
      }
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) ::unlink(tmp.c_str());
  }

  // Hashes a file into the index, or leaves it out and lists it when it is
  // too big or cannot be read.
  void AddOrSkip(const std::string& path) {
    git_index* index = index_.get();
    std::string reason = SkipReason(workdir_ + path, options_.max_file_bytes);
    if (reason.empty()) {
      int rc = git_index_add_bypath(index, path.c_str());
      if (rc < 0) reason = LastGitMessage(rc);
    }
    if (!reason.empty()) {
      Skip(path, reason);
      git_index_remove_bypath(index, path.c_str());
    }
  }

  // Adds what changed since the index was saved, removes what is gone.
  Status UpdateIndex() {
    record_["skipped"] = Json::array();
    git_index* index = index_.get();
    std::vector<std::pair<std::string, std::string>> folders;
    std::vector<std::string> edited;
    if (owns_index_ && Unchanged(&edited, &folders)) {
      // No file created or removed: hash only the files whose stat changed.
      for (const std::string& path : edited) AddOrSkip(path);
      const bool moved_submodules = UpdateSubmodules();
      // The tree cache spares reading any tree that holds no edited file.
      int rc = git_index_write_tree(&tree_oid_, index);
      if (rc < 0) return git::Error(rc, "write the snapshot tree of " + workdir_);
      if (!edited.empty() || moved_submodules) git_index_write(index);
      if (record_["skipped"].empty()) {
        SaveUnchanged(folders);
      } else {
        ::unlink(unchanged_path_.c_str());
      }
      lock_.Release();
      return Status::OK();
    }
    folders.clear();
    // Listed before the comparison: a change made during it shows next time.
    if (owns_index_ && !ListFolders(&folders)) folders.clear();
    if (owns_index_) ::unlink(unchanged_path_.c_str());
    git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
    opts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
                 GIT_DIFF_INCLUDE_TYPECHANGE | GIT_DIFF_SKIP_BINARY_CHECK |
                 GIT_DIFF_INCLUDE_UNREADABLE;
    // Refreshes stat data of files touched but not changed, so they are not
    // hashed again next time.
    if (owns_index_) opts.flags |= GIT_DIFF_UPDATE_INDEX;
    // Submodules are read below, not by the diff: libgit2 1.5.1's submodule
    // lookup parses .gitmodules with a regex that leaks on every no-match
    // (libgit2 PR #6382).
    opts.ignore_submodules = GIT_SUBMODULE_IGNORE_ALL;
    git_diff* raw = nullptr;
    int rc = git_diff_index_to_workdir(&raw, repo_.get(), index, &opts);
    git::Diff diff(raw);
    if (rc < 0) return git::Error(rc, "compare the work tree " + workdir_ + " with the index");
    const size_t n = git_diff_num_deltas(raw);
    for (size_t i = 0; i < n; ++i) {
      const git_diff_delta* d = git_diff_get_delta(raw, i);
      if (d->status == GIT_DELTA_DELETED) {
        git_index_remove_bypath(index, d->old_file.path);
        continue;
      }
      if (d->status == GIT_DELTA_UNREADABLE) {
        Skip(d->new_file.path, "unreadable");
        git_index_remove_bypath(index, d->new_file.path);
      } else {
        AddOrSkip(d->new_file.path);
      }
    }
    const bool moved_submodules = UpdateSubmodules();
    rc = git_index_write_tree(&tree_oid_, index);
    if (rc < 0) return git::Error(rc, "write the snapshot tree of " + workdir_);
    // Saved after write_tree so the tree cache goes with it: an unchanged
    // work tree then needs no tree written at all. With nothing changed
    // there is nothing to save (stat data the diff refreshed, it saved
    // itself). A failed save only costs speed next time.
    if (owns_index_ && (n > 0 || moved_submodules)) git_index_write(index);
    if (owns_index_ && record_["skipped"].empty()) SaveUnchanged(folders);
    // The commit and the branch need no lock: the branch moves by
    // compare-and-swap.
    lock_.Release();
    return Status::OK();
  }

  // Points each submodule's entry at the commit checked out in it (left as
  // it is when the submodule is not checked out, as git does). True when an
  // entry moved.
  bool UpdateSubmodules() {
    git_index* index = index_.get();
    std::vector<git_index_entry> links;
    std::vector<std::string> paths;
    const size_t count = git_index_entrycount(index);
    for (size_t i = 0; i < count; ++i) {
      const git_index_entry* e = git_index_get_byindex(index, i);
      if (e->mode == GIT_FILEMODE_COMMIT && GIT_INDEX_ENTRY_STAGE(e) == 0) {
        links.push_back(*e);
        paths.push_back(e->path);
      }
    }
    bool moved = false;
    for (size_t i = 0; i < links.size(); ++i) {
      git_repository* raw = nullptr;
      if (git_repository_open(&raw, (workdir_ + paths[i]).c_str()) < 0) continue;
      git::Repository sub(raw);
      git_oid checked_out;
      if (git_reference_name_to_id(&checked_out, raw, "HEAD") < 0) continue;
      if (git_oid_equal(&checked_out, &links[i].id)) continue;
      git_index_entry entry = links[i];
      entry.path = paths[i].c_str();
      entry.id = checked_out;
      if (git_index_add(index, &entry) == 0) moved = true;
    }
    return moved;
  }

  // changed, dirty and submodules, from the index and the two trees.
  Status Describe() {
    Json submodules = Json::array();
    const size_t count = git_index_entrycount(index_.get());
    for (size_t i = 0; i < count; ++i) {
      const git_index_entry* e = git_index_get_byindex(index_.get(), i);
      if (e->mode == GIT_FILEMODE_COMMIT) {
        submodules.push_back({{"path", e->path}, {"commit", git::OidHex(&e->id)}});
      }
    }
    record_["submodules"] = submodules;

    Json changed = Json::array();
    size_t n = 0;
    const bool same = head_tree_ != nullptr && git_oid_equal(git_tree_id(head_tree_.get()),
                                                             &tree_oid_);
    if (!same) {
      git_tree* raw = nullptr;
      int rc = git_tree_lookup(&raw, repo_.get(), &tree_oid_);
      git::Tree tree(raw);
      if (rc < 0) return git::Error(rc, "read snapshot tree " + git::OidHex(&tree_oid_));
      git_diff* draw = nullptr;
      rc = git_diff_tree_to_tree(&draw, repo_.get(), head_tree_.get(), raw, nullptr);
      git::Diff diff(draw);
      if (rc < 0) return git::Error(rc, "compare the snapshot with HEAD");
      n = git_diff_num_deltas(draw);
      for (size_t i = 0; i < n && i < options_.max_changed; ++i) {
        const git_diff_delta* d = git_diff_get_delta(draw, i);
        changed.push_back(d->status == GIT_DELTA_DELETED ? d->old_file.path
                                                         : d->new_file.path);
      }
    }
    record_["tree"] = git::OidHex(&tree_oid_);
    record_["dirty"] = n > 0;
    record_["changed"] = changed;
    record_["changed_truncated"] = n > options_.max_changed;
    return Status::OK();
  }

  // Moves the branch from its tip to a commit of the tree by
  // compare-and-swap; a lost race reads the new tip and tries again.
  Status CommitOnBranch() {
    git_signature* sig_raw = nullptr;
    if (git_signature_default(&sig_raw, repo_.get()) < 0 &&
        git_signature_now(&sig_raw, "lumo-db", "lumo-db@localhost") < 0) {
      return git::Error(-1, "make a commit signature");
    }
    git::Signature sig(sig_raw);
    std::string message = options_.message;
    if (message.empty() || message.back() != '\n') message += '\n';

    const int64_t deadline = NowMs() + options_.branch_wait_ms;
    git_oid made{};
    for (;;) {
      git_oid tip{};
      const bool has_tip = git_reference_name_to_id(&tip, repo_.get(), branch_ref_.c_str()) == 0;
      git::Commit tip_commit;
      if (has_tip) {
        git_commit* raw = nullptr;
        int rc = git_commit_lookup(&raw, repo_.get(), &tip);
        if (rc < 0) return git::Error(rc, "read the tip of " + branch_ref_);
        tip_commit.reset(raw);
        if (git_oid_equal(git_commit_tree_id(raw), &tree_oid_)) {
          Record(tip, true);
          return Status::OK();
        }
      }
      const git_commit* parents[2];
      size_t nparents = 0;
      if (has_tip) parents[nparents++] = tip_commit.get();
      if (has_head_ && !(has_tip && git_oid_equal(&tip, &head_oid_))) {
        parents[nparents++] = head_commit_.get();
      }
      git_tree* tree_raw = nullptr;
      int rc = git_tree_lookup(&tree_raw, repo_.get(), &tree_oid_);
      git::Tree tree(tree_raw);
      if (rc < 0) return git::Error(rc, "read snapshot tree " + git::OidHex(&tree_oid_));
      rc = git_commit_create(&made, repo_.get(), nullptr, sig.get(), sig.get(), nullptr,
                             message.c_str(), tree_raw, nparents, parents);
      if (rc < 0) return git::Error(rc, "write the snapshot commit");

      if (branch_ref_ == head_ref_) {
        // Moving the branch the user has checked out would change their HEAD.
        Record(made, false);
        record_["branch_error"] = branch_ref_ + " is the checked-out branch; not moved";
        return Status::OK();
      }
      // The expected old value is checked under the ref's lock. A branch
      // that does not exist yet is expected as the zero id ("must not
      // exist"): libgit2's create-if-missing (force 0, no old value)
      // checks existence before taking the lock, so two first snapshots at
      // once could both "create" it and one would be lost.
      git_oid expected{};
      if (has_tip) git_oid_cpy(&expected, &tip);
      git_reference* moved = nullptr;
      rc = git_reference_create_matching(&moved, repo_.get(), branch_ref_.c_str(), &made,
                                         1, &expected, "lumo-db: snapshot");
      git_reference_free(moved);
      if (rc == 0) {
        Record(made, false);
        return Status::OK();
      }
      const bool race = rc == GIT_EMODIFIED || rc == GIT_EEXISTS || rc == GIT_ELOCKED ||
                        rc == GIT_ENOTFOUND;
      if (!race || NowMs() >= deadline) {
        std::string why = LastGitMessage(rc);
        Record(made, false);
        record_["branch_error"] = "cannot move " + branch_ref_ + ": " + why;
        return Status::OK();
      }
      Backoff();
    }
  }

  void Record(const git_oid& commit, bool reused) {
    const std::string hex = git::OidHex(&commit);
    record_["commit"] = hex.substr(0, 8);
    record_["snapshot"] = hex;
    record_["reused"] = reused;
  }

  const GitSnapshotOptions& options_;
  Json& record_;
  std::string branch_ref_;
  std::string head_ref_;  // the branch HEAD names, "" when detached
  std::string workdir_;
  std::string index_path_;      // <gitdir>/lumodb/index
  std::string unchanged_path_;  // <gitdir>/lumodb/unchanged
  git::Repository repo_;
  git::Index index_;
  FileLock lock_;
  bool owns_index_ = false;
  bool has_head_ = false;
  git_oid head_oid_{};
  git::Commit head_commit_;
  git::Tree head_tree_;
  git_oid tree_oid_{};
};

}  // namespace

Status TakeGitSnapshot(const std::string& work_dir, const GitSnapshotOptions& options,
                       Json* record) {
  git::Init();
  *record = Json::object();
  Status s = Snapshotter(options, record).Run(work_dir);
  if (!s.ok()) {
    // Half-filled fields would claim a snapshot that does not exist.
    Json failed = {{"error", s.message()}};
    if (record->contains("repo")) failed["repo"] = (*record)["repo"];
    if (record->contains("branch")) failed["branch"] = (*record)["branch"];
    *record = failed;
  }
  return s;
}

}  // namespace lumodb

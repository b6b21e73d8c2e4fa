// Writing a snapshot's tree out: into a folder, or into a ustar archive
// (tar_writer.h). Either is built under a hidden temporary name beside OUT
// and renamed into place only when complete.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "code/git_util.h"
#include "code/repo.h"
#include "code/tar_writer.h"
#include "lumodb/code.h"

namespace lumodb {
namespace {

// Where the entries of a tree go, in tree order (a folder before its
// contents). Paths are relative and '/'-separated.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual Status Directory(const std::string& path) = 0;
  virtual Status File(const std::string& path, bool executable, const void* data, size_t size) = 0;
  virtual Status Symlink(const std::string& path, const std::string& target) = 0;
};

// The process's umask, read without changing it (umask(2) would race with
// other threads); 022 when /proc is not there.
mode_t CurrentUmask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) {
      return static_cast<mode_t>(std::strtoul(line.c_str() + 6, nullptr, 8) & 0777);
    }
  }
  return 022;
}

class FolderSink : public Sink {
 public:
  explicit FolderSink(std::string root) : root_(std::move(root)) {}

  Status Directory(const std::string& path) override {
    const std::string full = root_ + "/" + path;
    if (::mkdir(full.c_str(), 0777) != 0) return Status::FromErrno("archive: mkdir", full, errno);
    return Status::OK();
  }

  Status File(const std::string& path, bool executable, const void* data, size_t size) override {
    const std::string full = root_ + "/" + path;
    // O_EXCL | O_NOFOLLOW: never write through a symlink the tree made.
    int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    executable ? 0777 : 0666);
    if (fd < 0) return Status::FromErrno("archive: create", full, errno);
    const char* bytes = static_cast<const char*>(data);
    for (size_t done = 0; done < size;) {
      ssize_t n = ::write(fd, bytes + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::close(fd);
        return Status::FromErrno("archive: write", full, err);
      }
      done += static_cast<size_t>(n);
    }
    if (::close(fd) != 0) return Status::FromErrno("archive: write", full, errno);
    return Status::OK();
  }

  Status Symlink(const std::string& path, const std::string& target) override {
    const std::string full = root_ + "/" + path;
    if (::symlink(target.c_str(), full.c_str()) != 0) {
      return Status::FromErrno("archive: symlink", full, errno);
    }
    return Status::OK();
  }

 private:
  std::string root_;
};

class TarSink : public Sink {
 public:
  TarSink(TarWriter* tar, int64_t mtime) : tar_(tar), mtime_(mtime) {}

  Status Directory(const std::string& path) override {
    return tar_->AddDirectory(path, 0755, mtime_);
  }
  Status File(const std::string& path, bool executable, const void* data, size_t size) override {
    return tar_->AddFile(path, executable ? 0755 : 0644, mtime_, data, size);
  }
  Status Symlink(const std::string& path, const std::string& target) override {
    return tar_->AddSymlink(path, target, mtime_);
  }

 private:
  TarWriter* tar_;
  int64_t mtime_;
};

// Names a checkout must never write: they would climb out of OUT or plant a
// repository inside it (git refuses them too).
bool UnsafeName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return true;
  }
  return strcasecmp(name.c_str(), ".git") == 0;
}

Status WriteTree(git_repository* repo, const git_tree* tree, const std::string& prefix, Sink* sink,
                 ArchiveResult* result) {
  const size_t count = git_tree_entrycount(tree);
  for (size_t i = 0; i < count; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
    const std::string name = git_tree_entry_name(entry);
    const std::string path = prefix.empty() ? name : prefix + "/" + name;
    if (UnsafeName(name)) {
      result->skipped.push_back(path + ": a name git does not check out");
      continue;
    }
    const git_filemode_t mode = git_tree_entry_filemode(entry);
    const git_oid* id = git_tree_entry_id(entry);
    Status s;
    if (mode == GIT_FILEMODE_TREE) {
      git_tree* raw = nullptr;
      int rc = git_tree_lookup(&raw, repo, id);
      git::Tree sub(raw);
      if (rc != 0) return git::Error(rc, "reading folder " + path);
      s = sink->Directory(path);
      if (s.ok()) s = WriteTree(repo, sub.get(), path, sink, result);
    } else if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE ||
               mode == GIT_FILEMODE_LINK) {
      git_blob* raw = nullptr;
      int rc = git_blob_lookup(&raw, repo, id);
      git::Blob blob(raw);
      if (rc != 0) return git::Error(rc, "reading file " + path);
      const void* data = git_blob_rawcontent(blob.get());
      const size_t size = static_cast<size_t>(git_blob_rawsize(blob.get()));
      if (mode == GIT_FILEMODE_LINK) {
        s = sink->Symlink(path, std::string(static_cast<const char*>(data), size));
      } else {
        s = sink->File(path, mode == GIT_FILEMODE_BLOB_EXECUTABLE, data, size);
      }
      result->files++;
      result->bytes += size;
    } else if (mode == GIT_FILEMODE_COMMIT) {
      // A submodule: its files live in its own repository. An empty folder
      // stands in its place, as in a fresh clone.
      s = sink->Directory(path);
      result->skipped.push_back(path + ": submodule at commit " + git::OidHex(id));
    } else {
      result->skipped.push_back(path + ": unknown tree entry mode " + std::to_string(mode));
    }
    if (!s.ok()) return s;
  }
  return Status::OK();
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsEmptyFolder(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_empty(path, ec) && !ec;
}

// Moves the finished temporary into place: never over anything but the
// empty folder that was checked before (rename(2) refuses a folder that
// has meanwhile got entries).
Status Place(const std::string& temp, const std::string& out, bool over_empty_folder) {
  if (over_empty_folder) {
    if (::rename(temp.c_str(), out.c_str()) != 0) {
      return Status::FromErrno("archive: rename " + temp + " to", out, errno);
    }
    return Status::OK();
  }
  if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, out.c_str(), RENAME_NOREPLACE) == 0) {
    return Status::OK();
  }
  if (errno == EEXIST)
    return Status::IOError("archive: " + out + " appeared meanwhile; not overwritten");
  if (errno != EINVAL && errno != ENOSYS) {
    return Status::FromErrno("archive: rename " + temp + " to", out, errno);
  }
  // A filesystem without RENAME_NOREPLACE: link(2) never replaces a file;
  // a folder is checked just before.
  struct stat st;
  if (::lstat(out.c_str(), &st) == 0) {
    return Status::IOError("archive: " + out + " appeared meanwhile; not overwritten");
  }
  if (::rename(temp.c_str(), out.c_str()) != 0) {
    return Status::FromErrno("archive: rename " + temp + " to", out, errno);
  }
  return Status::OK();
}

}  // namespace

Status ArchiveCode(const CodeSnapshot& snapshot, const std::string& out_arg,
                   ArchiveResult* result) {
  ArchiveResult local;
  if (result == nullptr) result = &local;
  *result = ArchiveResult();
  std::string out = out_arg;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out.empty()) return Status::InvalidArgument("archive: the output path is empty");
  const bool tar = EndsWith(out, ".tar");

  // Refuse before any work: OUT must be new (or, for a folder, empty).
  bool over_empty_folder = false;
  struct stat st;
  if (::lstat(out.c_str(), &st) == 0) {
    if (tar || !S_ISDIR(st.st_mode) || !IsEmptyFolder(out)) {
      return Status::IOError("archive: " + out +
                             " already exists; refusing to overwrite it (choose a new path" +
                             (tar ? std::string(")") : std::string(" or an empty folder)")));
    }
    over_empty_folder = true;
  } else if (errno != ENOENT) {
    return Status::FromErrno("archive: cannot check", out, errno);
  }
  const std::filesystem::path out_path(out);
  std::string parent = out_path.parent_path().string();
  if (parent.empty()) parent = ".";
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::NotFound("archive: folder " + parent + " (where " + out +
                            " would go) does not exist");
  }

  git::Repository repo;
  git::Commit commit;
  Status s = OpenSnapshot(snapshot, &repo, &commit);
  if (!s.ok()) return s;
  git_tree* raw_tree = nullptr;
  int rc = git_commit_tree(&raw_tree, commit.get());
  git::Tree tree(raw_tree);
  if (rc != 0) return git::Error(rc, "reading the tree of commit " + snapshot.commit);

  std::string temp = parent + "/." + out_path.filename().string() + ".lumodb-tmp-XXXXXX";
  const mode_t umask_bits = CurrentUmask();
  if (tar) {
    int fd = ::mkstemp(temp.data());
    if (fd < 0) return Status::FromErrno("archive: create", temp, errno);
    TarWriter writer(fd, temp);
    TarSink sink(&writer, static_cast<int64_t>(git_commit_time(commit.get())));
    s = WriteTree(repo.get(), tree.get(), "", &sink, result);
    if (s.ok()) s = writer.Finish();
    if (s.ok() && ::fchmod(fd, 0666 & ~umask_bits) != 0) {
      s = Status::FromErrno("archive: chmod", temp, errno);
    }
    if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("archive: fsync", temp, errno);
    if (::close(fd) != 0 && s.ok()) s = Status::FromErrno("archive: write", temp, errno);
  } else {
    if (::mkdtemp(temp.data()) == nullptr) return Status::FromErrno("archive: create", temp, errno);
    FolderSink sink(temp);
    s = WriteTree(repo.get(), tree.get(), "", &sink, result);
    // mkdtemp made it 0700; OUT gets the mode a plain mkdir would give.
    if (s.ok() && ::chmod(temp.c_str(), 0777 & ~umask_bits) != 0) {
      s = Status::FromErrno("archive: chmod", temp, errno);
    }
  }
  if (s.ok()) s = Place(temp, out, over_empty_folder);
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(temp, ec);  // ours alone
  }
  return s;
}

}  // namespace lumodb

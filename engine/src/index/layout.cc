// The index directory's generations and locks (see layout.h).
#include "index/layout.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "util/fs.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

constexpr char kPointer[] = "CURRENT_INDEX";
constexpr char kSequence[] = "SEQUENCE";
constexpr char kWriterLock[] = "writer.lock";
constexpr char kLegacyReaders[] = "legacy.readers";

// "gen-" and six digits (more after a million reindexes).
bool IsGeneration(const std::string& name) {
  if (name.size() < 10 || name.size() > 24 || name.compare(0, 4, "gen-") != 0) return false;
  for (size_t i = 4; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

std::string ReadSmallFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Writes path through path.tmp and a rename; with sync, durably.
Status Replace(const std::string& dir, const std::string& name, const std::string& text,
               bool sync) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("write", tmp, errno);
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int err = errno;
  if (ok && sync && ::fsync(fd) != 0) {
    ok = false;
    err = errno;
  }
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Status::FromErrno("write", path, err);
  }
  if (sync) {
    int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
      ::fsync(d);
      ::close(d);
    }
  }
  return Status::OK();
}

// RocksDB's own files, as a database in <db> itself has them.
bool IsRocksDbFile(const std::string& name) {
  auto ends = [&](const char* suffix) {
    size_t n = std::strlen(suffix);
    return name.size() > n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return name == "CURRENT" || name == "IDENTITY" || name == "LOCK" || name == "LOG" ||
         name.rfind("LOG.old.", 0) == 0 || name.rfind("MANIFEST-", 0) == 0 ||
         name.rfind("OPTIONS-", 0) == 0 || ends(".sst") || ends(".log") || ends(".ldb") ||
         ends(".dbtmp");
}

std::string ProgramName() {
  std::string comm = Trim(ReadSmallFile("/proc/self/comm"));
  return comm.empty() ? "unknown" : comm;
}

}  // namespace

std::string LockHolder::Describe() const {
  if (pid == 0) return "another process";
  std::string s = "pid " + std::to_string(pid) + " (" + (program.empty() ? "?" : program);
  if (!job.empty()) s += ", " + job;
  if (!since.empty()) s += ", since " + since + " UTC";
  return s + ")";
}

Status IndexLayout::Current(std::string* generation, std::string* dir) const {
  const std::string pointer = Trim(ReadSmallFile(db_ + "/" + kPointer));
  if (!pointer.empty()) {
    if (!IsGeneration(pointer)) {
      return Status::Corruption("index " + db_ + ": " + kPointer + " names '" + pointer +
                                "', not a generation (rebuild it with lumo-db reindex)");
    }
    *generation = pointer;
    *dir = Dir(pointer);
    return Status::OK();
  }
  struct stat st;
  if (::stat((db_ + "/CURRENT").c_str(), &st) == 0) {  // made before generations
    generation->clear();
    *dir = db_;
    return Status::OK();
  }
  if (::stat(db_.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return Status::IOError("index " + db_ + " is a file, not a directory");
  }
  return Status::NotFound("no index at " + db_ + " (run `lumo-db reindex` or a load first)");
}

std::string IndexLayout::Dir(const std::string& generation) const {
  return generation.empty() ? db_ : db_ + "/" + generation;
}

std::string IndexLayout::Next(const std::string& current) const {
  long n = current.empty() ? 0 : std::strtol(current.c_str() + 4, nullptr, 10);
  // Past any generation a crash left behind, too.
  std::vector<std::string> names;
  ListDir(db_, &names);
  for (const std::string& name : names) {
    if (IsGeneration(name)) n = std::max(n, std::strtol(name.c_str() + 4, nullptr, 10));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "gen-%06ld", n + 1);
  return buf;
}

Status IndexLayout::Publish(const std::string& generation) const {
  return Replace(db_, kPointer, generation + "\n", /*sync=*/true);
}

void IndexLayout::Collect(const std::string& keep) const {
  std::vector<std::string> names;
  if (!ListDir(db_, &names).ok()) return;
  auto remove_unused = [&](const std::string& readers, const std::function<void()>& remove) {
    int fd = ::open(readers.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      remove();
      ::unlink(readers.c_str());
    }
    ::close(fd);
  };
  for (const std::string& name : names) {
    std::string gen;
    if (IsGeneration(name)) {
      gen = name;
    } else if (name.size() > 8 && name.compare(name.size() - 8, 8, ".readers") == 0 &&
               IsGeneration(name.substr(0, name.size() - 8))) {
      gen = name.substr(0, name.size() - 8);
      if (IsDir(Dir(gen))) continue;  // handled with its folder
    } else {
      continue;
    }
    if (gen == keep) continue;
    remove_unused(db_ + "/" + gen + ".readers", [&] {
      std::error_code ec;
      std::filesystem::remove_all(Dir(gen), ec);
    });
  }
  if (!keep.empty() && IsFile(db_ + "/CURRENT")) {
    remove_unused(db_ + "/" + kLegacyReaders, [&] {
      for (const std::string& name : names) {
        if (IsRocksDbFile(name)) ::unlink((db_ + "/" + name).c_str());
      }
    });
  }
}

std::string IndexLayout::ReadSequence() const { return Trim(ReadSmallFile(db_ + "/" + kSequence)); }

int IndexLayout::OpenSequence() const {
  return ::open((db_ + "/" + kSequence).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
}

void IndexLayout::WriteSequence(int fd, const std::string& generation, uint64_t sequence) {
  if (fd < 0) return;
  // Fixed width, so each line covers the last whole; not synced: after a
  // crash readers at worst reopen once more, and a reader that catches a
  // line half written only reopens once more too.
  char line[64];
  int n = std::snprintf(line, sizeof(line), "%-24s %020llu\n",
                        generation.empty() ? "-" : generation.c_str(),
                        static_cast<unsigned long long>(sequence));
  if (n > 0 && ::pwrite(fd, line, static_cast<size_t>(n), 0) < 0) {
    // Readers then reopen on their own schedule; nothing is lost.
  }
}

// ---- ReaderLock ----

ReaderLock::~ReaderLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool ReaderLock::Take(const IndexLayout& layout, const std::string& generation) {
  const std::string path = generation.empty() ? layout.db() + "/" + kLegacyReaders
                                              : layout.db() + "/" + generation + ".readers";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno != EINTR) {
      int err = errno;
      ::close(fd);
      errno = err;
      return false;
    }
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return true;
}

// ---- WriterLock ----

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status WriterLock::TryTake(const IndexLayout& layout, const std::string& job, bool* taken,
                           LockHolder* holder) {
  *taken = false;
  const std::string path = layout.db() + "/" + kWriterLock;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open the index's writer lock", path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      ::close(fd);
      return Status::FromErrno("lock", path, err);
    }
    // "pid program job since-date since-time"
    char buf[512];
    ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    ::close(fd);
    if (holder != nullptr) {
      *holder = LockHolder();
      if (n > 0) {
        buf[n] = '\0';
        long long pid = 0;
        char program[128] = "", what[128] = "", date[32] = "", time[32] = "";
        if (std::sscanf(buf, "%lld %127s %127s %31s %31s", &pid, program, what, date, time) >= 2) {
          holder->pid = pid;
          holder->program = program;
          holder->job = std::string(what) == "-" ? "" : what;
          if (date[0] != '\0') holder->since = std::string(date) + " " + time;
        }
      }
    }
    return Status::OK();
  }
  const std::string since = FormatLocalTime("%Y-%m-%d %H:%M:%S", NowMicros(), "UTC");
  const std::string line = std::to_string(::getpid()) + " " + ProgramName() + " " +
                           (job.empty() ? "-" : job) + " " + since + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) < 0) {
    // Who holds it is only for messages; the lock itself is what counts.
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  *taken = true;
  return Status::OK();
}

Status WriterLock::Take(const IndexLayout& layout, const WriterWait& wait) {
  bool taken = false;
  LockHolder holder;
  Status s = TryTake(layout, wait.job, &taken, &holder);
  if (!s.ok() || taken) return s;
  const std::string bound = wait.timeout_ms >= 1000
                                ? std::to_string(wait.timeout_ms / 1000) + " s"
                                : std::to_string(wait.timeout_ms) + " ms";
  if (wait.on_wait) {
    wait.on_wait("waiting for the index " + layout.db() + ": it is held by " + holder.Describe() +
                 "; waiting up to " + bound);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(wait.timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s = TryTake(layout, wait.job, &taken, &holder);
    if (!s.ok() || taken) return s;
  }
  return Status::Busy("index " + layout.db() + " is held by " + holder.Describe() + "; waited " +
                      bound + (wait.job.empty() ? "" : " to " + wait.job));
}

}  // namespace lumodb

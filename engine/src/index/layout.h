// The index directory: generations of the RocksDB database, the pointer to
// the current one, and the locks that let readers run through any write
// (docs/format.md, "The index directory"):
//
//   <db>/CURRENT_INDEX        "gen-000003\n": the generation readers open
//   <db>/gen-000003/          a RocksDB database
//   <db>/gen-000003.readers   flock(LOCK_SH) by every process using it
//   <db>/writer.lock          flock(LOCK_EX) by the one writer; holds who
//   <db>/SEQUENCE             "gen-000003 <sequence>\n": the writer's last
//                             state, for long-lived readers to poll
//
// A reindex builds the next generation aside and moves the pointer; a
// generation is deleted only once no process holds its readers lock, so a
// reader never sees files vanish or two databases mixed. An index made
// before generations (RocksDB's files in <db> itself) is generation "" and
// keeps working until the next reindex moves it into one.
#ifndef LUMODB_INDEX_LAYOUT_H_
#define LUMODB_INDEX_LAYOUT_H_

#include <cstdint>
#include <functional>
#include <string>

#include "lumodb/status.h"

namespace lumodb {

// Who holds the writer lock, as the lock file says.
struct LockHolder {
  int64_t pid = 0;
  std::string program;  // e.g. "lumo-db"
  std::string job;      // e.g. "reindex"
  std::string since;    // UTC, "2026-12-02 01:00:05"
  // "pid 1234 (lumo-db, reindex, since 2026-12-02 01:00:05 UTC)"
  std::string Describe() const;
};

// How long a writer waits for the lock, and who is told it waits.
struct WriterWait {
  int timeout_ms = 30000;
  std::string job;  // what this writer will do: "load", "import", ...
  // Called once when the lock is held by another: the line to print.
  std::function<void(const std::string&)> on_wait;
};

class IndexLayout {
 public:
  explicit IndexLayout(std::string db) : db_(std::move(db)) {}
  const std::string& db() const { return db_; }

  // The current generation ("" for an index made before generations) and
  // its folder. NotFound when there is no index at db.
  Status Current(std::string* generation, std::string* dir) const;
  // The folder of a generation.
  std::string Dir(const std::string& generation) const;
  // The name after the current one (gen-000001 when there is none).
  std::string Next(const std::string& current) const;
  // Moves the pointer to generation (written aside, synced, renamed).
  Status Publish(const std::string& generation) const;
  // Deletes every generation but keep that no process uses (a finished
  // reindex's old one, an unpublished one a crash left), and the files of
  // a pre-generation index once one has replaced it. Never fails: what
  // cannot be removed now is removed by a later writer.
  void Collect(const std::string& keep) const;

  // The state a writer last published ("" if none); see SEQUENCE above.
  std::string ReadSequence() const;
  // The writer's SEQUENCE file, kept open: each state is one pwrite of a
  // fixed-width line over the last, a few microseconds.
  int OpenSequence() const;
  static void WriteSequence(int fd, const std::string& generation, uint64_t sequence);

 private:
  std::string db_;
};

// flock(LOCK_SH) on a generation's readers file while it is held.
class ReaderLock {
 public:
  ReaderLock() = default;
  ~ReaderLock();
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;
  // Takes the lock; false (errno set) when the file cannot be opened.
  bool Take(const IndexLayout& layout, const std::string& generation);

 private:
  int fd_ = -1;
};

// flock(LOCK_EX) on writer.lock: the one writer of the index.
class WriterLock {
 public:
  WriterLock() = default;
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  // Takes the lock without waiting: false when another holds it (*holder
  // says who, when known). IOError when the lock file cannot be made.
  Status TryTake(const IndexLayout& layout, const std::string& job, bool* taken,
                 LockHolder* holder);
  // Waits for it as wait says; Busy naming the holder after the timeout.
  Status Take(const IndexLayout& layout, const WriterWait& wait);
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_LAYOUT_H_

// Index: the RocksDB database behind the Watcher. Knows the column families
// and key layouts (docs/format.md, "RocksDB index") and the generations of
// the index folder (layout.h); nothing else opens it.
#ifndef LUMODB_INDEX_H_
#define LUMODB_INDEX_H_

#include <rocksdb/db.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "index/keys.h"
#include "index/layout.h"
#include "lumodb/status.h"

namespace lumodb {

enum Cf {
  kRuns = 0,   // "experiments": exp \0 test -> RunRecord
  kInfo,       // exp \0 test \0 key -> compact JSON
  kText,       // exp \0 test \0 key -> text
  kMetrics,    // exp \0 test \0 metric -> MetricRecord
  kReruns,     // test \0 "from"|"to" \0 other_test -> other's exp_name
  kByTest,     // test \0 exp -> ""
  kFields,     // field \0 typed value \0 exp \0 test -> ""
  kMeta,       // "format" -> "1", ...
  kMetricLog,  // exp \0 test \0 metric \0 'b'|'s' step -> block | summary
  kNumCf,
};

class Index {
 public:
  // Opens the index at path (a folder, created when missing): as its one
  // writer when the writer lock is free, creating the index when there is
  // none; else, or when read_only is asked, as a read-only view.
  static Status Open(const std::string& path, bool read_only, std::unique_ptr<Index>* out);
  // As the writer, waiting for the writer lock as wait says: Busy naming
  // the holder when it is not free in time.
  static Status OpenWriter(const std::string& path, const WriterWait& wait,
                           std::unique_ptr<Index>* out);
  // A read-only view of the current generation: takes no writer lock and
  // writes nothing; files a writer removes meanwhile are retried, so a view
  // opens whatever writers do. NotFound if there is no index.
  static Status OpenSnapshot(const std::string& path, std::unique_ptr<Index>* out);
  // A generation of the index at path that is not published yet (a
  // reindex's, which the caller's writer lock protects): bulk, a new
  // database with memtables that append and sort once at flush.
  static Status OpenUnpublished(const std::string& path, const std::string& generation, bool bulk,
                                std::unique_ptr<Index>* out);
  ~Index();

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) { return handles_[which]; }
  bool read_only() const { return read_only_; }
  bool snapshot() const { return read_only_; }
  // The index folder (--db).
  const std::string& path() const { return path_; }
  const std::string& generation() const { return generation_; }
  const IndexLayout& layout() const { return layout_; }

  Status Get(Cf which, const rocksdb::Slice& key, std::string* value);

  // An iterator over the keys k of a family with lower <= k < upper.
  class RangeIterator {
   public:
    RangeIterator(Index* index, Cf which, std::string lower, std::string upper);
    rocksdb::Iterator* operator->() { return it_.get(); }

   private:
    std::string lower_, upper_;
    rocksdb::Slice lower_slice_, upper_slice_;
    std::unique_ptr<rocksdb::Iterator> it_;
  };
  Status Write(rocksdb::WriteBatch* batch, bool disable_wal = false);
  // Deletes every record.
  Status Clear();
  Status FlushAll();

  // The writer: makes generation (built with OpenUnpublished, closed) the
  // current one, reopens this index on it and removes the old one once no
  // process reads it.
  Status SwitchTo(const std::string& generation);
  // The writer: tells long-lived readers its state (SEQUENCE), after a job.
  void PublishSequence();
  // A view: whether the index moved on since the view was opened (a new
  // generation, or a writer published a new state).
  bool Stale() const;
  // The view's or the writer's state: changes whenever the index does.
  uint64_t Sequence() const;

  // The writer: the stamp of a run written now, for its "_changed" entry
  // in the fields family (the change feed): the wall clock in µs, but
  // always above every stamp the index holds.
  int64_t NextChangeStamp();
  // The largest stamp of the change feed (0: none).
  Status LatestChangeStamp(int64_t* stamp);

  static Status FromRocks(const rocksdb::Status& s, const std::string& what);

 private:
  explicit Index(std::string path) : path_(path), layout_(std::move(path)) {}
  Status OpenPrimary(const std::string& dir, bool bulk);
  Status OpenView();
  void TakeDefaultHandle();
  void Close();

  std::string path_;
  IndexLayout layout_;
  std::string generation_;
  bool read_only_ = false;
  std::string opened_sequence_;  // a view: SEQUENCE when it was opened
  bool lacks_family_ = false;
  int64_t last_change_stamp_ = -1;  // -1: not read from the index yet     // a view of an index older than a family
  // The writer: its SEQUENCE file and what it last wrote there.
  int sequence_fd_ = -1;
  uint64_t published_sequence_ = 0;
  std::string published_generation_ = "none";
  std::unique_ptr<WriterLock> writer_lock_;
  std::unique_ptr<ReaderLock> reader_lock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // by Cf
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
};

// Calls fn(name, value) for every key exp \0 test \0 name of family cf, in
// key order.
template <typename Fn>
void ForEachSubKey(Index* index, Cf cf, const std::string& exp, const std::string& test, Fn fn) {
  std::string prefix = RunKey(exp, test);
  prefix.push_back('\0');
  std::string upper = prefix;
  upper.back() = '\x01';
  Index::RangeIterator it(index, cf, prefix, upper);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key();
    fn(std::string(key.data() + prefix.size(), key.size() - prefix.size()), it->value());
  }
}

}  // namespace lumodb

#endif  // LUMODB_INDEX_H_

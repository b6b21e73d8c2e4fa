// Index: the RocksDB database behind the Watcher. Knows the column families
// and key layouts (docs/format.md, "RocksDB index"); nothing else opens it.
#ifndef LUMODB_INDEX_H_
#define LUMODB_INDEX_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include "index/keys.h"
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
  // Opens the database at path, creating it. When another process holds
  // it (or read_only is asked), opens it as a secondary instance instead.
  static Status Open(const std::string& path, bool read_only,
                     std::unique_ptr<Index>* out);
  // A new database at path (which must not exist) for a bulk build:
  // memtables that append and sort once at flush, not a skip list.
  static Status OpenBulk(const std::string& path, std::unique_ptr<Index>* out);
  // A read-only view of the index as it is now: takes no lock and writes
  // nothing (no fsync), for one-shot readers. NotFound if there is none.
  static Status OpenSnapshot(const std::string& path, std::unique_ptr<Index>* out);
  ~Index();

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf which) { return handles_[which]; }
  bool read_only() const { return read_only_; }
  bool snapshot() const { return snapshot_; }
  const std::string& path() const { return path_; }

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
  // A secondary catches up with the writer; a no-op for the writer.
  Status CatchUp();
  // Deletes every record (for reindex).
  Status Clear();
  Status FlushAll();

  static Status FromRocks(const rocksdb::Status& s, const std::string& what);

 private:
  Index() = default;
  Status OpenWriter();
  Status OpenSecondary();
  void TakeDefaultHandle();

  std::string path_;
  std::string secondary_path_;
  bool read_only_ = false;
  bool snapshot_ = false;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // by Cf
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
};

// Calls fn(name, value) for every key exp \0 test \0 name of family cf, in
// key order.
template <typename Fn>
void ForEachSubKey(Index* index, Cf cf, const std::string& exp, const std::string& test,
                   Fn fn) {
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

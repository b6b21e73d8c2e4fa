// Index: the RocksDB database: column families and their options, opened as
// the writer of the current generation, as a read-only view of it, or as a
// generation being built.
#include "index/index.h"
#include "index/keys.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/table.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <filesystem>
#include <thread>

namespace lumodb {

namespace {

const char* const kCfNames[kNumCf] = {"experiments", "info",    "text",
                                     "metrics",     "reruns",  "by_test",
                                     "fields",      "meta",    "metric_log"};

rocksdb::Options BaseOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_open_files = 256;
  options.keep_log_file_num = 2;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.IncreaseParallelism(2);
  // Opening: table files one at a time (the default starts 16 threads per
  // column family, which costs a one-shot reader more than it saves), and
  // no statistics pass over the files.
  options.max_file_opening_threads = 1;
  options.skip_stats_update_on_db_open = true;
  return options;
}

// for_view: a read-only view opens every table file at once (max_open_files
// -1); its index and filter blocks then go through the block cache, read
// when a lookup first needs them, not all of them at open.
rocksdb::ColumnFamilyOptions CfOptions(bool for_view = false) {
  // One block cache for every family and database of the process, so that
  // memory stays what it is whatever a read passes through.
  static const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(size_t{32} << 20);
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = for_view;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_size = 16 * 1024;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.compression = rocksdb::kLZ4Compression;
  return cf;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(
    const rocksdb::ColumnFamilyOptions& cf = CfOptions()) {
  std::vector<rocksdb::ColumnFamilyDescriptor> out;
  // The default family is required by RocksDB and left empty.
  out.emplace_back(rocksdb::kDefaultColumnFamilyName, cf);
  for (int i = 0; i < kNumCf; ++i) out.emplace_back(kCfNames[i], cf);
  return out;
}

}  // namespace

Status Index::FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  std::string msg = what + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::IOError(msg);
}

namespace {

// Readers write nothing into the index folder, not even RocksDB's LOG.
class SilentLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

// Errors a view meets while a writer replaces files under it (a flush, a
// compaction, a MANIFEST roll): the next try sees the new files.
bool Transient(const Status& s) {
  return s.code() == Status::Code::kIOError || s.code() == Status::Code::kCorruption ||
         s.code() == Status::Code::kNotFound;
}

}  // namespace

Status Index::Open(const std::string& path, bool read_only, std::unique_ptr<Index>* out) {
  if (!read_only) {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::IOError("create index directory " + path + ": " + ec.message());
    auto lock = std::make_unique<WriterLock>();
    bool taken = false;
    Status s = lock->TryTake(IndexLayout(path), "", &taken, nullptr);
    if (!s.ok()) return s;
    if (taken) {
      WriterWait none;
      none.timeout_ms = 0;
      std::unique_ptr<Index> index;
      lock.reset();  // OpenWriter takes it again, at once
      s = OpenWriter(path, none, &index);
      if (s.ok()) {
        *out = std::move(index);
        return s;
      }
      if (s.code() != Status::Code::kBusy) return s;
    }
  }
  return OpenSnapshot(path, out);
}

Status Index::OpenWriter(const std::string& path, const WriterWait& wait,
                         std::unique_ptr<Index>* out) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("create index directory " + path + ": " + ec.message());
  std::unique_ptr<Index> index(new Index(path));
  index->writer_lock_ = std::make_unique<WriterLock>();
  Status s = index->writer_lock_->Take(index->layout_, wait);
  if (!s.ok()) return s;
  std::string dir;
  s = index->layout_.Current(&index->generation_, &dir);
  const bool fresh = s.IsNotFound();
  if (fresh) {
    index->generation_ = index->layout_.Next("");
    dir = index->layout_.Dir(index->generation_);
  } else if (!s.ok()) {
    return s;
  } else {
    // What a reindex that died left behind, and generations nobody reads.
    index->layout_.Collect(index->generation_);
  }
  index->reader_lock_ = std::make_unique<ReaderLock>();
  if (!index->reader_lock_->Take(index->layout_, index->generation_)) {
    return Status::FromErrno("lock a generation of index", path, errno);
  }
  s = index->OpenPrimary(dir, false);
  if (!s.ok()) return s;
  if (fresh) {
    s = index->layout_.Publish(index->generation_);
    if (!s.ok()) return s;
  }
  *out = std::move(index);
  return Status::OK();
}

Status Index::OpenUnpublished(const std::string& path, const std::string& generation, bool bulk,
                              std::unique_ptr<Index>* out) {
  std::unique_ptr<Index> index(new Index(path));
  index->generation_ = generation;
  Status s = index->OpenPrimary(index->layout_.Dir(generation), bulk);
  if (!s.ok()) return s;
  *out = std::move(index);
  return Status::OK();
}

Status Index::OpenPrimary(const std::string& dir, bool bulk) {
  rocksdb::Options options = BaseOptions();
  rocksdb::ColumnFamilyOptions cf = CfOptions();
  if (bulk) {
    options.error_if_exists = true;
    options.allow_concurrent_memtable_write = false;  // VectorRep needs it
    cf.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
    cf.write_buffer_size = 128 << 20;
  }
  rocksdb::DB* db = nullptr;
  rocksdb::Status rs =
      rocksdb::DB::Open(rocksdb::DBOptions(options), dir, Descriptors(cf), &handles_, &db);
  if (rs.IsIOError() && rs.ToString().find("lock") != std::string::npos) {
    return Status::Busy("index " + path_ + " is held by another process");
  }
  if (!rs.ok()) return FromRocks(rs, (bulk ? "create index " : "open index ") + dir);
  db_.reset(db);
  TakeDefaultHandle();
  return Status::OK();
}

Status Index::OpenSnapshot(const std::string& path, std::unique_ptr<Index>* out) {
  // A writer may be flushing, compacting or moving to a new generation
  // while this opens: a file that vanished between reading the MANIFEST
  // and opening it is a reason to look again, for a few seconds.
  Status s;
  for (int attempt = 0; attempt < 200; ++attempt) {
    std::unique_ptr<Index> index(new Index(path));
    s = index->OpenView();
    if (s.ok()) {
      *out = std::move(index);
      return s;
    }
    if (index->generation_.empty() && s.IsNotFound() && attempt == 0 &&
        s.message().rfind("no index at", 0) == 0) {
      return s;  // there is no index at all
    }
    if (!Transient(s) || index->lacks_family_) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 << std::min(attempt, 5), 25)));
  }
  return s;
}

Status Index::OpenView() {
  std::string dir;
  opened_sequence_ = layout_.ReadSequence();
  Status s = layout_.Current(&generation_, &dir);
  if (!s.ok()) return s;
  reader_lock_ = std::make_unique<ReaderLock>();
  // Without the lock file (a folder not writable here) the view still
  // opens; it is then not protected from a reindex's clean-up.
  reader_lock_->Take(layout_, generation_);
  if (!std::filesystem::exists(dir + "/CURRENT")) {
    return Status::NotFound("generation " + dir + " was replaced while opening it");
  }
  rocksdb::Options options = BaseOptions();
  options.create_if_missing = false;
  // Every table file is opened now and held: one a writer deletes later
  // stays readable through its descriptor.
  options.max_open_files = -1;
  options.info_log = std::make_shared<SilentLogger>();
  rocksdb::DB* db = nullptr;
  rocksdb::Status rs =
      rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(options), dir,
                                    Descriptors(CfOptions(/*for_view=*/true)), &handles_, &db);
  if (!rs.ok()) {
    handles_.clear();
    if (rs.IsInvalidArgument() && rs.ToString().find("Column family not found") != std::string::npos) {
      // An index made before a family was added: the writer adds it.
      lacks_family_ = true;
      return Status::NotFound("index " + path_ + " lacks a column family: " + rs.ToString());
    }
    return FromRocks(rs, "open index " + path_ + " read-only");
  }
  db_.reset(db);
  TakeDefaultHandle();
  read_only_ = true;
  return Status::OK();
}

void Index::TakeDefaultHandle() {
  default_handle_ = handles_.front();
  handles_.erase(handles_.begin());
}

void Index::Close() {
  if (default_handle_ != nullptr) handles_.push_back(default_handle_);
  default_handle_ = nullptr;
  for (auto* h : handles_) {
    if (db_ != nullptr && h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  handles_.clear();
  db_.reset();
}

Index::~Index() {
  Close();
  if (sequence_fd_ >= 0) ::close(sequence_fd_);
}

Status Index::SwitchTo(const std::string& generation) {
  if (read_only_ || writer_lock_ == nullptr) {
    return Status::IllegalState("index " + path_ + " is not open for writing");
  }
  Close();
  Status s = layout_.Publish(generation);
  if (!s.ok()) {
    // The old generation is still the current one: reopen it.
    Status reopened = OpenPrimary(layout_.Dir(generation_), false);
    return reopened.ok() ? s : reopened;
  }
  const std::string old = generation_;
  generation_ = generation;
  reader_lock_ = std::make_unique<ReaderLock>();
  reader_lock_->Take(layout_, generation_);
  s = OpenPrimary(layout_.Dir(generation_), false);
  if (!s.ok()) return s;
  PublishSequence();
  layout_.Collect(generation_);
  return Status::OK();
}

void Index::PublishSequence() {
  if (read_only_ || writer_lock_ == nullptr || db_ == nullptr) return;
  // Only a change is worth a file write: a load that found nothing new
  // costs no more than its stats.
  const uint64_t sequence = db_->GetLatestSequenceNumber();
  if (sequence == published_sequence_ && published_generation_ == generation_) return;
  if (sequence_fd_ < 0) sequence_fd_ = layout_.OpenSequence();
  IndexLayout::WriteSequence(sequence_fd_, generation_, sequence);
  published_sequence_ = sequence;
  published_generation_ = generation_;
}

bool Index::Stale() const {
  if (!read_only_) return false;
  std::string generation, dir;
  if (!layout_.Current(&generation, &dir).ok()) return false;
  return generation != generation_ || layout_.ReadSequence() != opened_sequence_;
}

uint64_t Index::Sequence() const {
  const uint64_t gen =
      generation_.empty() ? 0 : std::strtoull(generation_.c_str() + 4, nullptr, 10);
  return (gen << 44) | (db_->GetLatestSequenceNumber() & ((uint64_t{1} << 44) - 1));
}

Status Index::Get(Cf which, const rocksdb::Slice& key, std::string* value) {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[which], key, value);
  if (s.IsNotFound()) return Status::NotFound(key.ToString());
  return FromRocks(s, "read index " + path_);
}

Index::RangeIterator::RangeIterator(Index* index, Cf which, std::string lower, std::string upper)
    : lower_(std::move(lower)),
      upper_(std::move(upper)),
      lower_slice_(lower_),
      upper_slice_(upper_) {
  rocksdb::ReadOptions ro;
  ro.iterate_lower_bound = &lower_slice_;
  ro.iterate_upper_bound = &upper_slice_;
  it_.reset(index->db()->NewIterator(ro, index->cf(which)));
}

Status Index::Write(rocksdb::WriteBatch* batch, bool disable_wal) {
  if (read_only_) return Status::IllegalState("index " + path_ + " is open read-only");
  rocksdb::WriteOptions wo;
  wo.disableWAL = disable_wal;
  return FromRocks(db_->Write(wo, batch), "write index " + path_);
}

Status Index::Clear() {
  if (read_only_) return Status::IllegalState("index " + path_ + " is open read-only");
  for (int i = 0; i < kNumCf; ++i) {
    rocksdb::ColumnFamilyHandle* h = handles_[i];
    std::string name = h->GetName();
    rocksdb::Status s = db_->DropColumnFamily(h);
    if (!s.ok()) return FromRocks(s, "drop " + name + " in " + path_);
    db_->DestroyColumnFamilyHandle(h);
    handles_[i] = nullptr;
    s = db_->CreateColumnFamily(CfOptions(), name, &handles_[i]);
    if (!s.ok()) return FromRocks(s, "create " + name + " in " + path_);
  }
  return Status::OK();
}

Status Index::FlushAll() {
  if (read_only_) return Status::OK();
  rocksdb::FlushOptions fo;
  return FromRocks(db_->Flush(fo, handles_), "flush index " + path_);
}

Status Index::LatestChangeStamp(int64_t* stamp) {
  *stamp = 0;
  RangeIterator it(this, kFields, std::string(kChangedField) + '\0',
                   std::string(kChangedField) + '\x01');
  it->SeekToLast();
  std::string_view field, enc, exp, test;
  if (it->Valid() && ParseFieldKey(std::string_view(it->key().data(), it->key().size()), &field,
                                   &enc, &exp, &test)) {
    nlohmann::json v = DecodeFieldValue(enc);
    if (v.is_number()) *stamp = static_cast<int64_t>(v.get<double>());
  }
  return FromRocks(it->status(), "read the change feed of " + path_);
}

int64_t Index::NextChangeStamp() {
  if (last_change_stamp_ < 0) {
    int64_t latest = 0;
    LatestChangeStamp(&latest);  // unreadable: the clock alone
    last_change_stamp_ = latest;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  last_change_stamp_ = std::max(now, last_change_stamp_ + 1);
  return last_change_stamp_;
}

}  // namespace lumodb

// Index: the RocksDB database: column families and their options, opened as
// writer, secondary or read-only view.
#include "index/index.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include <rocksdb/filter_policy.h>
#include <rocksdb/memtablerep.h>
#include <rocksdb/table.h>

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

rocksdb::ColumnFamilyOptions CfOptions() {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
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

Status Index::Open(const std::string& path, bool read_only,
                   std::unique_ptr<Index>* out) {
  std::unique_ptr<Index> index(new Index());
  index->path_ = path;
  Status s;
  if (!read_only) {
    s = index->OpenWriter();
    if (s.code() != Status::Code::kBusy) {
      if (s.ok()) *out = std::move(index);
      return s;
    }
  }
  s = index->OpenSecondary();
  if (s.ok()) *out = std::move(index);
  return s;
}

Status Index::OpenBulk(const std::string& path, std::unique_ptr<Index>* out) {
  std::unique_ptr<Index> index(new Index());
  index->path_ = path;
  rocksdb::Options options = BaseOptions();
  options.error_if_exists = true;
  options.allow_concurrent_memtable_write = false;  // VectorRep needs it
  rocksdb::ColumnFamilyOptions cf = CfOptions();
  cf.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  cf.write_buffer_size = 128 << 20;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(options), path,
                                        Descriptors(cf), &index->handles_, &db);
  if (!s.ok()) return FromRocks(s, "create index " + path);
  index->db_.reset(db);
  index->TakeDefaultHandle();
  *out = std::move(index);
  return Status::OK();
}

Status Index::OpenSnapshot(const std::string& path, std::unique_ptr<Index>* out) {
  if (!std::filesystem::exists(path + "/CURRENT")) {
    return Status::NotFound("no index at " + path);
  }
  std::unique_ptr<Index> index(new Index());
  index->path_ = path;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(
      rocksdb::DBOptions(BaseOptions()), path, Descriptors(), &index->handles_, &db);
  if (s.IsInvalidArgument() && s.ToString().find("Column family not found") != std::string::npos) {
    // An index made before a family was added: opening it for writing
    // creates the family.
    return Status::NotFound("index " + path + " lacks a column family: " + s.ToString());
  }
  if (!s.ok()) return FromRocks(s, "open index " + path + " read-only");
  index->db_.reset(db);
  index->TakeDefaultHandle();
  index->read_only_ = true;
  index->snapshot_ = true;
  *out = std::move(index);
  return Status::OK();
}

Status Index::OpenWriter() {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) return Status::IOError("create index directory " + path_ + ": " + ec.message());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(rocksdb::DBOptions(BaseOptions()), path_, Descriptors(),
                        &handles_, &db);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Status::Busy("index " + path_ + " is held by another process");
  }
  if (!s.ok()) return FromRocks(s, "open index " + path_);
  db_.reset(db);
  TakeDefaultHandle();
  return Status::OK();
}

Status Index::OpenSecondary() {
  if (!std::filesystem::exists(path_ + "/CURRENT")) {
    return Status::NotFound("no index at " + path_ +
                            " (run `lumo-db reindex` or a load first)");
  }
  const char* tmp = getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/lumodb-secondary-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    return Status::FromErrno("create secondary directory", dir, errno);
  }
  secondary_path_ = dir;
  rocksdb::Options options = BaseOptions();
  options.max_open_files = -1;  // required for a secondary instance
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(
      rocksdb::DBOptions(options), path_, secondary_path_, Descriptors(),
      &handles_, &db);
  if (!s.ok()) return FromRocks(s, "open index " + path_ + " as secondary");
  db_.reset(db);
  TakeDefaultHandle();
  read_only_ = true;
  return CatchUp();
}

void Index::TakeDefaultHandle() {
  default_handle_ = handles_.front();
  handles_.erase(handles_.begin());
}

Index::~Index() {
  handles_.push_back(default_handle_);
  for (auto* h : handles_) {
    if (db_ != nullptr && h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  handles_.clear();
  db_.reset();
  if (!secondary_path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_path_, ec);
  }
}

Status Index::Get(Cf which, const rocksdb::Slice& key, std::string* value) {
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[which], key, value);
  if (s.IsNotFound()) return Status::NotFound(key.ToString());
  return FromRocks(s, "read index " + path_);
}

Index::RangeIterator::RangeIterator(Index* index, Cf which, std::string lower,
                                    std::string upper)
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

Status Index::CatchUp() {
  if (!read_only_ || snapshot_) return Status::OK();
  return FromRocks(db_->TryCatchUpWithPrimary(), "catch up with index " + path_);
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

}  // namespace lumodb

#include "row_pipe.h"

#include <cstring>
#include <utility>

namespace lumodb::python {
namespace {

// A chunk goes to the queue past this size. The reader runs at most 32 MiB
// ahead: enough to read on while the caller does something else first
// (imports pandas), little beside the Python objects made of the rows.
constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kQueuedChunks = 128;

}  // namespace

bool RowChunk::Next(std::string_view* row) {
  if (pos_ + sizeof(uint32_t) > bytes_.size()) return false;
  uint32_t n = 0;
  std::memcpy(&n, bytes_.data() + pos_, sizeof(n));
  pos_ += sizeof(n);
  // Invariant: the pipe writes whole rows only.
  *row = std::string_view(bytes_.data() + pos_, n);
  pos_ += n;
  return true;
}

RowPipe::RowPipe(Watcher* watcher, Query query, ReadOptions options, Encode encode)
    : watcher_(watcher) {
  thread_ = std::thread(&RowPipe::Read, this, std::move(query), std::move(options),
                        std::move(encode));
}

RowPipe::~RowPipe() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RowPipe::Read(Query query, ReadOptions options, Encode encode) {
  filling_.reserve(kChunkBytes + 4096);
  Status s = watcher_->read(query, options, [&](const RunRow& row) {
    const size_t at = filling_.size();
    filling_.append(sizeof(uint32_t), '\0');
    encode(row, &filling_);
    const uint32_t n = static_cast<uint32_t>(filling_.size() - at - sizeof(uint32_t));
    std::memcpy(filling_.data() + at, &n, sizeof(n));
    if (filling_.size() >= kChunkBytes && !Push()) {
      return Status::IllegalState("read stopped by its caller");
    }
    return Status::OK();
  });
  if (s.ok() && !filling_.empty()) Push();
  std::lock_guard<std::mutex> lock(mu_);
  status_ = s;
  done_ = true;
  changed_.notify_all();
}

bool RowPipe::Push() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return cancelled_ || ready_.size() < kQueuedChunks; });
  if (cancelled_) return false;
  ready_.push_back(std::move(filling_));
  if (!spare_.empty()) {
    filling_ = std::move(spare_.back());
    spare_.pop_back();
  } else {
    filling_ = std::string();
    filling_.reserve(kChunkBytes + 4096);
  }
  filling_.clear();
  changed_.notify_all();
  return true;
}

bool RowPipe::Next(std::string* chunk) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return done_ || !ready_.empty(); });
  if (ready_.empty()) return false;
  *chunk = std::move(ready_.front());
  ready_.pop_front();
  changed_.notify_all();
  return true;
}

void RowPipe::Recycle(std::string chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  if (spare_.size() < 4) spare_.push_back(std::move(chunk));
}

Status RowPipe::Finish() {
  if (thread_.joinable()) thread_.join();
  return status_;
}

}  // namespace lumodb::python

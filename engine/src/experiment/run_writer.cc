// RunWriter: buffered journal appends, coalesced metrics, the metric log,
// heartbeat.
#include "experiment/run_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>

#include "journal/writer.h"
#include "journal_generated.h"
#include "util/ticking_clock.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

bool Improves(Cmp cmp, double value, double best) {
  switch (cmp) {
    case Cmp::Max:
      return value > best;
    case Cmp::Min:
      return value < best;
    case Cmp::None:
      return true;
  }
  return true;
}

}  // namespace

Status RunWriter::Open(const std::string& journal_path,
                       const std::string& marker_path,
                       const ExperimentOptions& options,
                       std::unique_ptr<RunWriter>* out) {
  if (options.flush_interval_ms <= 0 || options.flush_interval_ms > 200) {
    return Status::InvalidArgument(
        "flush_interval_ms " + std::to_string(options.flush_interval_ms) +
        " is outside 1..200");
  }
  std::unique_ptr<JournalWriter> journal;
  Status s = JournalWriter::Open(journal_path, &journal);
  if (!s.ok()) return s;
  out->reset(new RunWriter(journal_path, marker_path, options,
                           std::move(journal)));
  return Status::OK();
}

RunWriter::RunWriter(std::string journal_path, std::string marker_path,
                     ExperimentOptions options,
                     std::unique_ptr<JournalWriter> journal)
    : journal_path_(std::move(journal_path)),
      marker_path_(std::move(marker_path)),
      options_(options),
      journal_(std::move(journal)) {
  next_seq_ = journal_->next_seq();
}

RunWriter::~RunWriter() { Stop(); }

void RunWriter::AppendPayload(const uint8_t* data, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  JournalWriter::EncodeFrame(
      next_seq_++, std::string_view(reinterpret_cast<const char*>(data), size),
      &pending_);
}

double RunWriter::Metric(const std::string& key, double value, Cmp cmp,
                         const std::string& extras, int64_t step) {
  const int64_t now = TickingClockMicros();  // outside the lock: it is a read
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = metrics_.try_emplace(key);
  MetricState& m = it->second;
  if (inserted || m.cmp != cmp || Improves(cmp, value, m.best)) {
    m.cmp = cmp;
    m.best = value;
    m.best_extras = extras;
  }
  if (step == kAutoStep) step = m.count;
  m.last = value;
  m.last_step = step;
  m.count++;
  if (m.log.empty() || m.log.back()->size == kLogChunkPoints) m.log.push_back(chunks_.Take());
  m.log.back()->Append({step, now, value});
  if (!m.dirty) {
    m.dirty = true;
    dirty_.push_back(key);
  }
  return m.best;
}

void RunWriter::AppendPendingMetrics() {
  std::lock_guard<std::mutex> lock(mu_);
  EncodeAllDirtyLocked();
}

std::unordered_map<std::string, MetricState> RunWriter::Metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::unordered_map<std::string, MetricState> out;
  for (const auto& [key, m] : metrics_) {
    // Without the values waiting for the flusher: they may be millions.
    MetricState& copy = out[key];
    copy.cmp = m.cmp;
    copy.best = m.best;
    copy.best_extras = m.best_extras;
    copy.last = m.last;
    copy.count = m.count;
    copy.last_step = m.last_step;
    copy.dirty = m.dirty;
  }
  return out;
}

namespace {

std::string_view BufferOf(const flatbuffers::FlatBufferBuilder& fbb) {
  return std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                          fbb.GetSize());
}

}  // namespace

uint64_t RunWriter::TakeLogsLocked(std::vector<TakenLog>* logs) {
  for (const std::string& key : dirty_) {
    MetricState& m = metrics_[key];
    if (m.log.empty()) continue;
    logs->push_back({key, std::move(m.log)});
    m.log.clear();
  }
  const uint64_t first = next_seq_;
  next_seq_ += CountLogFrames(*logs);
  return first;
}

void RunWriter::ReturnLogs(std::vector<TakenLog>* logs) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LogChunks*> given;
  for (TakenLog& log : *logs) given.push_back(&log.chunks);
  chunks_.Give(std::move(given));
}

void RunWriter::EncodeDirtyMetricsLocked(std::string* out) {
  if (dirty_.empty()) return;
  flatbuffers::FlatBufferBuilder fbb(256);
  int64_t now = NowMicros();
  for (const std::string& key : dirty_) {
    MetricState& m = metrics_[key];
    m.dirty = false;
    fbb.Clear();
    auto metric = fbs::CreateMetricDirect(
        fbb, key.c_str(), static_cast<fbs::Cmp>(m.cmp), m.best,
        m.best_extras.c_str(), m.last, m.count, m.last_step);
    fbb.Finish(fbs::CreateRunEvent(fbb, now, fbs::Event::Metric, metric.Union()));
    JournalWriter::EncodeFrame(next_seq_++, BufferOf(fbb), out);
  }
  dirty_.clear();
}

void RunWriter::EncodeAllDirtyLocked() {
  std::vector<TakenLog> logs;
  uint64_t first = TakeLogsLocked(&logs);
  flatbuffers::FlatBufferBuilder fbb;
  EncodeLogFrames(logs, first, &fbb, &pending_);
  EncodeDirtyMetricsLocked(&pending_);
}

Status RunWriter::Flush(bool durable) {
  std::lock_guard<std::mutex> io_lock(io_mu_);
  std::string metric_frames;
  std::vector<TakenLog> logs;
  uint64_t first_log_seq;
  // Kept across flushes with its capacity: megabytes of log frames a flush
  // would otherwise page-fault in afresh.
  std::string& frames = flush_buffer_;
  frames.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    frames.append(pending_);
    pending_.clear();
    // The log's seqs come before the Metric frames': a journal cut between
    // them keeps values whose best and count have not been written, never
    // a count without its values.
    first_log_seq = TakeLogsLocked(&logs);
    EncodeDirtyMetricsLocked(&metric_frames);
  }
  // Encoding a long log takes a while; the trainer logs on meanwhile.
  EncodeLogFrames(logs, first_log_seq, &flush_fbb_, &frames);
  frames.append(metric_frames);
  ReturnLogs(&logs);
  Status s;
  if (!frames.empty()) {
    s = journal_->Append(frames);
    if (!s.ok()) {
      // Keep the frames, in order, ahead of anything queued meanwhile.
      std::lock_guard<std::mutex> lock(mu_);
      pending_.insert(0, frames);
      if (error_.ok() && options_.warn_to_stderr) {
        std::fprintf(stderr, "lumo-db: warning: %s (records kept in memory)\n",
                     s.ToString().c_str());
      }
      error_ = s;
      return s;
    }
  }
  // A burst's buffer is not kept.
  if (frames.capacity() > (size_t{32} << 20)) std::string().swap(frames);
  if (durable) s = journal_->Sync();
  return s;
}

Status RunWriter::Activate() {
  int fd = ::open(marker_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                  0644);
  if (fd < 0) return Status::FromErrno("create marker", marker_path_, errno);
  std::string info_dir = journal_path_.substr(0, journal_path_.rfind('/'));
  ssize_t n = ::write(fd, info_dir.data(), info_dir.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(info_dir.size())) {
    return Status::FromErrno("write marker", marker_path_, errno);
  }
  last_touch_us_ = NowMicros();
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void RunWriter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Flush(true);
}

Status RunWriter::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void RunWriter::TouchMarker() {
  // Re-create the marker if a Watcher retired it: the run is alive.
  if (::utimensat(AT_FDCWD, marker_path_.c_str(), nullptr, 0) != 0 &&
      errno == ENOENT) {
    int fd = ::open(marker_path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
  }
  last_touch_us_ = NowMicros();
}

void RunWriter::Loop() {
  const auto interval = std::chrono::milliseconds(options_.flush_interval_ms);
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval);
    if (stop_) break;
    bool has_work = !pending_.empty() || !dirty_.empty();
    lock.unlock();
    if (has_work) Flush(false);
    if (NowMicros() - last_touch_us_ >=
        int64_t{options_.heartbeat_interval_ms} * 1000) {
      TouchMarker();
    }
    lock.lock();
  }
}

}  // namespace lumodb

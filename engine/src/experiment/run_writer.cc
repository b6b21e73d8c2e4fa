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

// A MetricLog frame holds at most this many values and about this many
// bytes, far below the 16 MiB a frame may hold (a trainer can log millions
// of values in one flush interval).
constexpr size_t kMaxLogPoints = size_t{1} << 17;
constexpr size_t kMaxLogBytes = size_t{4} << 20;

// Part of one key's taken values that goes into one frame.
struct LogSlice {
  size_t log, begin, end;
};

// Cuts the taken logs, in order, into frames within the limits above.
template <typename Log>
std::vector<std::vector<LogSlice>> PackLogs(const std::vector<Log>& logs) {
  std::vector<std::vector<LogSlice>> frames;
  size_t points_room = 0, bytes_room = 0;
  for (size_t i = 0; i < logs.size(); ++i) {
    const size_t n = logs[i].points.size();
    const size_t overhead = logs[i].key.size() + 64;
    size_t begin = 0;
    while (begin < n) {
      // 28 bytes: the most a value takes (two 10-byte varints, a double).
      if (points_room == 0 || bytes_room < overhead + 28) {
        frames.emplace_back();
        points_room = kMaxLogPoints;
        bytes_room = kMaxLogBytes;
      }
      const size_t take =
          std::min({n - begin, points_room, (bytes_room - overhead) / 28});
      frames.back().push_back({i, begin, begin + take});
      begin += take;
      points_room -= take;
      bytes_room -= overhead + 28 * take;
    }
  }
  return frames;
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
  const int64_t now = CoarseNowMicros();  // outside the lock: it is a read
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
  m.log.push_back({step, now, value});
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

// The MetricLog frames of the taken logs, seq first_seq on, into *out.
template <typename Log>
void EncodeLogFrames(const std::vector<Log>& logs, uint64_t first_seq, std::string* out) {
  flatbuffers::FlatBufferBuilder fbb(4096);
  const int64_t now = NowMicros();
  uint64_t seq = first_seq;
  for (const std::vector<LogSlice>& frame : PackLogs(logs)) {
    fbb.Clear();
    std::vector<flatbuffers::Offset<fbs::MetricPoints>> metrics;
    for (const LogSlice& slice : frame) {
      const Log& log = logs[slice.log];
      metrics.push_back(BuildMetricPoints(fbb, log.key, log.points.data() + slice.begin,
                                          slice.end - slice.begin));
    }
    auto record = fbs::CreateMetricLog(fbb, fbb.CreateVector(metrics));
    fbb.Finish(fbs::CreateRunEvent(fbb, now, fbs::Event::MetricLog, record.Union()));
    JournalWriter::EncodeFrame(seq++, BufferOf(fbb), out);
  }
}

}  // namespace

uint64_t RunWriter::TakeLogsLocked(std::vector<TakenLog>* logs) {
  for (const std::string& key : dirty_) {
    MetricState& m = metrics_[key];
    if (m.log.empty()) continue;
    logs->push_back({key, std::move(m.log)});
    m.log = std::move(m.spare);
    m.spare = std::vector<SeriesPoint>();
    // The next interval likely logs as many values: no regrowing from 1.
    if (m.log.capacity() == 0) {
      m.log.reserve(std::min<size_t>(logs->back().points.size(), size_t{1} << 16));
    }
  }
  const uint64_t first = next_seq_;
  next_seq_ += PackLogs(*logs).size();
  return first;
}

void RunWriter::ReturnLogs(std::vector<TakenLog>* logs) {
  // Buffers past a million values are freed: memory for a burst is not kept.
  constexpr size_t kMaxSpare = size_t{1} << 20;
  std::lock_guard<std::mutex> lock(mu_);
  for (TakenLog& log : *logs) {
    auto it = metrics_.find(log.key);
    if (it == metrics_.end() || it->second.spare.capacity() != 0 ||
        log.points.capacity() > kMaxSpare) {
      continue;
    }
    log.points.clear();
    it->second.spare = std::move(log.points);
  }
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
  EncodeLogFrames(logs, first, &pending_);
  EncodeDirtyMetricsLocked(&pending_);
}

Status RunWriter::Flush(bool durable) {
  std::lock_guard<std::mutex> io_lock(io_mu_);
  std::string frames, metric_frames;
  std::vector<TakenLog> logs;
  uint64_t first_log_seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    frames.swap(pending_);
    // The log's seqs come before the Metric frames': a journal cut between
    // them keeps values whose best and count have not been written, never
    // a count without its values.
    first_log_seq = TakeLogsLocked(&logs);
    EncodeDirtyMetricsLocked(&metric_frames);
  }
  // Encoding a long log takes a while; the trainer logs on meanwhile.
  EncodeLogFrames(logs, first_log_seq, &frames);
  frames.append(metric_frames);
  ReturnLogs(&logs);
  Status s;
  if (!frames.empty()) {
    s = journal_->Append(frames);
    if (!s.ok()) {
      // Keep the frames, in order, ahead of anything queued meanwhile.
      std::lock_guard<std::mutex> lock(mu_);
      frames.append(pending_);
      pending_.swap(frames);
      if (error_.ok() && options_.warn_to_stderr) {
        std::fprintf(stderr, "lumo-db: warning: %s (records kept in memory)\n",
                     s.ToString().c_str());
      }
      error_ = s;
      return s;
    }
  }
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

// RunWriter: the store side of one run. Buffers encoded journal frames,
// metric states and every logged metric value in memory, and a background
// thread writes them to the journal within flush_interval_ms and keeps the
// marker's heartbeat fresh.
#ifndef LUMODB_RUN_WRITER_H_
#define LUMODB_RUN_WRITER_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "experiment/metric_log_buffer.h"
#include "lumodb/experiment.h"
#include "lumodb/options.h"
#include "lumodb/status.h"

namespace lumodb {

class JournalWriter;

struct MetricState {
  Cmp cmp = Cmp::None;
  double best = 0;
  std::string best_extras;
  double last = 0;
  int64_t count = 0;
  int64_t last_step = 0;
  bool dirty = false;
  // Values logged since the last flush, in call order (the MetricLog).
  LogChunks log;
};

class RunWriter {
 public:
  static Status Open(const std::string& journal_path,
                     const std::string& marker_path,
                     const ExperimentOptions& options,
                     std::unique_ptr<RunWriter>* out);
  ~RunWriter();

  // Queues one encoded RunEvent payload as the next journal frame.
  void AppendPayload(const uint8_t* data, size_t size);

  // dump_metric: updates the state, logs (step, now, value) and returns the
  // best value. step kAutoStep: the key's count of values so far. The
  // journal gets every logged value and the latest state of each changed
  // metric at the next flush.
  double Metric(const std::string& key, double value, Cmp cmp,
                const std::string& extras, int64_t step);
  // Queues the state of every metric changed since the last flush now, so
  // the frames appended next (the End record) come after it.
  void AppendPendingMetrics();
  // A copy of every metric's state without its logged values (for
  // properties()).
  std::unordered_map<std::string, MetricState> Metrics() const;

  // Writes what is pending; durable also fsyncs. Records that could not be
  // written (full disk) stay pending and the error is returned.
  Status Flush(bool durable);

  // Creates the marker (the run becomes visible to Watchers) and starts the
  // background flusher and heartbeat thread.
  Status Activate();
  // Stops the thread after a last flush. Idempotent.
  void Stop();

  const std::string& journal_path() const { return journal_path_; }
  // The first write error seen, if any, for warnings.
  Status last_error() const;

 private:
  RunWriter(std::string journal_path, std::string marker_path,
            ExperimentOptions options, std::unique_ptr<JournalWriter> journal);
  // Moves the dirty keys' logged values into *logs and reserves the seq
  // numbers of the MetricLog frames they make (returns the first).
  uint64_t TakeLogsLocked(std::vector<TakenLog>* logs);
  // Gives the encoded logs' chunks back to the pool.
  void ReturnLogs(std::vector<TakenLog>* logs);
  // Encodes the Metric frame of each dirty key into *out.
  void EncodeDirtyMetricsLocked(std::string* out);
  // Everything dirty, in frame order, into pending_ (at the end of a run).
  void EncodeAllDirtyLocked();
  void Loop();
  void TouchMarker();

  const std::string journal_path_;
  const std::string marker_path_;
  const ExperimentOptions options_;

  // Guards pending_, metrics_, chunks_, dirty_, next_seq_, error_, stop_.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;
  std::unordered_map<std::string, MetricState> metrics_;
  ChunkPool chunks_;
  std::vector<std::string> dirty_;
  uint64_t next_seq_ = 1;
  Status error_;
  bool stop_ = false;

  // Held while frames move from pending_ to the file, so two flushes never
  // reorder frames. Lock order: io_mu_ before mu_.
  std::mutex io_mu_;
  std::unique_ptr<JournalWriter> journal_;
  std::string flush_buffer_;  // the frames of one flush
  flatbuffers::FlatBufferBuilder flush_fbb_{1 << 16};
  int64_t last_touch_us_ = 0;
  std::thread thread_;
};

}  // namespace lumodb

#endif  // LUMODB_RUN_WRITER_H_

// The values dump_metric logged since the last flush, held in fixed chunks
// that never move (a call appends 24 bytes, never copies a buffer), and
// the MetricLog journal frames the flusher makes of them.
#ifndef LUMODB_EXPERIMENT_METRIC_LOG_BUFFER_H_
#define LUMODB_EXPERIMENT_METRIC_LOG_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "journal/metric_log.h"

namespace lumodb {

constexpr size_t kLogChunkPoints = 4096;  // 96 KiB: below malloc's mmap threshold

// A chunk's values are written one by one as they are logged, so a new
// chunk is left uninitialised (not 96 KiB of zeros).
struct LogChunk {
  static std::unique_ptr<LogChunk> New() { return std::unique_ptr<LogChunk>(new LogChunk); }
  void Append(const SeriesPoint& p) { points[size++] = p; }

  size_t size = 0;
  SeriesPoint points[kLogChunkPoints];

 private:
  LogChunk() {}  // user-provided: `new LogChunk` does not zero points
};
using LogChunks = std::vector<std::unique_ptr<LogChunk>>;

// Chunks the flusher emptied, for the trainer to fill again: logging writes
// into memory that is already there (no allocation, no page faults). Not
// thread-safe: the RunWriter's mutex guards it.
class ChunkPool {
 public:
  // An empty chunk, from the pool or new.
  std::unique_ptr<LogChunk> Take();
  // Takes chunks back. The pool keeps as many as the last flush gave back
  // (the next interval likely logs as many values) and frees the rest.
  void Give(std::vector<LogChunks*> given);

 private:
  LogChunks free_;
};

// The logged values of one key, taken for a flush.
struct TakenLog {
  std::string key;
  LogChunks chunks;
};

// How many MetricLog frames EncodeLogFrames makes of logs: a frame holds at
// most 131,072 values and about 4 MiB, far below the 16 MiB a frame may
// hold (a trainer can log millions of values between two flushes).
size_t CountLogFrames(const std::vector<TakenLog>& logs);

// Appends the MetricLog frames of logs, seq first_seq on, to *out: one
// MetricPoints table per chunk, keys and chunks in order. fbb is scratch
// (a kept one keeps its memory from flush to flush).
void EncodeLogFrames(const std::vector<TakenLog>& logs, uint64_t first_seq,
                     flatbuffers::FlatBufferBuilder* fbb, std::string* out);

}  // namespace lumodb

#endif  // LUMODB_EXPERIMENT_METRIC_LOG_BUFFER_H_

// Chunks of logged metric values and their MetricLog frames.
#include "experiment/metric_log_buffer.h"

#include "journal/writer.h"
#include "journal_generated.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

constexpr size_t kMaxLogPoints = size_t{1} << 17;
constexpr size_t kMaxLogBytes = size_t{4} << 20;

// One chunk of one key that goes into a frame.
struct ChunkRef {
  size_t log, chunk;
};

// Cuts the chunks of logs, in order, into frames within the limits above.
std::vector<std::vector<ChunkRef>> PackFrames(const std::vector<TakenLog>& logs) {
  std::vector<std::vector<ChunkRef>> frames;
  size_t points = 0, bytes = 0;
  for (size_t i = 0; i < logs.size(); ++i) {
    for (size_t c = 0; c < logs[i].chunks.size(); ++c) {
      const size_t n = logs[i].chunks[c]->size;
      // 28 bytes: the most a value takes (two 10-byte varints, a double).
      const size_t size = logs[i].key.size() + 64 + 28 * n;
      if (frames.empty() || points + n > kMaxLogPoints || bytes + size > kMaxLogBytes) {
        frames.emplace_back();
        points = bytes = 0;
      }
      frames.back().push_back({i, c});
      points += n;
      bytes += size;
    }
  }
  return frames;
}

}  // namespace

std::unique_ptr<LogChunk> ChunkPool::Take() {
  if (free_.empty()) return LogChunk::New();
  std::unique_ptr<LogChunk> chunk = std::move(free_.back());
  free_.pop_back();
  return chunk;
}

void ChunkPool::Give(std::vector<LogChunks*> given) {
  size_t n = 0;
  for (LogChunks* chunks : given) n += chunks->size();
  for (LogChunks* chunks : given) {
    for (auto& chunk : *chunks) {
      if (free_.size() >= n) break;
      chunk->size = 0;
      free_.push_back(std::move(chunk));
    }
    chunks->clear();
  }
}

size_t CountLogFrames(const std::vector<TakenLog>& logs) { return PackFrames(logs).size(); }

void EncodeLogFrames(const std::vector<TakenLog>& logs, uint64_t first_seq,
                     flatbuffers::FlatBufferBuilder* fbb, std::string* out) {
  const int64_t now = NowMicros();
  uint64_t seq = first_seq;
  std::vector<flatbuffers::Offset<fbs::MetricPoints>> tables;
  for (const std::vector<ChunkRef>& frame : PackFrames(logs)) {
    fbb->Clear();
    tables.clear();
    for (const ChunkRef& ref : frame) {
      const LogChunk& chunk = *logs[ref.log].chunks[ref.chunk];
      tables.push_back(BuildMetricPoints(*fbb, logs[ref.log].key, chunk.points, chunk.size));
    }
    auto record = fbs::CreateMetricLog(*fbb, fbb->CreateVector(tables));
    fbb->Finish(fbs::CreateRunEvent(*fbb, now, fbs::Event::MetricLog, record.Union()));
    JournalWriter::EncodeFrame(
        seq++,
        std::string_view(reinterpret_cast<const char*>(fbb->GetBufferPointer()), fbb->GetSize()),
        out);
  }
}

}  // namespace lumodb

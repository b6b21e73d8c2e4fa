// RowPipe: a bulk read on a thread of its own, so that the engine reads and
// formats runs on one core while the caller's thread makes Python objects of
// the runs already read on the other. Rows cross as bytes, in chunks,
// through a short queue; the reading thread never touches Python.
#ifndef LUMODB_PYTHON_ROW_PIPE_H_
#define LUMODB_PYTHON_ROW_PIPE_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "lumodb/lumodb.h"

namespace lumodb::python {

// A chunk holds whole rows, each as a 4-byte length (host order) and the
// bytes the encoder appended.
class RowChunk {
 public:
  explicit RowChunk(std::string bytes) : bytes_(std::move(bytes)) {}
  // The next row's bytes; false past the last.
  bool Next(std::string_view* row);
  std::string Release() { return std::move(bytes_); }

 private:
  std::string bytes_;
  size_t pos_ = 0;
};

class RowPipe {
 public:
  // Appends one row's bytes to out (the pipe frames them).
  using Encode = std::function<void(const RunRow& row, std::string* out)>;

  // Starts the read of query on watcher, which nothing else may use until
  // Finish() (or the destructor) returns.
  RowPipe(Watcher* watcher, Query query, ReadOptions options, Encode encode);
  // Stops a read still going (the caller gave up: an exception) and waits.
  ~RowPipe();
  RowPipe(const RowPipe&) = delete;
  RowPipe& operator=(const RowPipe&) = delete;

  // The next chunk of rows, in query order; false when the read is over.
  // Blocks while the reader is behind; call without any lock the reader
  // could need (the caller releases the GIL around it).
  bool Next(std::string* chunk);
  // A chunk's buffer back, for the reader to fill again.
  void Recycle(std::string chunk);
  // Waits for the reading thread; the read's status.
  Status Finish();

 private:
  void Read(Query query, ReadOptions options, Encode encode);
  // Hands the chunk being filled to the queue, waiting while it is full.
  bool Push();

  Watcher* watcher_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::string> ready_;  // chunks in query order
  std::vector<std::string> spare_;
  std::string filling_;            // the reader's own
  bool done_ = false;              // the reader has pushed its last chunk
  bool cancelled_ = false;
  Status status_;
  std::thread thread_;
};

}  // namespace lumodb::python

#endif  // LUMODB_PYTHON_ROW_PIPE_H_

// RunView: one run as the index holds it (its RunRecord and its entries in
// the info, text, metrics and reruns families), read without building any
// JSON. RunScanner reads every run in key order by walking the families side
// by side (they share the exp_name \0 test_name key prefix); RunReader reads
// runs by key, reusing one iterator per family. Both reuse the view's
// buffers from run to run, so a scan allocates nothing per run once warm.
#ifndef LUMODB_INDEX_RUN_VIEW_H_
#define LUMODB_INDEX_RUN_VIEW_H_

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "index/index.h"
#include "index_generated.h"
#include "lumodb/status.h"

namespace lumodb {

// The families a read needs besides the run record.
struct ReadPlan {
  bool info = true;
  // The info entries to read, sorted; empty: all of them.
  std::vector<std::string> info_names;
  bool text = true;
  bool metrics = true;
  bool reruns = true;

  bool WantsInfo(std::string_view name) const;
};

struct RunView {
  struct Entry {
    std::string name;
    std::string value;
  };
  // Entries in key order; only the first n_* are this run's (the vectors
  // keep their buffers for the next run).
  std::string exp, test;
  std::string record_bytes;  // the RunRecord FlatBuffer (heap-aligned)
  const fbs::RunRecord* record = nullptr;
  std::vector<Entry> info, text, metrics;  // metrics: MetricRecord FlatBuffers
  size_t n_info = 0, n_text = 0, n_metrics = 0;
  std::vector<std::string> reruns;  // test_names rerun from this run, in order
  size_t n_reruns = 0;
  std::string rerun_from;  // the run this one was rerun from, or empty

  // The info entry named key, or null.
  const Entry* Info(std::string_view key) const;
  // The verified MetricRecord of metrics[i], or null.
  const fbs::MetricRecord* Metric(size_t i) const;

  void Clear();
};

// Rerun links of runs by test_name: the reruns family is keyed by
// test_name, not by run, so a scan loads it once (when small enough) and
// looks runs up in memory; otherwise each run is one Seek.
class RerunLinks {
 public:
  RerunLinks(Index* index, const rocksdb::Snapshot* snapshot, bool preload);
  void Fill(RunView* view);

 private:
  struct Links {
    std::vector<std::string> to;
    std::string from;
  };
  void Parse(std::string_view key_rest, Links* links);

  std::unordered_map<std::string, Links> loaded_;
  bool preloaded_ = false;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Every run (of exp_name, when given) in key order.
class RunScanner {
 public:
  RunScanner(Index* index, const std::string& exp_name, const ReadPlan& plan,
             const rocksdb::Snapshot* snapshot);
  ~RunScanner();
  // Fills view with the next run; false at the end (check status()). A run
  // whose record fails verification is skipped and counted.
  bool Next(RunView* view);
  const Status& status() const { return status_; }
  size_t skipped() const { return skipped_; }

 private:
  struct Family;
  void Collect(Family* family, const std::string& prefix, const ReadPlan* names,
               std::vector<RunView::Entry>* entries, size_t* n);

  Index* index_;
  ReadPlan plan_;
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  rocksdb::ReadOptions options_;
  std::unique_ptr<rocksdb::Iterator> runs_;
  std::unique_ptr<Family> info_, text_, metrics_;
  std::unique_ptr<RerunLinks> reruns_;
  bool started_ = false;
  Status status_;
  size_t skipped_ = 0;
  std::string prefix_;
};

// Runs by key, one at a time.
class RunReader {
 public:
  RunReader(Index* index, const ReadPlan& plan, const rocksdb::Snapshot* snapshot);
  ~RunReader();
  // NotFound when the index holds no such run; Corruption (naming it) when
  // its record fails verification.
  Status Read(std::string_view exp, std::string_view test, RunView* view);

 private:
  void Collect(rocksdb::Iterator* it, const std::string& prefix, const ReadPlan* names,
               std::vector<RunView::Entry>* entries, size_t* n);

  Index* index_;
  ReadPlan plan_;
  rocksdb::ReadOptions options_;
  std::unique_ptr<rocksdb::Iterator> info_, text_, metrics_;
  std::unique_ptr<RerunLinks> reruns_;
  std::string prefix_;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_RUN_VIEW_H_

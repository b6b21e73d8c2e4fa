// Watcher: keeps the RocksDB index in step with the run journals and
// answers lookups and queries from it.
//
// load() is incremental: it lists the active-run markers under
// <info_root>/.lumodb/active/, compares each run's journal size with the
// offset the index has applied, and reads only the new records. A load when
// nothing changed reads one small directory. reindex() rebuilds the index
// from the journals alone.
//
// Only one process writes an index at a time; any number read it. Readers
// open a read-only view of the index's current generation and never fail
// because of a writer: a load, an import, a compaction, a reindex (which
// builds a new generation aside and switches to it) or a writer's crash
// leaves each reader answering from the old state or the new one. A
// Watcher that needs to write while another process writes waits its turn
// (WatcherOptions::writer_wait_ms). docs/format.md, "The index directory".
#ifndef LUMODB_WATCHER_H_
#define LUMODB_WATCHER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lumodb/options.h"
#include "lumodb/series.h"
#include "lumodb/status.h"

namespace lumodb {

// FIELD OP VALUE, e.g. "params.lr >= 0.01". OP: == != < <= > >= ~ (regex).
struct Filter {
  std::string field;  // dotted path: params.lr, metrics.acc, status, ...
  std::string op;
  std::string value;  // JSON scalar text or a bare word (a string)

  // Parses "params.lr>=0.1", "status == running", "exp_name ~ ^mnist".
  static Status Parse(const std::string& text, Filter* out);
};

// A run's two names.
struct RunName {
  std::string exp_name;
  std::string test_name;
};

struct Query {
  std::vector<Filter> filters;  // all must hold
  // Non-empty: only these runs (read by key, however many; names not in
  // the index are passed over). The filters, sort, offset and limit apply
  // to them as to all runs.
  std::vector<RunName> runs;
  std::string exp_name;         // empty: every experiment
  std::string status;           // empty: any
  // Empty: by start time, newest first. "exp_name" (ascending) is the
  // index's own order, exp_name then test_name: the cheapest to read.
  std::string sort_field;
  bool descending = false;
  size_t limit = 0;             // 0: no limit
  size_t offset = 0;            // skip this many matching runs first (pages)
};

// A value of one column of a row, typed. Text views stay valid only while
// the row is being visited.
struct FieldValue {
  enum class Type { kAbsent, kNull, kBool, kInt, kDouble, kString, kJson };
  Type type = Type::kAbsent;  // kAbsent: the run has no such field
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  // kString: the string (UTF-8); kJson: a list or object as compact JSON.
  std::string_view text;
};

// What a bulk read returns for each run.
struct ReadOptions {
  // Dotted paths (params.lr, metrics.acc, status, ...). Empty: whole runs.
  // Only the column families the columns need are read.
  std::vector<std::string> columns;
  // Whole runs also carry, under "info", the raw values an imported lumo
  // run recorded for keys the engine derives itself (its own progress,
  // pinfo, exp_name, ...). They are always addressable as columns
  // (info.progress.end_code) whether or not raw is set.
  bool raw = false;
};

// One run of a bulk read, handed to the visitor; valid during the call.
class RunRow {
 public:
  virtual ~RunRow() = default;
  virtual const std::string& exp_name() const = 0;
  virtual const std::string& test_name() const = 0;
  // The run as one compact JSON object: whole (lumo's keys, sorted), or,
  // when the read named columns, {column: value} in column order, null for
  // a column the run does not have.
  virtual std::string_view json() const = 0;
  // json() appended to out (for a whole run written straight into out,
  // without a copy of its own).
  virtual void AppendJson(std::string* out) const { out->append(json()); }
  // The read's column i, typed; and as compact JSON text ("null" when
  // absent).
  virtual FieldValue column(size_t i) const = 0;
  virtual std::string_view column_json(size_t i) const = 0;
};

// Called for each row in query order; a non-OK status stops the read and
// is what read() returns.
using RowVisitor = std::function<Status(const RunRow& row)>;

struct ReadStats {
  size_t rows = 0;     // rows visited
  size_t matched = 0;  // runs the filters accepted, before offset and limit
  bool matched_exact = false;  // false when the read stopped before the end
};

// Told how far a long job (import, reindex, export) has come: items done
// and items in all, at the job's own pace (every few hundred runs).
using Progress = std::function<void(size_t done, size_t total)>;

struct LoadStats {
  size_t markers = 0;          // active-run markers seen
  size_t runs_read = 0;        // journals opened
  size_t records_applied = 0;  // journal records applied
  size_t bytes_read = 0;
  size_t corrupt_records = 0;  // skipped with a warning
  size_t runs_killed = 0;      // runs found dead by this load
  size_t markers_retired = 0;
  size_t runs_failed = 0;      // skipped with a warning (unreadable journal)
};

struct ImportProblem {
  std::string path;  // the folder or file at fault
  std::string what;
};

struct ImportReport {
  size_t imported = 0;   // runs new to the index
  size_t updated = 0;    // runs whose files changed since the last import
  size_t unchanged = 0;
  size_t partial = 0;    // imported with what could be read
  size_t skipped = 0;    // folders that are not runs
  std::vector<ImportProblem> skipped_paths;
  std::vector<ImportProblem> problems;  // damaged or unsupported content
};

struct ImportOptions {
  // lumo's cache root of the imported trees (heartbeat/ and pid/). Empty:
  // the configured cache root when the tree is the configured info_root,
  // else the one registered by an earlier import of the same tree.
  std::string cache_root;
  // Compare every file's size and mtime for every run. Without it, a run
  // whose lumo pid marker and folders are as at the last import (and were
  // then settled) is unchanged without a look at its files.
  bool full_check = false;
  // Reading threads (0: 16). Reading is mostly waiting on the disk when the
  // tree is not in the page cache, so more threads than cores pay.
  int threads = 0;
  // Called with (runs done, runs found).
  Progress progress;
};

class Watcher {
 public:
  // Opens (creating if needed) the index for these roots.
  static Status Open(const Roots& roots, const WatcherOptions& options,
                     std::unique_ptr<Watcher>* out);
  virtual ~Watcher() = default;

  // Brings the index up to date with the journals.
  virtual Status load(LoadStats* stats = nullptr) = 0;
  // Drops the index contents and rebuilds them from every journal under
  // info_root (and the registered lumo trees). progress, when set, is
  // called with (journals read, journals found).
  virtual Status reindex(LoadStats* stats = nullptr, const Progress& progress = {}) = 0;

  // One run as JSON (lumo's keys). exp_name may be empty; a test_name that
  // names runs of several exp_names is kAmbiguous and candidates lists them
  // as "exp_name/test_name". raw: with lumo's raw values under "info".
  virtual Status retrieve(const std::string& test_name, const std::string& exp_name,
                          std::string* json, std::vector<std::string>* candidates = nullptr,
                          bool raw = false) = 0;

  // The bulk read every consumer uses (the CLI, the Python package, the
  // dashboard): the runs a query selects, streamed one row at a time to
  // visit, in query order, without holding all runs in memory. A sorted
  // read of many runs keeps only sort keys in memory (and the rows aside in
  // a temporary file when they exceed a few tens of MiB).
  virtual Status read(const Query& query, const ReadOptions& options, const RowVisitor& visit,
                      ReadStats* stats = nullptr) = 0;
  // Runs matching a query, each as one JSON object, in order (read() with
  // whole runs, collected).
  virtual Status query(const Query& query, std::vector<std::string>* runs) = 0;

  // Imports existing lumo trees, read-only: each path is a lumo home, an
  // info_root, an exp_name folder or one run folder. Registers each tree as
  // a source, so later loads pick up the runs lumo goes on writing (through
  // lumo's heartbeat folder under cache_root, when given). progress, when
  // set, is called with (runs done, runs found).
  virtual Status import_lumo(const std::vector<std::string>& paths,
                             const ImportOptions& options, ImportReport* report) = 0;
  // The same with default options but the cache root and progress.
  Status import_lumo(const std::vector<std::string>& paths, const std::string& cache_root,
                     ImportReport* report, const Progress& progress = {}) {
    ImportOptions options;
    options.cache_root = cache_root;
    options.progress = progress;
    return import_lumo(paths, options, report);
  }

  // Writes the runs a query selects in lumo's own layout, one folder
  // <out_dir>/<exp_name>/<test_name>/ each (info/<key>.json, text/<key>.str,
  // note.md, metric.pkl), so that lumo's Watcher can read them. out_dir is
  // created if missing. Nothing is written when a run's folder already
  // exists (an IOError naming it) or a run cannot be written; nothing
  // outside out_dir is ever touched. *exported counts the runs written;
  // progress, when set, is called with (runs written, runs selected).
  virtual Status export_lumo(const Query& selection, const std::string& out_dir,
                             size_t* exported, const Progress& progress = {}) = 0;

  // The history of metrics of runs (dump_metric's every value): one
  // MetricSeries per run and key, runs in request order, keys in request
  // order (or byte order when none are given). The one read the CLI
  // (`lumo-db metrics`), the dashboard and the Python package share.
  // NotFound names a run or key that is not in the index; kAmbiguous a
  // test_name of several exp_names. A key recorded only before metric
  // history existed has an empty series.
  virtual Status metric_series(const SeriesRequest& request,
                               std::vector<MetricSeries>* out) = 0;

  // The change feed: the runs the index wrote after stamp `after` (0: every
  // run), oldest change first, and in *latest the newest stamp (`after` when
  // nothing changed). A reader passes the latest it got to its next call
  // to re-read only what changed since; a rebuilt index (reindex) stamps
  // every run anew. Stamps are µs of the writer's clock, always increasing.
  // after < 0: no runs, only the newest stamp (0 for an empty index).
  virtual Status changed_runs(int64_t after, std::vector<RunName>* runs, int64_t* latest) = 0;

  // The state of the index this Watcher reads: it changes whenever
  // anything was written (or the index was rebuilt). A long-lived reader
  // compares it after each load() to learn whether anything changed.
  virtual uint64_t sequence() const = 0;
  virtual bool read_only() const = 0;
  virtual const std::string& db_path() const = 0;
};

}  // namespace lumodb

#endif  // LUMODB_WATCHER_H_

// Watcher: the public facade over the index. It owns the open index (a
// read-only view, or the writer) and hands it to the part that does each
// job: JournalLoader (load), LumoSync (imported lumo trees), RebuildIndex
// (reindex), QueryEngine (lookups and reads) and SeriesQuery (metric
// histories). docs/architecture.md draws
// the flow.
#include "lumodb/watcher.h"

#include <cstdlib>
#include <utility>

#include "index/index.h"
#include "index/query.h"
#include "index/series_query.h"
#include "lumo/export.h"
#include "watcher/journal_loader.h"
#include "watcher/lumo_sync.h"
#include "watcher/reindex.h"
#include "watcher/warnings.h"

namespace lumodb {

namespace {

class WatcherImpl : public Watcher {
 public:
  WatcherImpl(Roots roots, WatcherOptions options, std::unique_ptr<Index> index)
      : roots_(std::move(roots)),
        options_(options),
        index_(std::move(index)),
        warnings_(options.warn) {
    settings_.info_root = roots_.info_root;
    settings_.timezone = roots_.timezone;
    settings_.heartbeat_timeout_s = options_.heartbeat_timeout_s;
    settings_.marker_retire_s = options_.marker_retire_s;
  }

  Status load(LoadStats* stats) override {
    LoadStats local;
    if (stats == nullptr) stats = &local;
    if (index_->read_only()) {
      // What other writers did first; then a view becomes the writer only
      // when there is still something to write, so an unchanged index is
      // never opened for writing.
      FollowWriters();
      bool needed = false;
      Status s = JournalLoader(index_.get(), settings_, &warnings_).AnyToLoad(stats, &needed);
      if (s.ok() && !needed) s = Lumo().AnyChanged(&needed);
      if (!s.ok()) return s;
      if (!needed || options_.read_only) return Status::OK();
      *stats = LoadStats();
      s = BecomeWriter("load");
      if (s.code() == Status::Code::kBusy) {
        // Another process writes for longer than we wait: answer from the
        // index as it is; the writer (or the next load) takes the records.
        warnings_.Warn(s.message() + "; answering from the index as it is");
        return FollowWriters();
      }
      if (!s.ok()) return s;
    }
    Status s = JournalLoader(index_.get(), settings_, &warnings_).Load(stats);
    if (s.ok()) s = Lumo().Refresh();
    return Done(s);
  }

  Status reindex(LoadStats* stats, const Progress& progress) override {
    LoadStats local;
    if (stats == nullptr) stats = &local;
    Status s = BecomeWriter("reindex");
    if (!s.ok()) return s;
    // Imported lumo trees are sources too: read again into the new
    // generation before it is switched to, so readers never see it without
    // them.
    const std::vector<LumoSource> sources = Lumo().Sources();
    s = RebuildIndex(settings_, &warnings_, index_.get(), stats, progress, [&](Index* fresh) {
      for (const LumoSource& source : sources) {
        ImportOptions options;
        options.cache_root = source.cache_root;
        options.progress = progress;
        ImportReport report;
        Status st = LumoSync(fresh, roots_, &warnings_).Import({source.path()}, options, &report);
        for (const auto& p : report.problems) warnings_.Warn(p.path + ": " + p.what);
        if (!st.ok()) return st;
      }
      return Status::OK();
    });
    return Done(s);
  }

  Status retrieve(const std::string& test_name, const std::string& exp_name, std::string* json,
                  std::vector<std::string>* candidates, bool raw) override {
    return QueryEngine(index_.get(), roots_.timezone)
        .Retrieve(test_name, exp_name, raw, json, candidates);
  }

  Status read(const Query& q, const ReadOptions& options, const RowVisitor& visit,
              ReadStats* stats) override {
    return QueryEngine(index_.get(), roots_.timezone).Read(q, options, visit, stats);
  }

  Status query(const Query& q, std::vector<std::string>* runs) override {
    return QueryEngine(index_.get(), roots_.timezone).Run(q, runs);
  }

  Status changed_runs(int64_t after, std::vector<RunName>* runs, int64_t* latest) override {
    return QueryEngine(index_.get(), roots_.timezone).Changed(after, runs, latest);
  }

  Status metric_series(const SeriesRequest& request, std::vector<MetricSeries>* out) override {
    return SeriesQuery(index_.get()).Run(request, out);
  }

  using Watcher::import_lumo;
  Status import_lumo(const std::vector<std::string>& paths, const ImportOptions& options,
                     ImportReport* report) override {
    Status s = BecomeWriter("import");
    if (!s.ok()) return s;
    return Done(Lumo().Import(paths, options, report));
  }

  Status export_lumo(const Query& selection, const std::string& out_dir, size_t* exported,
                     const Progress& progress) override {
    *exported = 0;
    std::vector<std::pair<std::string, std::string>> runs;
    ReadOptions keys;
    keys.columns = {"exp_name"};  // the cheapest read that names the runs
    Status s = read(
        selection, keys,
        [&runs](const RunRow& row) {
          runs.emplace_back(row.exp_name(), row.test_name());
          return Status::OK();
        },
        nullptr);
    if (!s.ok()) return s;
    return ExportLumoRuns(index_.get(), roots_.timezone, runs, out_dir, exported, progress);
  }

  uint64_t sequence() const override { return index_->Sequence(); }
  bool read_only() const override { return index_->read_only(); }
  const std::string& db_path() const override { return index_->path(); }

 private:
  LumoSync Lumo() { return LumoSync(index_.get(), roots_, &warnings_); }

  // Turns the view into the writer, waiting for another writer as the
  // options say; Busy naming the holder when it does not finish in time.
  Status BecomeWriter(const std::string& job) {
    if (!index_->read_only()) return Status::OK();
    if (options_.read_only) {
      return Status::Busy("index " + index_->path() + " was opened read-only; " + job +
                          " needs to write it");
    }
    WriterWait wait;
    wait.timeout_ms = options_.writer_wait_ms;
    wait.job = job;
    wait.on_wait = [this](const std::string& line) { warnings_.Warn(line); };
    std::unique_ptr<Index> writer;
    Status s = Index::OpenWriter(index_->path(), wait, &writer);
    if (!s.ok()) return s;
    index_ = std::move(writer);
    return Status::OK();
  }

  // After a write job: tells readers, and gives the index back when asked.
  Status Done(const Status& s) {
    if (index_->read_only()) return s;
    index_->PublishSequence();
    if (options_.release_writer) {
      std::unique_ptr<Index> view;
      Status v = Index::OpenSnapshot(index_->path(), &view);
      if (v.ok()) {
        index_.reset();  // the lock goes with it
        index_ = std::move(view);
      }
    }
    return s;
  }

  // A view moves to the newest state other writers published; when that
  // fails it keeps answering from the state it has.
  Status FollowWriters() {
    if (!index_->read_only() || !index_->Stale()) return Status::OK();
    std::unique_ptr<Index> view;
    if (Index::OpenSnapshot(index_->path(), &view).ok()) index_ = std::move(view);
    return Status::OK();
  }

  Roots roots_;
  WatcherOptions options_;
  LoadSettings settings_;
  std::unique_ptr<Index> index_;
  Warnings warnings_;
};

}  // namespace

Status Watcher::Open(const Roots& roots_in, const WatcherOptions& options,
                     std::unique_ptr<Watcher>* out) {
  Roots roots = roots_in;
  const char* home = std::getenv("HOME");
  roots.FillDefaults(home != nullptr ? home : "/");
  std::string path = options.db_path;
  if (path.empty()) {
    const char* env = std::getenv("LUMODB_DB");
    path = env != nullptr && *env != '\0' ? env : roots.cache_root + "/lumodb/index";
  }
  std::unique_ptr<Index> index;
  Status s = Status::NotFound(path);
  // A lazy reader starts with a view; a missing index is made at once.
  if (options.lazy_writer || options.read_only) s = Index::OpenSnapshot(path, &index);
  if (s.IsNotFound() && !options.read_only) s = Index::Open(path, false, &index);
  if (!s.ok()) return s;
  out->reset(new WatcherImpl(std::move(roots), options, std::move(index)));
  return Status::OK();
}

}  // namespace lumodb

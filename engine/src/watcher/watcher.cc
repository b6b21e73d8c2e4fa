// Watcher: the public facade over the index. It owns the open index and
// hands it to the part that does each job: JournalLoader (load), LumoSync
// (imported lumo trees), RebuildIndex (reindex), QueryEngine (lookups and
// queries) and SeriesQuery (metric histories). docs/architecture.md draws
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
    if (index_->snapshot()) {
      // A lazy reader becomes the writer only when there is something to
      // write, so an unchanged index is never opened for writing.
      bool needed = false;
      Status s = JournalLoader(index_.get(), settings_, &warnings_).AnyToLoad(stats, &needed);
      if (s.ok() && !needed) s = Lumo().AnyChanged(&needed);
      if (!s.ok() || !needed) return s;
      *stats = LoadStats();
      s = ReopenAsWriter();
      if (!s.ok()) return s;
    }
    if (index_->read_only()) return index_->CatchUp();
    Status s = JournalLoader(index_.get(), settings_, &warnings_).Load(stats);
    if (!s.ok()) return s;
    return Lumo().Refresh();
  }

  Status reindex(LoadStats* stats, const Progress& progress) override {
    LoadStats local;
    if (stats == nullptr) stats = &local;
    Status s = BecomeWriter("reindex");
    if (!s.ok()) return s;
    // Imported lumo trees are sources too: read again after the rebuild.
    std::vector<LumoSource> sources = Lumo().Sources();
    s = RebuildIndex(settings_, &warnings_, &index_, stats, progress);
    if (!s.ok()) return s;
    for (const LumoSource& source : sources) {
      ImportOptions options;
      options.cache_root = source.cache_root;
      options.progress = progress;
      ImportReport report;
      s = Lumo().Import({source.path()}, options, &report);
      for (const auto& p : report.problems) warnings_.Warn(p.path + ": " + p.what);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  Status retrieve(const std::string& test_name, const std::string& exp_name, std::string* json,
                  std::vector<std::string>* candidates) override {
    return QueryEngine(index_.get(), roots_.timezone)
        .Retrieve(test_name, exp_name, json, candidates);
  }

  Status query(const Query& q, std::vector<std::string>* runs) override {
    return QueryEngine(index_.get(), roots_.timezone).Run(q, runs);
  }

  Status metric_series(const SeriesRequest& request, std::vector<MetricSeries>* out) override {
    return SeriesQuery(index_.get()).Run(request, out);
  }

  using Watcher::import_lumo;
  Status import_lumo(const std::vector<std::string>& paths, const ImportOptions& options,
                     ImportReport* report) override {
    Status s = BecomeWriter("import");
    if (!s.ok()) return s;
    return Lumo().Import(paths, options, report);
  }

  Status export_lumo(const Query& selection, const std::string& out_dir, size_t* exported,
                     const Progress& progress) override {
    *exported = 0;
    std::vector<std::string> selected;
    Status s = query(selection, &selected);
    if (!s.ok()) return s;
    std::vector<std::pair<std::string, std::string>> runs;
    for (const std::string& run : selected) {
      nlohmann::json j = nlohmann::json::parse(run, nullptr, false);
      runs.emplace_back(j.value("exp_name", ""), j.value("test_name", ""));
    }
    return ExportLumoRuns(index_.get(), roots_.timezone, runs, out_dir, exported, progress);
  }

  uint64_t sequence() const override { return index_->db()->GetLatestSequenceNumber(); }
  bool read_only() const override { return index_->read_only(); }
  const std::string& db_path() const override { return index_->path(); }

 private:
  LumoSync Lumo() { return LumoSync(index_.get(), roots_, &warnings_); }

  Status ReopenAsWriter() {
    std::string path = index_->path();
    index_.reset();
    return Index::Open(path, options_.read_only, &index_);
  }

  // Reopens a lazy reader's view for writing; Busy when another process
  // holds the index.
  Status BecomeWriter(const std::string& job) {
    if (index_->snapshot()) {
      Status s = ReopenAsWriter();
      if (!s.ok()) return s;
    }
    if (index_->read_only()) {
      return Status::Busy("index " + index_->path() + " is held by another process; " + job +
                          " needs it");
    }
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
  if (options.lazy_writer && !options.read_only) s = Index::OpenSnapshot(path, &index);
  if (s.IsNotFound()) s = Index::Open(path, options.read_only, &index);
  if (!s.ok()) return s;
  out->reset(new WatcherImpl(std::move(roots), options, std::move(index)));
  return Status::OK();
}

}  // namespace lumodb

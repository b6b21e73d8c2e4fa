// Watcher: incremental loads from active-run markers, reindex, lookups and
// queries over the index.
#include "lumodb/watcher.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <thread>

#include <absl/container/flat_hash_set.h>

#include "aligned.h"
#include "filter.h"
#include "index_generated.h"
#include "lumo_export.h"
#include "lumo_import.h"
#include "process_info.h"
#include "index.h"
#include "lumodb/names.h"
#include "markers.h"
#include "parallel.h"
#include "run_json.h"
#include "run_loader.h"
#include "time_util.h"

namespace lumodb {

namespace {

// Run keys (exp_name \0 test_name), looked up by string_view without a copy.
using RunSet = absl::flat_hash_set<std::string>;

class Reporter : public JournalReporter {
 public:
  explicit Reporter(void (*warn)(const std::string&)) : warn_(warn) {}
  void Corruption(const std::string& path, uint64_t offset, uint64_t bytes,
                  const std::string& reason) override {
    std::string msg = "journal " + path + ": " + reason + " at offset " +
                      std::to_string(offset) + " (" + std::to_string(bytes) +
                      " bytes skipped)";
    if (warn_ != nullptr) {
      warn_(msg);
    } else {
      std::fprintf(stderr, "lumo-db: warning: %s\n", msg.c_str());
    }
  }

 private:
  void (*warn_)(const std::string&);
};

// Names in a directory; an absent directory, or a file, is empty.
Status ListDir(const std::string& path, std::vector<std::string>* names) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return Status::FromErrno("list", path, errno);
  }
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
                                (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    names->emplace_back(e->d_name);
  }
  ::closedir(dir);
  return Status::OK();
}

int64_t MtimeMicros(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000000 + st.st_mtim.tv_nsec / 1000;
}

// Top-level keys of a run's JSON that BuildRunJson derives itself; an info
// key with one of these names never reaches the top level.
bool IsDerivedKey(const std::string& key) {
  static const std::set<std::string> kDerived = {
      "exp_name", "test_name",  "status",    "progress",       "execute",
      "pinfo",    "roots",      "info_dir",  "blob_dir",       "cache_dir",
      "lumodb_version", "tags", "note",      "exception",      "info",
      "text",     "metrics",    "metrics_detail", "rerun",     "journal"};
  return kDerived.count(key) != 0;
}

// LookupPath looks at the top level only under the keys that end where the
// dotted field has a dot (or at its end). When none of them is derived, the
// field resolves through info keys alone, so a filter on it can be tried on
// those few info values before the whole run is built. Empty: not so.
std::vector<std::string> InfoOnlyPrefixes(const std::string& field) {
  std::vector<std::string> prefixes;
  for (size_t dot = field.find('.'); dot != std::string::npos;
       dot = field.find('.', dot + 1)) {
    prefixes.push_back(field.substr(0, dot));
  }
  prefixes.push_back(field);
  for (const auto& p : prefixes) {
    if (IsDerivedKey(p)) return {};
  }
  return prefixes;
}

bool IndexedField(const std::string& field) {
  return field == "status" || field == "progress.start" ||
         field.rfind("params.", 0) == 0 || field.rfind("metrics.", 0) == 0;
}

class WatcherImpl : public Watcher {
 public:
  WatcherImpl(Roots roots, WatcherOptions options, std::unique_ptr<Index> index)
      : roots_(std::move(roots)),
        options_(options),
        index_(std::move(index)),
        reporter_(options.warn) {}

  Status load(LoadStats* stats) override {
    LoadStats local;
    if (stats == nullptr) stats = &local;
    if (index_->snapshot()) {
      // A lazy reader becomes the writer only when there is something to
      // write, so an unchanged index is never opened for writing.
      bool needed = false;
      Status s = ForEachMarker(stats, [&](const RunLoadContext& ctx, const std::string&) {
        needed = needed || RunNeedsLoad(index_.get(), ctx);
        return Status::OK();
      });
      if (s.ok() && !needed) {
        std::vector<PreparedRun> candidates;
        s = LumoCandidates(&candidates);
        ParallelFor(candidates.size(), kCandidateThreads,
                    [&](size_t i) { Prepare(&candidates[i], false); });
        for (const PreparedRun& p : candidates) {
          if (!p.status.ok() && s.ok()) s = p.status;
          needed = needed || !p.unchanged;
        }
      }
      if (!s.ok() || !needed) return s;
      *stats = LoadStats();
      s = ReopenAsWriter();
      if (!s.ok()) return s;
    }
    if (index_->read_only()) return index_->CatchUp();
    Status s = ForEachMarker(stats, [&](const RunLoadContext& ctx, const std::string& marker) {
      return LoadOne(ctx, marker, stats);
    });
    if (!s.ok()) return s;
    // Imported lumo trees, kept in step through lumo's heartbeat markers
    // (read, never deleted).
    rocksdb::WriteBatch batch;
    std::vector<PreparedRun> candidates;
    s = LumoCandidates(&candidates);
    if (!s.ok()) return s;
    ParallelFor(candidates.size(), kCandidateThreads,
                [&](size_t i) { Prepare(&candidates[i], true); });
    for (PreparedRun& p : candidates) {
      s = Commit(&p, nullptr, &batch);
      if (!s.ok()) return s;
    }
    return batch.Count() > 0 ? index_->Write(&batch) : Status::OK();
  }

  // Calls fn(context, marker path) for each active-run marker.
  template <typename Fn>
  Status ForEachMarker(LoadStats* stats, Fn fn) {
    const std::string active = ActiveDir(roots_.info_root);
    std::vector<std::string> names;
    Status s = ListDir(active, &names);
    if (!s.ok()) return s;
    int64_t now = NowMicros();
    for (const std::string& name : names) {
      RunLoadContext ctx = Context(now);
      if (!ParseMarkerName(name, &ctx.exp_name, &ctx.test_name)) continue;
      stats->markers++;
      const std::string marker = active + "/" + name;
      struct stat st;
      if (::stat(marker.c_str(), &st) != 0) continue;  // retired meanwhile
      ctx.has_marker = true;
      ctx.marker_mtime_us = MtimeMicros(st);
      s = fn(ctx, marker);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  Status ReopenAsWriter() {
    std::string path = index_->path();
    index_.reset();
    return Index::Open(path, options_.read_only, &index_);
  }

  Status reindex(LoadStats* stats) override {
    LoadStats local;
    if (stats == nullptr) stats = &local;
    if (index_->snapshot()) {
      Status s = ReopenAsWriter();
      if (!s.ok()) return s;
    }
    if (index_->read_only()) {
      return Status::Busy("index " + index_->path() +
                          " is held by another process; reindex needs it");
    }
    // Built aside in a fresh database tuned for bulk loading, then swapped
    // in: a reindex that fails or dies leaves the old index as it was.
    const std::string path = index_->path();
    const std::string fresh = path + ".reindex";
    // Imported lumo trees are sources too: read again after the rebuild.
    std::vector<LumoSource> sources = LumoSources();
    std::error_code ec;
    std::filesystem::remove_all(fresh, ec);
    std::unique_ptr<Index> bulk;
    Status s = Index::OpenBulk(fresh, &bulk);
    if (s.ok()) s = BuildInto(bulk.get(), stats);
    if (s.ok()) s = bulk->FlushAll();
    bulk.reset();
    if (!s.ok()) {
      std::filesystem::remove_all(fresh, ec);
      return s;
    }
    index_.reset();
    const std::string old = path + ".old";
    std::filesystem::remove_all(old, ec);
    std::filesystem::rename(path, old, ec);
    if (!ec) std::filesystem::rename(fresh, path, ec);
    Status swapped = ec ? Status::IOError("replace index " + path + " with " + fresh +
                                          ": " + ec.message())
                        : Status::OK();
    if (!ec) std::filesystem::remove_all(old, ec);
    s = Index::Open(path, false, &index_);
    if (!swapped.ok()) return swapped;
    for (const LumoSource& source : sources) {
      ImportReport report;
      if (s.ok()) s = import_lumo({source.path()}, source.cache_root, &report, {});
      for (const auto& p : report.problems) Warn(p.path + ": " + p.what);
    }
    return s;
  }

  Status BuildInto(Index* target, LoadStats* stats) {
    Status s;
    std::set<std::string> markers;
    {
      std::vector<std::string> names;
      s = ListDir(ActiveDir(roots_.info_root), &names);
      if (!s.ok()) return s;
      markers.insert(names.begin(), names.end());
    }
    std::vector<std::string> exps;
    s = ListDir(roots_.info_root, &exps);
    if (!s.ok()) return s;
    std::sort(exps.begin(), exps.end());
    int64_t now = NowMicros();
    rocksdb::WriteBatch batch;
    size_t in_batch = 0;
    for (const std::string& exp : exps) {
      if (exp[0] == '.' || !ValidateExpName(exp).ok()) continue;
      std::vector<std::string> tests;
      s = ListDir(roots_.info_root + "/" + exp, &tests);
      if (!s.ok()) return s;
      for (const std::string& test : tests) {
        if (!IsValidTestName(test)) continue;
        RunLoadContext ctx = Context(now);
        ctx.exp_name = exp;
        ctx.test_name = test;
        ctx.fresh = true;
        const std::string marker =
            ActiveDir(roots_.info_root) + "/" + MarkerName(exp, test);
        struct stat st;
        if (markers.count(MarkerName(exp, test)) != 0 &&
            ::stat(marker.c_str(), &st) == 0) {
          ctx.has_marker = true;
          ctx.marker_mtime_us = MtimeMicros(st);
        }
        bool retire = false;
        s = LoadRun(target, ctx, &reporter_, &batch, stats, &retire);
        if (!s.ok()) {
          SkipRun(ctx, s, stats);
          continue;
        }
        if (retire) ::unlink(marker.c_str());
        if (++in_batch == 512) {
          s = target->Write(&batch, /*disable_wal=*/true);
          if (!s.ok()) return s;
          batch.Clear();
          in_batch = 0;
        }
      }
    }
    return target->Write(&batch, true);
  }

  Status retrieve(const std::string& test_name, const std::string& exp_name,
                  std::string* json, std::vector<std::string>* candidates) override {
    std::string exp = exp_name;
    if (exp.empty()) {
      std::vector<std::string> exps = ExpsOf(test_name);
      if (exps.empty()) return Status::NotFound("no run " + test_name + " in " + index_->path());
      if (exps.size() > 1) {
        std::string list;
        for (const auto& e : exps) {
          if (candidates != nullptr) candidates->push_back(e + "/" + test_name);
          list += (list.empty() ? "" : ", ") + e + "/" + test_name;
        }
        return Status::Ambiguous("test_name " + test_name + " names " +
                                 std::to_string(exps.size()) + " runs: " + list +
                                 " (choose one with --exp)");
      }
      exp = exps.front();
    }
    nlohmann::json run;
    Status s = BuildRunJson(index_.get(), exp, test_name, roots_.timezone, &run);
    if (!s.ok()) return s;
    *json = run.dump();
    return Status::OK();
  }

  Status query(const Query& q, std::vector<std::string>* out) override {
    std::vector<CompiledFilter> filters;
    std::vector<Filter> all = q.filters;
    if (!q.status.empty()) {
      static const std::set<std::string> kStatuses = {"running", "finished",
                                                      "failed", "killed",
                                                      "not_started"};
      if (kStatuses.count(q.status) == 0) {
        return Status::InvalidArgument("status '" + q.status +
                                       "' is not one of running, finished, failed, killed, not_started");
      }
      all.push_back(Filter{"status", "==", q.status});
    }
    for (const Filter& f : all) {
      CompiledFilter c;
      Status s = CompiledFilter::Compile(f, &c);
      if (!s.ok()) return s;
      filters.push_back(std::move(c));
    }
    const bool default_sort = q.sort_field.empty();
    const std::string sort_field = default_sort ? "progress.start" : q.sort_field;
    const bool descending = default_sort ? true : q.descending;

    // Filters decided by a few info values: a run they reject is skipped
    // without building its JSON (a sort walk may pass thousands of those).
    std::vector<std::pair<const CompiledFilter*, std::vector<std::string>>> prechecks;
    for (const auto& f : filters) {
      std::vector<std::string> prefixes = InfoOnlyPrefixes(f.filter().field);
      if (!prefixes.empty()) prechecks.emplace_back(&f, std::move(prefixes));
    }
    auto rejected_early = [&](const std::string& exp, const std::string& test) {
      for (const auto& [filter, prefixes] : prechecks) {
        nlohmann::json partial = nlohmann::json::object();
        for (const std::string& key : prefixes) {
          std::string v;
          Status s = index_->Get(kInfo, SubKey(exp, test, key), &v);
          if (s.IsNotFound()) continue;
          if (!s.ok()) return false;  // let BuildRunJson report it
          // As BuildRunJson reads info values.
          nlohmann::json parsed = nlohmann::json::parse(v, nullptr, false);
          if (parsed.is_discarded()) parsed = v;
          partial[key] = std::move(parsed);
        }
        if (!filter->Matches(partial)) return true;
      }
      return false;
    };

    std::vector<nlohmann::json> results;
    std::set<std::string> seen;
    auto full = [&] { return q.limit != 0 && results.size() >= q.limit; };
    auto consider = [&](const std::string& exp, const std::string& test) -> Status {
      if (!q.exp_name.empty() && exp != q.exp_name) return Status::OK();
      if (!seen.insert(RunKey(exp, test)).second) return Status::OK();
      if (rejected_early(exp, test)) return Status::OK();
      nlohmann::json run;
      Status s = BuildRunJson(index_.get(), exp, test, roots_.timezone, &run);
      if (s.IsNotFound()) return Status::OK();
      if (!s.ok()) return s;
      for (const auto& f : filters) {
        if (!f.Matches(run)) return Status::OK();
      }
      results.push_back(std::move(run));
      return Status::OK();
    };

    // Equality filters on indexed fields name a superset of the runs that
    // can match; every candidate still goes through all the filters.
    std::optional<RunSet> candidates;
    for (const auto& f : filters) {
      if (f.filter().op != "==" || !IndexedField(f.filter().field)) continue;
      RunSet set = EqualityCandidates(f.filter());
      if (candidates.has_value()) {
        RunSet both;
        for (const auto& k : set) {
          if (candidates->count(k) != 0) both.insert(k);
        }
        set.swap(both);
      }
      candidates = std::move(set);
    }
    auto consider_key = [&](std::string_view key) -> Status {
      std::string_view exp, test;
      if (!SplitKey(key, &exp, &test, nullptr)) return Status::OK();
      return consider(std::string(exp), std::string(test));
    };
    // Runs in key order, as a scan of the experiments family gives them.
    auto each_run = [&](auto fn) -> Status {
      if (!candidates.has_value()) return ScanRuns(q.exp_name, fn);
      std::vector<std::string> keys(candidates->begin(), candidates->end());
      std::sort(keys.begin(), keys.end());
      for (const auto& key : keys) {
        std::string_view exp, test;
        if (!SplitKey(key, &exp, &test, nullptr)) continue;
        Status s = fn(std::string(exp), std::string(test));
        if (!s.ok()) return s;
      }
      return Status::OK();
    };

    Status s;
    if (IndexedField(sort_field)) {
      // The fields index holds every value of this field in CompareJson's
      // order, so walking it is the sort; runs without the field come last.
      Index::RangeIterator it(index_.get(), kFields, sort_field + std::string(1, '\0'),
                              sort_field + std::string(1, '\x01'));
      // Walking backwards, equal values come out in reverse key order; they
      // are gathered and emitted in key order, as a stable sort keeps them.
      std::string group_value;
      std::vector<std::string> group;
      auto flush_group = [&]() -> Status {
        for (auto g = group.rbegin(); g != group.rend() && !full(); ++g) {
          Status st = consider_key(*g);
          if (!st.ok()) return st;
        }
        group.clear();
        return Status::OK();
      };
      for (descending ? it->SeekToLast() : it->SeekToFirst(); it->Valid() && !full();
           descending ? it->Prev() : it->Next()) {
        std::string_view field, value, exp, test;
        rocksdb::Slice k = it->key();
        std::string_view key(k.data(), k.size());
        if (!ParseFieldKey(key, &field, &value, &exp, &test)) continue;
        // exp \0 test is the key's tail: no copy to test membership.
        std::string_view run_key(exp.data(), key.data() + key.size() - exp.data());
        if (candidates.has_value() && candidates->count(absl::string_view(run_key.data(), run_key.size())) == 0) continue;
        if (!descending) {
          s = consider_key(run_key);
        } else {
          if (!group.empty() && value != group_value) s = flush_group();
          if (group.empty()) group_value.assign(value);
          group.emplace_back(run_key);
        }
        if (!s.ok()) return s;
      }
      if (s.ok()) s = flush_group();
      if (s.ok() && !full()) {
        s = each_run([&](const std::string& e, const std::string& t) {
          return full() ? Status::OK() : consider(e, t);
        });
      }
    } else {
      s = each_run(consider);
      if (s.ok()) {
        std::stable_sort(results.begin(), results.end(),
                         [&](const nlohmann::json& a, const nlohmann::json& b) {
                           const nlohmann::json* va = LookupPath(a, sort_field);
                           const nlohmann::json* vb = LookupPath(b, sort_field);
                           if (va == nullptr || vb == nullptr) return va != nullptr;
                           int c = CompareJson(*va, *vb);
                           return descending ? c > 0 : c < 0;
                         });
        if (q.limit != 0 && results.size() > q.limit) results.resize(q.limit);
      }
    }
    if (!s.ok()) return s;
    for (const auto& r : results) out->push_back(r.dump());
    return Status::OK();
  }

  using Watcher::import_lumo;
  Status import_lumo(const std::vector<std::string>& paths_in, const ImportOptions& options,
                     ImportReport* report) override {
    const std::function<void(size_t, size_t)>& progress = options.progress;
    if (index_->snapshot()) {
      Status s = ReopenAsWriter();
      if (!s.ok()) return s;
    }
    if (index_->read_only()) {
      return Status::Busy("index " + index_->path() +
                          " is held by another process; import needs it");
    }
    std::vector<std::string> paths = paths_in;
    if (paths.empty()) paths.push_back(roots_.info_root);
    // Trees stay sources: relative paths are made absolute, so that loads
    // from another working directory find the same tree.
    auto absolute = [](const std::string& p) {
      std::error_code ec;
      std::filesystem::path a = std::filesystem::absolute(p, ec);
      return ec ? p : a.lexically_normal().string();
    };
    for (std::string& p : paths) p = absolute(p);
    const std::string cache = options.cache_root.empty() ? "" : absolute(options.cache_root);
    // Resolve every path first: a bad one fails before anything is written.
    struct Tree {
      std::string info_root, cache_root;
      std::string scope;  // "", "exp" or "exp/test": what path named
      std::vector<LumoRunRef> runs;
    };
    std::vector<Tree> trees;
    size_t total = 0;
    for (const std::string& path : paths) {
      Tree tree;
      Status s = FindLumoRuns(path, &tree.info_root, &tree.runs, &report->skipped_paths);
      if (!s.ok()) return s;
      std::string p = path;
      while (p.size() > 1 && p.back() == '/') p.pop_back();
      if (p.size() > tree.info_root.size() &&
          p.compare(0, tree.info_root.size() + 1, tree.info_root + "/") == 0) {
        tree.scope = p.substr(tree.info_root.size() + 1);
      }
      tree.cache_root = !cache.empty() ? cache
                        : tree.info_root == roots_.info_root ? roots_.cache_root
                                                             : "";
      if (tree.cache_root.empty()) {
        // A re-import that names no cache keeps the one registered before.
        for (const LumoSource& known : LumoSources()) {
          if (known.info_root == tree.info_root && known.scope == tree.scope) {
            tree.cache_root = known.cache_root;
          }
        }
      }
      total += tree.runs.size();
      trees.push_back(std::move(tree));
    }
    report->skipped += report->skipped_paths.size();
    size_t done = 0;
    const size_t threads = options.threads > 0 ? static_cast<size_t>(options.threads) : 16;
    const int64_t now_s = NowMicros() / 1000000;
    for (const Tree& tree : trees) {
      rocksdb::WriteBatch batch;
      nlohmann::json source = {{"kind", "lumo"},
                               {"info_root", tree.info_root},
                               {"cache_root", tree.cache_root},
                               {"scope", tree.scope}};
      batch.Put(index_->cf(kMeta), SourceKey(tree.info_root, tree.scope), source.dump());
      // Blocks of runs are read by a pool of threads (reading is syscalls,
      // waits on the disk and parsing) while this thread writes the block
      // before, in order. Two blocks in memory at most.
      constexpr size_t kBlock = 512;
      auto prepare_block = [&](size_t first, std::vector<PreparedRun>* block) {
        const size_t n = std::min(kBlock, tree.runs.size() - first);
        block->assign(n, PreparedRun());
        for (size_t i = 0; i < n; ++i) {
          (*block)[i].run = tree.runs[first + i];
          (*block)[i].cache_root = tree.cache_root;
          (*block)[i].full_check = options.full_check;
          (*block)[i].now_s = now_s;
        }
        ParallelFor(n, threads, [&](size_t i) { Prepare(&(*block)[i], true); });
      };
      std::vector<PreparedRun> ready, next;
      if (!tree.runs.empty()) prepare_block(0, &ready);
      for (size_t first = 0; first < tree.runs.size(); first += kBlock) {
        std::thread reader;
        if (first + kBlock < tree.runs.size()) {
          reader = std::thread([&, first] { prepare_block(first + kBlock, &next); });
        }
        Status s;
        for (PreparedRun& p : ready) {
          s = Commit(&p, report, &batch);
          if (!s.ok()) break;
        }
        if (s.ok()) s = index_->Write(&batch);
        if (reader.joinable()) reader.join();
        if (!s.ok()) return s;
        batch.Clear();
        done += ready.size();
        if (progress) progress(done, total);
        ready.swap(next);
      }
      Status s = index_->Write(&batch);
      if (!s.ok()) return s;
    }
    // The next open need not replay a long log.
    Status s = index_->FlushAll();
    if (!s.ok()) return s;
    if (progress) progress(done, total);
    return Status::OK();
  }

  Status export_lumo(const Query& selection, const std::string& out_dir,
                     size_t* exported) override {
    *exported = 0;
    std::vector<std::string> selected;
    Status s = query(selection, &selected);
    if (!s.ok()) return s;
    std::vector<std::pair<std::string, std::string>> runs;
    for (const std::string& run : selected) {
      nlohmann::json j = nlohmann::json::parse(run, nullptr, false);
      runs.emplace_back(j.value("exp_name", ""), j.value("test_name", ""));
    }
    return ExportLumoRuns(index_.get(), roots_.timezone, runs, out_dir, exported);
  }

  uint64_t sequence() const override {
    return index_->db()->GetLatestSequenceNumber();
  }
  bool read_only() const override { return index_->read_only(); }
  const std::string& db_path() const override { return index_->path(); }

 private:
  RunLoadContext Context(int64_t now) const {
    RunLoadContext ctx;
    ctx.info_root = roots_.info_root;
    ctx.timezone = roots_.timezone;
    ctx.now_us = now;
    ctx.heartbeat_timeout_s = options_.heartbeat_timeout_s;
    ctx.marker_retire_s = options_.marker_retire_s;
    return ctx;
  }

  Status LoadOne(const RunLoadContext& ctx, const std::string& marker,
                 LoadStats* stats) {
    rocksdb::WriteBatch batch;
    bool retire = false;
    Status s = LoadRun(index_.get(), ctx, &reporter_, &batch, stats, &retire);
    if (!s.ok()) {
      // One bad run never stops the others from loading.
      SkipRun(ctx, s, stats);
      return Status::OK();
    }
    if (batch.Count() > 0) {
      s = index_->Write(&batch);
      if (!s.ok()) return s;
    }
    // Retire only once the run's last records are in the index.
    if (retire && ::unlink(marker.c_str()) == 0) stats->markers_retired++;
    return Status::OK();
  }

  static std::string SourceKey(const std::string& info_root, const std::string& scope) {
    return std::string("lumo_source") + '\0' + info_root + '\0' + scope;
  }

  // An imported lumo tree: the whole info_root, one exp_name folder of it
  // ("exp") or one run folder ("exp/test"), as the import named it.
  struct LumoSource {
    std::string info_root, cache_root, scope;
    std::string path() const { return scope.empty() ? info_root : info_root + "/" + scope; }
    bool Covers(const std::string& exp, const std::string& test) const {
      return scope.empty() || scope == exp || scope == exp + "/" + test;
    }
  };

  // One lumo run on its way into the index.
  struct PreparedRun {
    LumoRunRef run;
    std::string cache_root;
    Status status;
    bool unchanged = false;  // as last imported, or a lumo-db journal run
    bool existed = false;
    fbs::Status old_status = fbs::Status::Running;
    bool had_start = false;
    fbs::RunRecordT rec;
    RunChanges changes;
    std::vector<ImportProblem> problems;
    bool partial = false;
    bool full_check = false;  // compare every file, not the quick signature
    int64_t now_s = 0;        // when the import began (Unix seconds)
  };

  // Decides whether the run changed since it was imported and, when it did
  // and read is set, reads it. Only reads: safe from several threads.
  void Prepare(PreparedRun* p, bool read) {
    std::string value;
    Status s = index_->Get(kRuns, RunKey(p->run.exp_name, p->run.test_name), &value);
    if (s.ok()) {
      Aligned aligned;
      const uint8_t* bytes = aligned.Get(value);
      flatbuffers::Verifier verifier(bytes, value.size());
      if (fbs::VerifyRunRecordBuffer(verifier)) {
        const fbs::RunRecord* old = fbs::GetRunRecord(bytes);
        p->existed = true;
        p->old_status = old->status();
        p->had_start = old->start() != nullptr;
        if (old->source() == nullptr || old->source()->str() != "lumo") {
          // A lumo-db run (it has a journal) in a tree lumo also writes:
          // the journal is its truth.
          p->unchanged = true;
          return;
        }
        bool alive = true;
        const fbs::Pinfo* pinfo = old->start() ? old->start()->pinfo() : nullptr;
        if (old->status() == fbs::Status::Running && pinfo != nullptr) {
          double now_start = ProcessStartTime(pinfo->pid());
          alive = now_start >= 0 && std::abs(now_start - pinfo->pstart()) <= 0.5;
        }
        p->unchanged = alive && old->import_signature() != nullptr &&
                       SameFiles(*p, ImportSignature::Parse(old->import_signature()->str()));
      }
    } else if (!s.IsNotFound()) {
      p->status = s;
      return;
    }
    if (p->unchanged || !read) return;
    p->status = ReadLumoRun(p->run, p->cache_root, roots_.timezone, &p->rec, &p->changes,
                            &p->problems, &p->partial,
                            p->now_s != 0 ? p->now_s : NowMicros() / 1000000);
  }

  // Whether the run's files are as when stored was taken: by the quick
  // signature when there is one (and no full check was asked for), else by
  // every file's size and mtime.
  static bool SameFiles(const PreparedRun& p, const ImportSignature& stored) {
    if (!p.full_check && !stored.quick.empty()) {
      std::string quick;
      int64_t newest_s = 0;
      if (LumoQuickSignature(p.run, p.cache_root, &quick, &newest_s) && quick == stored.quick) {
        return true;
      }
    }
    return stored.full == LumoRunSignature(p.run);
  }

  // Puts a prepared run into batch and counts it in report (or warns).
  Status Commit(PreparedRun* p, ImportReport* report, rocksdb::WriteBatch* batch) {
    if (p->status.IsNotFound()) {  // a folder that is not a run
      if (report != nullptr) {
        report->skipped++;
        report->skipped_paths.push_back({p->run.dir(), p->status.message()});
      }
      return Status::OK();
    }
    if (!p->status.ok()) return p->status;
    if (p->unchanged) {
      if (report != nullptr) report->unchanged++;
      return Status::OK();
    }
    WriteRun(index_.get(), roots_.timezone, p->rec, p->changes,
             p->existed ? &p->old_status : nullptr, p->had_start, batch);
    if (report != nullptr) {
      (p->existed ? report->updated : report->imported)++;
      if (p->partial) report->partial++;
      for (auto& problem : p->problems) report->problems.push_back(std::move(problem));
    } else {
      for (const auto& problem : p->problems) Warn(problem.path + ": " + problem.what);
    }
    return Status::OK();
  }

  // Threads that check lumo's candidate runs at a load: a few, since a
  // check is a handful of stats.
  static constexpr size_t kCandidateThreads = 4;

  // Registered lumo trees.
  std::vector<LumoSource> LumoSources() {
    std::vector<LumoSource> sources;
    Index::RangeIterator it(index_.get(), kMeta, std::string("lumo_source") + '\0',
                            std::string("lumo_source\x01"));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      nlohmann::json j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!j.is_object()) continue;
      sources.push_back(
          {j.value("info_root", ""), j.value("cache_root", ""), j.value("scope", "")});
    }
    return sources;
  }

  // Lumo runs that may have changed since the last load, ready for
  // Prepare: those with a heartbeat marker in a registered tree's cache, and
  // those indexed as running.
  Status LumoCandidates(std::vector<PreparedRun>* out) {
    std::vector<LumoSource> sources = LumoSources();
    if (sources.empty()) return Status::OK();
    auto add = [out](const LumoRunRef& run, const std::string& cache_root) {
      out->emplace_back();
      out->back().run = run;
      out->back().cache_root = cache_root;
    };
    std::set<std::string> seen;  // a run in two sources is read once
    for (const LumoSource& source : sources) {
      const std::string& info_root = source.info_root;
      const std::string& cache_root = source.cache_root;
      if (cache_root.empty()) continue;
      std::vector<std::string> exps;
      Status s = ListDir(cache_root + "/heartbeat", &exps);
      if (!s.ok()) return s;
      for (const std::string& exp : exps) {
        std::vector<std::string> files;
        s = ListDir(cache_root + "/heartbeat/" + exp, &files);
        if (!s.ok()) return s;
        for (const std::string& f : files) {
          if (f.size() < 4 || f.compare(f.size() - 3, 3, ".hb") != 0) continue;
          LumoRunRef run{info_root, exp, f.substr(0, f.size() - 3)};
          if (!IsValidTestName(run.test_name) || !ValidateExpName(exp).ok()) continue;
          if (!source.Covers(exp, run.test_name)) continue;
          if (!seen.insert(RunKey(exp, run.test_name)).second) continue;
          struct stat st;
          if (::stat((run.dir() + "/info/test_name.json").c_str(), &st) != 0) continue;
          add(run, cache_root);
        }
      }
    }
    // Runs lumo left running: their process may have died since.
    std::string enc;
    EncodeFieldValue("running", &enc);
    const std::string lower = std::string("status") + '\0' + enc + '\0';
    Index::RangeIterator it(index_.get(), kFields, lower, std::string("status") + '\0' + enc + '\x01');
    std::vector<std::pair<std::string, std::string>> running;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view field, v, exp, test;
      rocksdb::Slice k = it->key();
      if (ParseFieldKey(std::string_view(k.data(), k.size()), &field, &v, &exp, &test)) {
        running.emplace_back(exp, test);
      }
    }
    for (const auto& [exp, test] : running) {
      std::string value;
      if (!index_->Get(kRuns, RunKey(exp, test), &value).ok()) continue;
      Aligned aligned;
      const uint8_t* bytes = aligned.Get(value);
      flatbuffers::Verifier verifier(bytes, value.size());
      if (!fbs::VerifyRunRecordBuffer(verifier)) continue;
      const fbs::RunRecord* rec = fbs::GetRunRecord(bytes);
      if (rec->source() == nullptr || rec->source()->str() != "lumo") continue;
      std::string dir = rec->journal_path() ? rec->journal_path()->str() : "";
      std::string exp_dir = dir.substr(0, dir.rfind('/'));
      LumoRunRef run{exp_dir.substr(0, exp_dir.rfind('/')), exp, test};
      for (const LumoSource& source : sources) {
        if (source.info_root == run.info_root && source.Covers(exp, test) &&
            seen.insert(RunKey(exp, test)).second) {
          add(run, source.cache_root);
        }
      }
    }
    return Status::OK();
  }

  void Warn(const std::string& msg) {
    if (options_.warn != nullptr) {
      options_.warn(msg);
    } else {
      std::fprintf(stderr, "lumo-db: warning: %s\n", msg.c_str());
    }
  }

  void SkipRun(const RunLoadContext& ctx, const Status& s, LoadStats* stats) {
    stats->runs_failed++;
    std::string msg = "run " + ctx.exp_name + "/" + ctx.test_name +
                      " not loaded: " + s.ToString();
    if (options_.warn != nullptr) {
      options_.warn(msg);
    } else {
      std::fprintf(stderr, "lumo-db: warning: %s\n", msg.c_str());
    }
  }

  // Runs whose indexed value of f.field could equal f.value under
  // CompiledFilter's rules: the value's own encoding, plus numbers for a
  // numeric string and numeric strings for a number.
  RunSet EqualityCandidates(const Filter& f) {
    nlohmann::json value;
    if (f.value.empty()) {
      value = nullptr;
    } else {
      value = nlohmann::json::parse(f.value, nullptr, false);
      if (value.is_discarded() || value.is_array() || value.is_object()) value = f.value;
    }
    std::vector<std::string> encodings;
    std::string enc;
    if (EncodeFieldValue(value, &enc)) encodings.push_back(enc);
    if (f.value.empty() && EncodeFieldValue("", &enc)) encodings.push_back(enc);
    bool numeric_strings = value.is_number();
    if (value.is_string()) {
      nlohmann::json n = nlohmann::json::parse(value.get<std::string>(), nullptr, false);
      if (n.is_number() && EncodeFieldValue(n, &enc)) encodings.push_back(enc);
    }
    RunSet out;
    auto collect = [&](const std::string& from, const std::string& to,
                       auto&& keep) {
      Index::RangeIterator it(index_.get(), kFields, from, to);
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        std::string_view field, v, exp, test;
        rocksdb::Slice k = it->key();
        std::string_view key(k.data(), k.size());
        if (!ParseFieldKey(key, &field, &v, &exp, &test) || !keep(v)) continue;
        out.emplace(exp.data(), key.data() + key.size() - exp.data());
      }
    };
    const std::string base = f.field + std::string(1, '\0');
    for (const std::string& e : encodings) {
      // Keys whose value starts with e; the exact value is checked.
      collect(base + e, base + e + std::string(1, '\xff'),
              [&](std::string_view v) { return v == e; });
    }
    if (numeric_strings) {
      collect(base + "S", base + "T", [](std::string_view v) {
        return nlohmann::json::parse(v.substr(1), nullptr, false).is_number();
      });
    }
    return out;
  }

  std::vector<std::string> ExpsOf(const std::string& test) {
    std::vector<std::string> exps;
    std::string prefix = test;
    prefix.push_back('\0');
    std::unique_ptr<rocksdb::Iterator> it(
        index_->db()->NewIterator(rocksdb::ReadOptions(), index_->cf(kByTest)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      exps.emplace_back(it->key().data() + prefix.size(),
                        it->key().size() - prefix.size());
    }
    return exps;
  }

  template <typename Fn>
  Status ScanRuns(const std::string& exp_name, Fn fn) {
    std::string prefix;
    if (!exp_name.empty()) prefix = exp_name + std::string(1, '\0');
    std::unique_ptr<rocksdb::Iterator> it(
        index_->db()->NewIterator(rocksdb::ReadOptions(), index_->cf(kRuns)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view exp, test;
      rocksdb::Slice k = it->key();
      if (!SplitKey(std::string_view(k.data(), k.size()), &exp, &test, nullptr)) continue;
      Status s = fn(std::string(exp), std::string(test));
      if (!s.ok()) return s;
    }
    return Status::OK();
  }

  Roots roots_;
  WatcherOptions options_;
  std::unique_ptr<Index> index_;
  Reporter reporter_;
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

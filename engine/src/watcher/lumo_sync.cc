// LumoSync: import of lumo trees and keeping them in step (see lumo_sync.h).
#include "watcher/lumo_sync.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "experiment/process_info.h"
#include "index_generated.h"
#include "lumo/import.h"
#include "lumodb/names.h"
#include "util/aligned.h"
#include "util/fs.h"
#include "util/parallel.h"
#include "util/time_util.h"
#include "watcher/run_loader.h"

namespace lumodb {

namespace {

std::string SourceKey(const std::string& info_root, const std::string& scope) {
  return std::string("lumo_source") + '\0' + info_root + '\0' + scope;
}

// Threads that check lumo's candidate runs at a load: a few, since a check
// is a handful of stats.
constexpr size_t kCandidateThreads = 4;

}  // namespace

// One lumo run on its way into the index.
struct LumoSync::PreparedRun {
  LumoRunRef run;
  std::string cache_root;
  Status status;
  bool unchanged = false;  // as last imported, or a lumo-db journal run
  bool existed = false;
  fbs::Status old_status = fbs::Status::Running;
  int64_t old_changed_us = 0;  // the stored record's change-feed stamp
  bool had_start = false;
  fbs::RunRecordT rec;
  RunChanges changes;
  std::vector<ImportProblem> problems;
  bool partial = false;
  bool full_check = false;  // compare every file, not the quick signature
  int64_t now_s = 0;        // when the import began (Unix seconds)
};

namespace {

// Whether the run's files are as when stored was taken: by the quick
// signature when there is one (and no full check was asked for), else by
// every file's size and mtime.
bool SameFiles(const LumoRunRef& run, const std::string& cache_root, bool full_check,
               const ImportSignature& stored) {
  if (!full_check && !stored.quick.empty()) {
    std::string quick;
    int64_t newest_s = 0;
    if (LumoQuickSignature(run, cache_root, &quick, &newest_s) && quick == stored.quick) {
      return true;
    }
  }
  return stored.full == LumoRunSignature(run);
}

}  // namespace

void LumoSync::Prepare(PreparedRun* p, bool read) {
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
      p->old_changed_us = old->changed_us();
      p->had_start = old->start() != nullptr;
      if (old->source() == nullptr || old->source()->str() != "lumo") {
        // A lumo-db run (it has a journal) in a tree lumo also writes: the
        // journal is its truth.
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
                     SameFiles(p->run, p->cache_root, p->full_check,
                               ImportSignature::Parse(old->import_signature()->str()));
    }
  } else if (!s.IsNotFound()) {
    p->status = s;
    return;
  }
  if (p->unchanged || !read) return;
  p->status =
      ReadLumoRun(p->run, p->cache_root, roots_.timezone, &p->rec, &p->changes, &p->problems,
                  &p->partial, p->now_s != 0 ? p->now_s : NowMicros() / 1000000);
}

Status LumoSync::Commit(PreparedRun* p, ImportReport* report, rocksdb::WriteBatch* batch) {
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
  p->rec.changed_us = p->old_changed_us;  // WriteRun replaces the stored stamp
  Status s = WriteRun(index_, roots_.timezone, p->rec, p->changes,
                      p->existed ? &p->old_status : nullptr, p->had_start, batch);
  if (!s.ok()) return s;
  if (report != nullptr) {
    (p->existed ? report->updated : report->imported)++;
    if (p->partial) report->partial++;
    for (auto& problem : p->problems) report->problems.push_back(std::move(problem));
  } else {
    for (const auto& problem : p->problems) warnings_->Warn(problem.path + ": " + problem.what);
  }
  return Status::OK();
}

std::vector<LumoSource> LumoSync::Sources() {
  std::vector<LumoSource> sources;
  Index::RangeIterator it(index_, kMeta, std::string("lumo_source") + '\0',
                          std::string("lumo_source\x01"));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    nlohmann::json j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
    if (!j.is_object()) continue;
    sources.push_back({j.value("info_root", ""), j.value("cache_root", ""), j.value("scope", "")});
  }
  return sources;
}

Status LumoSync::Candidates(std::vector<PreparedRun>* out) {
  std::vector<LumoSource> sources = Sources();
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
  Index::RangeIterator it(index_, kFields, lower, std::string("status") + '\0' + enc + '\x01');
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

Status LumoSync::AnyChanged(bool* changed) {
  *changed = false;
  std::vector<PreparedRun> candidates;
  Status s = Candidates(&candidates);
  ParallelFor(candidates.size(), kCandidateThreads,
              [&](size_t i) { Prepare(&candidates[i], false); });
  for (const PreparedRun& p : candidates) {
    if (!p.status.ok() && s.ok()) s = p.status;
    *changed = *changed || !p.unchanged;
  }
  return s;
}

Status LumoSync::Refresh() {
  // Read through lumo's heartbeat markers, which are never deleted here.
  rocksdb::WriteBatch batch;
  std::vector<PreparedRun> candidates;
  Status s = Candidates(&candidates);
  if (!s.ok()) return s;
  ParallelFor(candidates.size(), kCandidateThreads,
              [&](size_t i) { Prepare(&candidates[i], true); });
  for (PreparedRun& p : candidates) {
    s = Commit(&p, nullptr, &batch);
    if (!s.ok()) return s;
  }
  return batch.Count() > 0 ? index_->Write(&batch) : Status::OK();
}

Status LumoSync::Import(const std::vector<std::string>& paths_in, const ImportOptions& options,
                        ImportReport* report) {
  const std::function<void(size_t, size_t)>& progress = options.progress;
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
    tree.cache_root = !cache.empty()                       ? cache
                      : tree.info_root == roots_.info_root ? roots_.cache_root
                                                           : "";
    if (tree.cache_root.empty()) {
      // A re-import that names no cache keeps the one registered before.
      for (const LumoSource& known : Sources()) {
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

}  // namespace lumodb

// Reindex: every journal into a fresh index, built aside and swapped in.
#include "watcher/reindex.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "journal/markers.h"
#include "lumodb/names.h"
#include "util/fs.h"
#include "util/time_util.h"

namespace lumodb {

Status BuildFromJournals(Index* target, const LoadSettings& settings, Warnings* warnings,
                         LoadStats* stats, const Progress& progress) {
  Status s;
  const std::string active = ActiveDir(settings.info_root);
  std::set<std::string> markers;
  {
    std::vector<std::string> names;
    s = ListDir(active, &names);
    if (!s.ok()) return s;
    markers.insert(names.begin(), names.end());
  }
  // Every run folder first (a listing per exp_name), so that progress
  // knows how many there are.
  std::vector<std::pair<std::string, std::string>> runs;
  {
    std::vector<std::string> exps;
    s = ListDir(settings.info_root, &exps);
    if (!s.ok()) return s;
    std::sort(exps.begin(), exps.end());
    for (const std::string& exp : exps) {
      if (exp[0] == '.' || !ValidateExpName(exp).ok()) continue;
      std::vector<std::string> tests;
      s = ListDir(settings.info_root + "/" + exp, &tests);
      if (!s.ok()) return s;
      for (std::string& test : tests) {
        if (IsValidTestName(test)) runs.emplace_back(exp, std::move(test));
      }
    }
  }
  int64_t now = NowMicros();
  rocksdb::WriteBatch batch;
  size_t done = 0;
  if (progress) progress(0, runs.size());
  for (const auto& [exp, test] : runs) {
    RunLoadContext ctx = settings.Context(now);
    ctx.exp_name = exp;
    ctx.test_name = test;
    ctx.fresh = true;
    const std::string marker = active + "/" + MarkerName(exp, test);
    struct stat st;
    if (markers.count(MarkerName(exp, test)) != 0 && ::stat(marker.c_str(), &st) == 0) {
      ctx.has_marker = true;
      ctx.marker_mtime_us = MtimeMicros(st);
    }
    bool retire = false;
    s = LoadRun(target, ctx, warnings, &batch, stats, &retire);
    if (!s.ok()) {
      stats->runs_failed++;
      warnings->RunSkipped(exp, test, s);
    } else if (retire) {
      ::unlink(marker.c_str());
    }
    if (++done % 512 == 0) {
      s = target->Write(&batch, /*disable_wal=*/true);
      if (!s.ok()) return s;
      batch.Clear();
      if (progress) progress(done, runs.size());
    }
  }
  s = target->Write(&batch, true);
  if (s.ok() && progress) progress(done, runs.size());
  return s;
}

Status RebuildIndex(const LoadSettings& settings, Warnings* warnings, Index* writer,
                    LoadStats* stats, const Progress& progress,
                    const std::function<Status(Index* fresh)>& also) {
  const std::string generation = writer->layout().Next(writer->generation());
  auto discard = [&](const Status& s) {
    std::error_code ec;
    std::filesystem::remove_all(writer->layout().Dir(generation), ec);
    return s;
  };
  {
    std::unique_ptr<Index> bulk;
    Status s = Index::OpenUnpublished(writer->path(), generation, /*bulk=*/true, &bulk);
    if (s.ok()) s = BuildFromJournals(bulk.get(), settings, warnings, stats, progress);
    if (s.ok()) s = bulk->FlushAll();
    if (!s.ok()) return discard(s);
  }
  if (also) {
    // Reads and writes by key from here: a database with ordinary
    // memtables (the bulk one sorts at every read).
    std::unique_ptr<Index> fresh;
    Status s = Index::OpenUnpublished(writer->path(), generation, /*bulk=*/false, &fresh);
    if (s.ok()) s = also(fresh.get());
    if (s.ok()) s = fresh->FlushAll();
    if (!s.ok()) return discard(s);
  }
  return writer->SwitchTo(generation);
}

}  // namespace lumodb

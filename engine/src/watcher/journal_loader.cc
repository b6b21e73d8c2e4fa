// JournalLoader: loads of the runs that have an active-run marker.
#include "watcher/journal_loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "journal/markers.h"
#include "util/fs.h"
#include "util/time_util.h"

namespace lumodb {

RunLoadContext LoadSettings::Context(int64_t now_us) const {
  RunLoadContext ctx;
  ctx.info_root = info_root;
  ctx.timezone = timezone;
  ctx.now_us = now_us;
  ctx.heartbeat_timeout_s = heartbeat_timeout_s;
  ctx.marker_retire_s = marker_retire_s;
  return ctx;
}

template <typename Fn>
Status JournalLoader::ForEachMarker(LoadStats* stats, Fn fn) {
  const std::string active = ActiveDir(settings_.info_root);
  std::vector<std::string> names;
  Status s = ListDir(active, &names);
  if (!s.ok()) return s;
  int64_t now = NowMicros();
  for (const std::string& name : names) {
    RunLoadContext ctx = settings_.Context(now);
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

Status JournalLoader::AnyToLoad(LoadStats* stats, bool* needed) {
  *needed = false;
  return ForEachMarker(stats, [&](const RunLoadContext& ctx, const std::string&) {
    *needed = *needed || RunNeedsLoad(index_, ctx);
    return Status::OK();
  });
}

Status JournalLoader::Load(LoadStats* stats) {
  return ForEachMarker(stats, [&](const RunLoadContext& ctx, const std::string& marker) {
    return LoadOne(ctx, marker, stats);
  });
}

Status JournalLoader::LoadOne(const RunLoadContext& ctx, const std::string& marker,
                              LoadStats* stats) {
  rocksdb::WriteBatch batch;
  bool retire = false;
  Status s = LoadRun(index_, ctx, warnings_, &batch, stats, &retire);
  if (!s.ok()) {
    // One bad run never stops the others from loading.
    stats->runs_failed++;
    warnings_->RunSkipped(ctx.exp_name, ctx.test_name, s);
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

}  // namespace lumodb

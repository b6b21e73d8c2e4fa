// LoadRun: applies new journal records of one run to the index.
#include "watcher/run_loader.h"

#include <sys/stat.h>

#include <cerrno>
#include <map>

#include "experiment/process_info.h"
#include "index/metrics_json.h"
#include "index/series_store.h"
#include "index_generated.h"
#include "journal/markers.h"
#include "journal_generated.h"
#include "util/aligned.h"
#include "util/time_util.h"

namespace lumodb {

std::string CanonicalJson(std::string_view text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, false);
  // A value that is not JSON is kept as the string it is, as the reader
  // always showed it.
  if (parsed.is_discarded()) parsed = std::string(text);
  return parsed.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

using fbs::RunRecordT;
using RunStatus = fbs::Status;

using Pending = RunChanges;

// *problem: why part of the event could not be applied, for the reporter.
void ApplyEvent(const fbs::RunEvent& ev, RunRecordT* rec, Pending* pending,
                std::string* problem) {
  int64_t t = ev.time_us();
  rec->last_update_us = t;
  if (rec->status == RunStatus::Killed) rec->status = RunStatus::Running;
  switch (ev.event_type()) {
    case fbs::Event::Start: {
      const fbs::Start* s = ev.event_as_Start();
      rec->start.reset(s->UnPack());
      rec->start_us = t;
      rec->status = RunStatus::Running;
      break;
    }
    case fbs::Event::Info: {
      const fbs::Info* i = ev.event_as_Info();
      if (i->key() != nullptr && i->json() != nullptr) {
        pending->info[i->key()->str()] = CanonicalJson(std::string_view(i->json()->c_str(), i->json()->size()));
      }
      break;
    }
    case fbs::Event::Text: {
      const fbs::Text* x = ev.event_as_Text();
      if (x->key() != nullptr) {
        pending->text[x->key()->str()] = x->text() ? x->text()->str() : "";
      }
      break;
    }
    case fbs::Event::Note:
      rec->note = ev.event_as_Note()->text() ? ev.event_as_Note()->text()->str() : "";
      break;
    case fbs::Event::Tags: {
      rec->tags.clear();
      if (auto* tags = ev.event_as_Tags()->tags()) {
        for (const auto* tag : *tags) rec->tags.push_back(tag->str());
      }
      break;
    }
    case fbs::Event::Metric: {
      const fbs::Metric* m = ev.event_as_Metric();
      if (m->key() == nullptr) break;
      fbs::MetricRecordT& out = pending->metrics[m->key()->str()];
      out.cmp = m->cmp();
      out.best = m->best();
      out.best_extras = m->best_extras() ? m->best_extras()->str() : "";
      out.last = m->last();
      out.count = m->count();
      out.last_step = m->last_step();
      out.update_us = t;
      break;
    }
    case fbs::Event::MetricLog: {
      const auto* metrics = ev.event_as_MetricLog()->metrics();
      if (metrics == nullptr) break;
      for (const fbs::MetricPoints* points : *metrics) {
        if (points->key() == nullptr) continue;
        if (!DecodeMetricPoints(*points, &pending->series[points->key()->str()])) {
          *problem = "metric log of '" + points->key()->str() + "' does not decode";
        }
      }
      break;
    }
    case fbs::Event::Progress:
      rec->ratio = ev.event_as_Progress()->ratio();
      break;
    case fbs::Event::Exception: {
      const fbs::Exception* e = ev.event_as_Exception();
      rec->exception.reset(e->UnPack());
      break;
    }
    case fbs::Event::End: {
      const fbs::End* e = ev.event_as_End();
      rec->has_end = true;
      rec->end_code = e->code();
      rec->signal = e->signal();
      rec->end_us = t;
      rec->status = e->code() == 0 ? RunStatus::Finished : RunStatus::Failed;
      break;
    }
    case fbs::Event::HookError: {
      const fbs::HookError* h = ev.event_as_HookError();
      auto str = [](const flatbuffers::String* s) { return s ? s->str() : ""; };
      pending->hook_errors.push_back({{"hook", str(h->hook())},
                                      {"stage", str(h->stage())},
                                      {"message", str(h->message())}});
      break;
    }
    case fbs::Event::NONE:
      break;
  }
}

// Replaces a run's entries in the fields family for one field.
void ReplaceField(rocksdb::WriteBatch* batch, Index* index,
                  const std::string& field, const nlohmann::json* old_value,
                  const nlohmann::json* new_value, const std::string& exp,
                  const std::string& test) {
  std::string old_enc, new_enc;
  bool has_old = old_value != nullptr && EncodeFieldValue(*old_value, &old_enc);
  bool has_new = new_value != nullptr && EncodeFieldValue(*new_value, &new_enc);
  if (has_old && has_new && old_enc == new_enc) return;
  if (has_old) batch->Delete(index->cf(kFields), FieldKey(field, old_enc, exp, test));
  if (has_new) batch->Put(index->cf(kFields), FieldKey(field, new_enc, exp, test), "");
}

bool ProcessIsGone(const std::string& host, const std::string& boot_id,
                   int64_t pid, double pstart, int64_t last_update_us,
                   const RunLoadContext& ctx) {
  Liveness l = CheckLocalProcess(host, boot_id, pid, pstart);
  if (l == Liveness::kAlive) return false;
  if (l == Liveness::kDead) return true;
  // Another host: only the heartbeat (marker mtime, or the last record) tells.
  int64_t beat = ctx.has_marker ? ctx.marker_mtime_us : last_update_us;
  return ctx.now_us - beat > int64_t{ctx.heartbeat_timeout_s} * 1000000;
}

bool ProcessIsGone(const RunRecordT& rec, const RunLoadContext& ctx) {
  if (rec.start == nullptr || rec.start->pinfo == nullptr) return true;
  const fbs::PinfoT& p = *rec.start->pinfo;
  return ProcessIsGone(p.host, p.boot_id, p.pid, p.pstart, rec.last_update_us, ctx);
}

bool MarkerDue(RunStatus status, const RunLoadContext& ctx) {
  return ctx.has_marker && status != RunStatus::Running &&
         ctx.now_us - ctx.marker_mtime_us > int64_t{ctx.marker_retire_s} * 1000000;
}

}  // namespace

bool RunNeedsLoad(Index* index, const RunLoadContext& ctx) {
  std::string value;
  if (!index->Get(kRuns, RunKey(ctx.exp_name, ctx.test_name), &value).ok()) return true;
  Aligned aligned;
  const uint8_t* bytes = aligned.Get(value);
  flatbuffers::Verifier verifier(bytes, value.size());
  if (!fbs::VerifyRunRecordBuffer(verifier)) return true;
  const fbs::RunRecord* rec = fbs::GetRunRecord(bytes);
  struct stat st;
  const std::string path =
      JournalPath(RunInfoDir(ctx.info_root, ctx.exp_name, ctx.test_name));
  if (::stat(path.c_str(), &st) != 0) return true;
  if (st.st_size > rec->applied_offset()) return true;
  if (MarkerDue(rec->status(), ctx)) return true;
  if (rec->status() != RunStatus::Running) return false;
  const fbs::Pinfo* p = rec->start() != nullptr ? rec->start()->pinfo() : nullptr;
  if (p == nullptr) return true;
  auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  return ProcessIsGone(str(p->host()), str(p->boot_id()), p->pid(), p->pstart(),
                       rec->last_update_us(), ctx);
}

Status WriteRun(Index* index, const std::string& timezone, fbs::RunRecordT& rec,
                const RunChanges& pending, const fbs::Status* previous_status,
                bool had_start, rocksdb::WriteBatch* batch) {
  const std::string& exp = rec.exp_name;
  const std::string& test = rec.test_name;
  const bool existed = previous_status != nullptr;
  // First: it reads the stored history and may fail.
  Status s = WriteSeries(index, exp, test, pending.series, existed, batch);
  if (!s.ok()) return s;
  const RunStatus old_status = existed ? *previous_status : RunStatus::Running;
  const std::string run_key = RunKey(exp, test);
  // Secondary index: status, start time, params leaves, metric best values.
  nlohmann::json old_status_json = StatusName(static_cast<int>(old_status));
  nlohmann::json new_status_json = StatusName(static_cast<int>(rec.status));
  ReplaceField(batch, index, "status", existed ? &old_status_json : nullptr,
               &new_status_json, exp, test);
  if (!had_start && rec.start != nullptr) {
    nlohmann::json start = LumoTimeString(rec.start_us, timezone);
    ReplaceField(batch, index, "progress.start", nullptr, &start, exp, test);
    batch->Put(index->cf(kByTest), RunKey(test, exp), "");
  }

  for (const auto& [key, json] : pending.info) {
    const std::string sub = SubKey(exp, test, key);
    if (key == "params") {
      std::vector<std::pair<std::string, nlohmann::json>> old_leaves, new_leaves;
      std::string old_json;
      if (existed && index->Get(kInfo, sub, &old_json).ok()) {
        FlattenParams(nlohmann::json::parse(old_json, nullptr, false), "params",
                      &old_leaves);
      }
      FlattenParams(nlohmann::json::parse(json, nullptr, false), "params",
                    &new_leaves);
      std::map<std::string, nlohmann::json> olds(old_leaves.begin(), old_leaves.end());
      for (const auto& [field, value] : new_leaves) {
        auto it = olds.find(field);
        ReplaceField(batch, index, field, it == olds.end() ? nullptr : &it->second,
                     &value, exp, test);
        if (it != olds.end()) olds.erase(it);
      }
      for (const auto& [field, value] : olds) {
        ReplaceField(batch, index, field, &value, nullptr, exp, test);
      }
    } else if (key == "rerun") {
      nlohmann::json rerun = nlohmann::json::parse(json, nullptr, false);
      if (rerun.is_object() && rerun.contains("from") && rerun["from"].is_string()) {
        std::string from = rerun["from"].get<std::string>();
        batch->Put(index->cf(kReruns), SubKey(from, "to", test), exp);
        batch->Put(index->cf(kReruns), SubKey(test, "from", from), "");
      }
      // lumo records the other direction too, on the old run ({"rerun_at":
      // {new: true}}); lumo's reruns stay in their exp_name.
      if (rerun.is_object() && rerun.contains("rerun_at") && rerun["rerun_at"].is_object()) {
        for (const auto& [to, unused] : rerun["rerun_at"].items()) {
          batch->Put(index->cf(kReruns), SubKey(test, "to", to), exp);
          batch->Put(index->cf(kReruns), SubKey(to, "from", test), "");
        }
      }
    }
    batch->Put(index->cf(kInfo), sub, json);
  }
  if (!pending.hook_errors.is_null()) {
    const std::string sub = SubKey(exp, test, "hook_errors");
    nlohmann::json all = nlohmann::json::array();
    std::string old_json;
    if (existed && index->Get(kInfo, sub, &old_json).ok()) {
      all = nlohmann::json::parse(old_json, nullptr, false);
      if (!all.is_array()) all = nlohmann::json::array();
    }
    for (auto& e : pending.hook_errors) all.push_back(e);
    batch->Put(index->cf(kInfo), sub, all.dump());
  }
  for (const auto& [key, text] : pending.text) {
    batch->Put(index->cf(kText), SubKey(exp, test, key), text);
  }
  flatbuffers::FlatBufferBuilder fbb(256);
  if (!pending.metrics.empty()) {
    // The fields index mirrors the run's metrics dict, extras included.
    std::map<std::string, MetricValue> values;
    if (existed) ReadMetricValues(index, exp, test, &values);
    const nlohmann::json old_metrics = MergeMetrics(values);
    for (const auto& [name, metric] : pending.metrics) {
      values[name] = {metric.best, metric.best_extras};
      fbb.Clear();
      fbb.Finish(fbs::MetricRecord::Pack(fbb, &metric));
      batch->Put(index->cf(kMetrics), SubKey(exp, test, name),
                 rocksdb::Slice(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                                fbb.GetSize()));
    }
    const nlohmann::json new_metrics = MergeMetrics(values);
    for (const auto& [key, value] : new_metrics.items()) {
      auto old = old_metrics.find(key);
      ReplaceField(batch, index, "metrics." + key,
                   old == old_metrics.end() ? nullptr : &*old, &value, exp, test);
    }
    for (const auto& [key, value] : old_metrics.items()) {
      if (!new_metrics.contains(key)) {
        ReplaceField(batch, index, "metrics." + key, &value, nullptr, exp, test);
      }
    }
  }

  // The change feed: one "_changed" entry per run, its stamp renewed
  // (rec carries the stored record's stamp; 0: none yet).
  const int64_t old_stamp = existed ? rec.changed_us : 0;
  rec.changed_us = index->NextChangeStamp();
  const nlohmann::json old_change = old_stamp;
  const nlohmann::json new_change = rec.changed_us;
  ReplaceField(batch, index, kChangedField, old_stamp != 0 ? &old_change : nullptr, &new_change,
               exp, test);

  fbb.Clear();
  fbb.Finish(fbs::RunRecord::Pack(fbb, &rec));
  batch->Put(index->cf(kRuns), run_key,
             rocksdb::Slice(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                            fbb.GetSize()));
  return Status::OK();
}

Status LoadRun(Index* index, const RunLoadContext& ctx,
               JournalReporter* reporter, rocksdb::WriteBatch* batch,
               LoadStats* stats, bool* retire_marker) {
  *retire_marker = false;
  const std::string& exp = ctx.exp_name;
  const std::string& test = ctx.test_name;
  const std::string run_key = RunKey(exp, test);
  const std::string path =
      JournalPath(RunInfoDir(ctx.info_root, exp, test));

  Aligned aligned;
  RunRecordT rec;
  bool existed = false;
  if (!ctx.fresh) {
    std::string value;
    Status s = index->Get(kRuns, run_key, &value);
    if (s.ok()) {
      const uint8_t* record = aligned.Get(value);
      flatbuffers::Verifier verifier(record, value.size());
      if (!fbs::VerifyRunRecordBuffer(verifier)) {
        return Status::Corruption("index record of " + exp + "/" + test +
                                  " in " + index->path() +
                                  " (run `lumo-db reindex`)");
      }
      fbs::GetRunRecord(record)->UnPackTo(&rec);
      existed = true;
    } else if (!s.IsNotFound()) {
      return s;
    }
  }
  const RunStatus old_status = rec.status;
  const bool had_start = rec.start != nullptr;

  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      // A marker whose run folder is gone: nothing to index.
      *retire_marker = ctx.has_marker;
      return Status::OK();
    }
    return Status::FromErrno("stat journal", path, errno);
  }
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  Pending pending;
  bool changed = false;
  auto visit = [&](uint64_t seq, uint64_t offset, std::string_view payload) {
    const uint8_t* bytes = aligned.Get(payload);
    flatbuffers::Verifier verifier(bytes, payload.size());
    if (!fbs::VerifyRunEventBuffer(verifier)) {
      if (reporter != nullptr) {
        reporter->Corruption(path, offset, payload.size(),
                             "record is not a valid RunEvent");
      }
      if (stats != nullptr) stats->corrupt_records++;
      return Status::OK();
    }
    std::string problem;
    ApplyEvent(*fbs::GetRunEvent(bytes), &rec, &pending, &problem);
    if (!problem.empty()) {
      if (reporter != nullptr) reporter->Corruption(path, offset, payload.size(), problem);
      if (stats != nullptr) stats->corrupt_records++;
    }
    rec.applied_seq = static_cast<int64_t>(seq);
    if (stats != nullptr) stats->records_applied++;
    changed = true;
    return Status::OK();
  };

  JournalReadResult res;
  if (file_size > static_cast<uint64_t>(rec.applied_offset)) {
    Status s = ReadJournal(path, rec.applied_offset, false, reporter, visit, &res);
    if (!s.ok()) return s;
    if (stats != nullptr) {
      stats->runs_read++;
      stats->bytes_read += res.end_offset - rec.applied_offset;
      stats->corrupt_records += res.corrupt;
    }
    if (static_cast<int64_t>(res.end_offset) != rec.applied_offset) changed = true;
    rec.applied_offset = static_cast<int64_t>(res.end_offset);
  }

  if (rec.start == nullptr) {
    // Nothing readable yet (a run still writing its first record).
    if (changed) {
      rec.exp_name = exp;
      rec.test_name = test;
    } else {
      return Status::OK();
    }
  }

  if (rec.status == RunStatus::Running && ProcessIsGone(rec, ctx)) {
    // The writer is gone, so its journal is final now. It may have appended
    // (its End, say) and died after the read above: read the file as it is
    // now, and report what stays torn once.
    struct stat now_st;
    if (::stat(path.c_str(), &now_st) == 0 &&
        static_cast<int64_t>(now_st.st_size) > rec.applied_offset) {
      JournalReadResult tail;
      Status s = ReadJournal(path, rec.applied_offset, true, reporter, visit, &tail);
      if (!s.ok()) return s;
      if (stats != nullptr) {
        stats->bytes_read += tail.file_size - rec.applied_offset;
        stats->corrupt_records += tail.corrupt;
      }
      rec.applied_offset = static_cast<int64_t>(tail.file_size);
      changed = true;
    }
    if (rec.status == RunStatus::Running) {  // no End turned up
      rec.status = RunStatus::Killed;
      if (stats != nullptr) stats->runs_killed++;
      changed = true;
    }
  }

  if (MarkerDue(rec.status, ctx)) *retire_marker = true;
  if (!changed) return Status::OK();

  rec.exp_name = exp;
  rec.test_name = test;
  rec.journal_path = path;
  if (rec.source.empty()) rec.source = "journal";
  return WriteRun(index, ctx.timezone, rec, pending, existed ? &old_status : nullptr, had_start,
                  batch);
}

}  // namespace lumodb

// The reference model of a run's JSON: the nlohmann::json tree the engine
// built before the streamed read path (index/run_text.cc), kept as the
// oracle the streamed output is checked against (run_text_test.cc).
#include "index/reference_run_json.h"

#include <memory>

#include "index/metrics_json.h"
#include "index_generated.h"
#include "util/aligned.h"
#include "util/time_util.h"

namespace lumodb::testing {

namespace {

const char* CmpName(fbs::Cmp cmp) {
  switch (cmp) {
    case fbs::Cmp::Max:
      return "max";
    case fbs::Cmp::Min:
      return "min";
    case fbs::Cmp::None:
      break;
  }
  return "none";
}

// Calls fn(name, record) for each verified metric record of the run.
template <typename Fn>
void ForEachMetric(Index* index, const std::string& exp, const std::string& test, Fn fn) {
  Aligned aligned;
  ForEachSubKey(index, kMetrics, exp, test, [&](const std::string& name, const rocksdb::Slice& v) {
    const uint8_t* bytes = aligned.Get(std::string_view(v.data(), v.size()));
    flatbuffers::Verifier verifier(bytes, v.size());
    if (!verifier.VerifyBuffer<fbs::MetricRecord>(nullptr)) return;
    fn(name, *flatbuffers::GetRoot<fbs::MetricRecord>(bytes));
  });
}

}  // namespace

Status BuildRunJson(Index* index, const std::string& exp, const std::string& test,
                    const std::string& tz, nlohmann::json* out) {
  std::string value;
  Status s = index->Get(kRuns, RunKey(exp, test), &value);
  if (s.IsNotFound()) return Status::NotFound("no run " + exp + "/" + test);
  if (!s.ok()) return s;
  Aligned aligned;
  const uint8_t* record = aligned.Get(value);
  flatbuffers::Verifier verifier(record, value.size());
  if (!fbs::VerifyRunRecordBuffer(verifier)) {
    return Status::Corruption("index record of " + exp + "/" + test + " in " + index->path());
  }
  fbs::RunRecordT rec;
  fbs::GetRunRecord(record)->UnPackTo(&rec);

  nlohmann::json j = nlohmann::json::object();
  j["exp_name"] = exp;
  j["test_name"] = test;
  j["status"] = lumodb::StatusName(static_cast<int>(rec.status));
  nlohmann::json progress = nlohmann::json::object();
  if (rec.start_us != 0) {
    progress["start"] = LumoTimeString(rec.start_us, tz);
    progress["start_utc"] = Iso8601Utc(rec.start_us);
  }
  progress["ratio"] = rec.ratio;
  if (rec.last_update_us != 0) {
    progress["last_edit_time"] = LumoTimeString(rec.last_update_us, tz);
  }
  if (rec.has_end) {
    progress["end"] = LumoTimeString(rec.end_us, tz);
    progress["end_utc"] = Iso8601Utc(rec.end_us);
    progress["end_code"] = rec.end_code;
    if (rec.signal != 0) progress["signal"] = rec.signal;
  }
  j["progress"] = progress;

  if (rec.start != nullptr) {
    const fbs::StartT& st = *rec.start;
    if (st.execute != nullptr) {
      j["execute"] = {{"repo", st.execute->repo},
                      {"cwd", st.execute->cwd},
                      {"exec_file", st.execute->exec_file},
                      {"exec_bin", st.execute->exec_bin},
                      {"exec_argv", st.execute->exec_argv}};
    }
    if (st.pinfo != nullptr) {
      // Values nobody recorded (lumo records no host or boot id) are
      // absent, never an empty string that looks like a real value.
      nlohmann::json pinfo = {{"pid", st.pinfo->pid}, {"pstart", st.pinfo->pstart}};
      if (!st.pinfo->pname.empty()) pinfo["pname"] = st.pinfo->pname;
      if (!st.pinfo->host.empty()) pinfo["host"] = st.pinfo->host;
      if (!st.pinfo->boot_id.empty()) pinfo["boot_id"] = st.pinfo->boot_id;
      j["pinfo"] = std::move(pinfo);
    }
    if (st.roots != nullptr) {
      j["roots"] = {{"info_root", st.roots->info_root},
                    {"blob_root", st.roots->blob_root},
                    {"cache_root", st.roots->cache_root}};
    }
    j["info_dir"] = st.info_dir;
    j["blob_dir"] = st.blob_dir;
    j["cache_dir"] = st.cache_dir;
    if (!st.lumodb_version.empty()) j["lumodb_version"] = st.lumodb_version;
  }
  j["tags"] = rec.tags;
  j["note"] = rec.note;
  if (rec.exception != nullptr) {
    j["exception"] = {{"exception_type", rec.exception->exception_type},
                      {"exception_content", rec.exception->exception_content}};
  }

  ForEachSubKey(index, kInfo, exp, test, [&](const std::string& key, const rocksdb::Slice& v) {
    nlohmann::json parsed = nlohmann::json::parse(v.data(), v.data() + v.size(), nullptr, false);
    if (parsed.is_discarded()) parsed = v.ToString();
    // A user key never hides one the engine derives.
    if (j.contains(key) && key != "note" && key != "tags") {
      j["info"][key] = std::move(parsed);
    } else {
      j[key] = std::move(parsed);
    }
  });
  ForEachSubKey(index, kText, exp, test, [&](const std::string& key, const rocksdb::Slice& v) {
    j["text"][key] = v.ToString();
  });
  std::map<std::string, MetricValue> values;
  nlohmann::json detail = nlohmann::json::object();
  ForEachMetric(index, exp, test, [&](const std::string& name, const fbs::MetricRecord& m) {
    values[name] = {m.best(), m.best_extras() != nullptr ? m.best_extras()->str() : ""};
    detail[name] = {{"cmp", CmpName(m.cmp())}, {"last", m.last()}, {"count", m.count()}};
    // Before metric history a value's step was its count: the last is count - 1.
    if (m.last_step().has_value() || m.count() > 0) {
      detail[name]["last_step"] = m.last_step().value_or(m.count() - 1);
    }
  });
  nlohmann::json metrics = MergeMetrics(values);
  j["metrics"] = metrics;
  if (!detail.empty()) j["metrics_detail"] = detail;

  // Rerun links, every one of them, both ways.
  {
    std::string prefix = test;
    prefix.push_back('\0');
    std::unique_ptr<rocksdb::Iterator> it(
        index->db()->NewIterator(rocksdb::ReadOptions(), index->cf(kReruns)));
    nlohmann::json reruns = nlohmann::json::array();
    std::string from;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view rest(it->key().data() + prefix.size(), it->key().size() - prefix.size());
      size_t z = rest.find('\0');
      if (z == std::string_view::npos) continue;
      if (rest.substr(0, z) == "to") {
        reruns.push_back(std::string(rest.substr(z + 1)));
      } else if (rest.substr(0, z) == "from") {
        from = std::string(rest.substr(z + 1));
      }
    }
    if (!reruns.empty()) {
      if (!j["rerun"].is_object()) j["rerun"] = nlohmann::json::object();
      j["rerun"]["reruns"] = reruns;
    }
    // Known only from the original's side (lumo's rerun_at): still shown.
    if (!from.empty() && !(j["rerun"].is_object() && j["rerun"].contains("from"))) {
      if (!j["rerun"].is_object()) j["rerun"] = nlohmann::json::object();
      j["rerun"]["from"] = from;
    }
  }
  j["journal"] = {{"path", rec.journal_path},
                  {"applied_offset", rec.applied_offset},
                  {"applied_seq", rec.applied_seq},
                  {"source", rec.source}};
  *out = std::move(j);
  return Status::OK();
}

}  // namespace lumodb::testing

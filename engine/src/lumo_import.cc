// Reads lumo run folders into index records (see lumo_import.h).
#include "lumo_import.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "lumodb/names.h"
#include "pickle.h"
#include "process_info.h"
#include "time_util.h"

namespace lumodb {

namespace {

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> List(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return names;
  while (struct dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool ReadWhole(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return !in.bad();
}

bool IsRunDir(const std::string& dir) { return IsFile(dir + "/info/test_name.json"); }

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p.substr(p.rfind('/') + 1);
}

std::string Parent(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
}

// Adds the runs of one exp_name folder.
void AddExp(const std::string& info_root, const std::string& exp,
            std::vector<LumoRunRef>* runs, std::vector<ImportProblem>* skipped) {
  const std::string exp_dir = info_root + "/" + exp;
  for (const std::string& test : List(exp_dir)) {
    const std::string dir = exp_dir + "/" + test;
    if (!IsDir(dir)) {
      skipped->push_back({dir, "not a run: a stray file"});
    } else if (!IsValidTestName(test)) {
      skipped->push_back({dir, "not a run: '" + test + "' is not a test_name"});
    } else if (!IsRunDir(dir)) {
      skipped->push_back({dir, "not a run: no info/test_name.json"});
    } else {
      runs->push_back({info_root, exp, test});
    }
  }
}

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Status FindLumoRuns(const std::string& path_in, std::string* info_root,
                    std::vector<LumoRunRef>* runs, std::vector<ImportProblem>* skipped) {
  std::string path = path_in;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (!IsDir(path)) return Status::NotFound("no lumo tree at " + path_in);
  if (IsRunDir(path)) {
    const std::string exp_dir = Parent(path);
    *info_root = Parent(exp_dir);
    const std::string exp = Basename(exp_dir), test = Basename(path);
    if (!IsValidTestName(test) || !ValidateExpName(exp).ok()) {
      skipped->push_back({path, "not a run: '" + exp + "/" + test +
                                    "' is not an exp_name/test_name"});
    } else {
      runs->push_back({*info_root, exp, test});
    }
    return Status::OK();
  }
  if (IsDir(path + "/experiments")) path += "/experiments";  // a lumo home
  // An exp_name folder holds run folders; an info_root holds exp_name folders.
  bool holds_runs = false;
  for (const std::string& name : List(path)) {
    if (IsValidTestName(name) && IsRunDir(path + "/" + name)) holds_runs = true;
  }
  if (holds_runs) {
    *info_root = Parent(path);
    AddExp(*info_root, Basename(path), runs, skipped);
    return Status::OK();
  }
  *info_root = path;
  for (const std::string& exp : List(path)) {
    const std::string dir = path + "/" + exp;
    if (exp[0] == '.') continue;  // lumo-db's own .lumodb, hidden folders
    if (!IsDir(dir) || !ValidateExpName(exp).ok()) {
      skipped->push_back({dir, "not an exp_name folder"});
      continue;
    }
    AddExp(path, exp, runs, skipped);
  }
  return Status::OK();
}

std::string LumoRunSignature(const LumoRunRef& run) {
  // FNV-1a over (name, size, mtime) of each file lumo writes.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  };
  auto add = [&](const std::string& path, const std::string& name) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return;
    mix(name.data(), name.size());
    int64_t v[3] = {static_cast<int64_t>(st.st_size), st.st_mtim.tv_sec,
                    st.st_mtim.tv_nsec};
    mix(v, sizeof(v));
  };
  const std::string dir = run.dir();
  for (const char* sub : {"info", "text"}) {
    for (const std::string& name : List(dir + "/" + sub)) {
      add(dir + "/" + sub + "/" + name, std::string(sub) + "/" + name);
    }
  }
  for (const char* name : {"note.md", "metric.pkl", "params.yaml"}) {
    add(dir + "/" + name, name);
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

Status ReadLumoRun(const LumoRunRef& run, const std::string& cache_root,
                   const std::string& tz, fbs::RunRecordT* rec, RunChanges* changes,
                   std::vector<ImportProblem>* problems, bool* partial) {
  *partial = false;
  const std::string dir = run.dir();
  auto damaged = [&](const std::string& path, const std::string& what) {
    problems->push_back({path, what});
    *partial = true;
  };

  // info/<key>.json: every key, known or not, kept as lumo wrote it.
  std::map<std::string, nlohmann::json> info;
  for (const std::string& name : List(dir + "/info")) {
    const std::string path = dir + "/info/" + name;
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0) continue;
    std::string text;
    if (!ReadWhole(path, &text)) {
      damaged(path, std::string("unreadable: ") + std::strerror(errno));
      continue;
    }
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded()) {
      damaged(path, "not valid JSON (truncated?)");
      continue;
    }
    std::string key = name.substr(0, name.size() - 5);
    changes->info[key] = value.dump();
    info[key] = std::move(value);
  }
  for (const std::string& name : List(dir + "/text")) {
    const std::string path = dir + "/text/" + name;
    std::string text;
    if (!ReadWhole(path, &text)) {
      damaged(path, "unreadable");
      continue;
    }
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".str") == 0) {
      key.resize(key.size() - 4);
    }
    changes->text[key] = text;
  }
  std::string text;
  if (IsFile(dir + "/params.yaml") && ReadWhole(dir + "/params.yaml", &text)) {
    changes->text["params.yaml"] = text;
  }
  if (IsFile(dir + "/note.md")) {
    if (ReadWhole(dir + "/note.md", &text)) {
      rec->note = text;
    } else {
      damaged(dir + "/note.md", "unreadable");
    }
  }

  rec->exp_name = run.exp_name;
  rec->test_name = run.test_name;
  rec->source = "lumo";
  rec->journal_path = dir;

  // Times: lumo's strings in lumo's zone; the strings stay in info.progress.
  const nlohmann::json progress = info.count("progress") ? info["progress"] : nlohmann::json();
  auto time_of = [&](const char* key) -> int64_t {
    int64_t us = 0;
    std::string s = progress.is_object() ? Str(progress, key) : "";
    if (!s.empty() && !ParseLumoTimeString(s, tz, &us)) {
      damaged(dir + "/info/progress.json", std::string("bad time string ") + key + " '" + s + "'");
      return 0;
    }
    return us;
  };
  rec->start_us = time_of("start");
  rec->last_update_us = time_of("last_edit_time");
  if (progress.is_object() && progress.contains("ratio") && progress["ratio"].is_number()) {
    rec->ratio = progress["ratio"].get<double>();
  }

  auto start = std::make_unique<fbs::StartT>();
  start->exp_name = run.exp_name;
  start->test_name = run.test_name;
  start->info_dir = dir;
  if (info.count("roots") && info["roots"].is_object()) {
    const nlohmann::json& r = info["roots"];
    start->roots = std::make_unique<fbs::RootsT>();
    start->roots->info_root = Str(r, "info_root");
    start->roots->blob_root = Str(r, "blob_root");
    start->roots->cache_root = Str(r, "cache_root");
    if (!start->roots->blob_root.empty()) {
      start->blob_dir = start->roots->blob_root + "/" + run.exp_name + "/" + run.test_name;
    }
    if (!start->roots->cache_root.empty()) {
      start->cache_dir = start->roots->cache_root + "/" + run.exp_name + "/" + run.test_name;
    }
  }
  if (info.count("execute") && info["execute"].is_object()) {
    const nlohmann::json& e = info["execute"];
    start->execute = std::make_unique<fbs::ExecuteT>();
    start->execute->repo = Str(e, "repo");
    start->execute->cwd = Str(e, "cwd");
    start->execute->exec_file = Str(e, "exec_file");
    start->execute->exec_bin = Str(e, "exec_bin");
    if (e.contains("exec_argv") && e["exec_argv"].is_array()) {
      for (const auto& a : e["exec_argv"]) {
        if (a.is_string()) start->execute->exec_argv.push_back(a.get<std::string>());
      }
    }
  }
  start->pinfo = std::make_unique<fbs::PinfoT>();
  if (info.count("pinfo") && info["pinfo"].is_object()) {
    const nlohmann::json& p = info["pinfo"];
    if (p.contains("pid") && p["pid"].is_number_integer()) start->pinfo->pid = p["pid"].get<int64_t>();
    if (p.contains("obj") && p["obj"].is_object()) {
      const nlohmann::json& o = p["obj"];
      if (o.contains("pstart") && o["pstart"].is_number()) start->pinfo->pstart = o["pstart"].get<double>();
      start->pinfo->pname = Str(o, "pname");
    }
  }
  if (info.count("tags") && info["tags"].is_array()) {
    for (const auto& t : info["tags"]) {
      if (t.is_string()) rec->tags.push_back(t.get<std::string>());
    }
  }
  if (info.count("exception") && info["exception"].is_object()) {
    rec->exception = std::make_unique<fbs::ExceptionT>();
    rec->exception->exception_type = Str(info["exception"], "exception_type");
    rec->exception->exception_content = Str(info["exception"], "exception_content");
  }

  // Status from lumo's records, never from lumo's own relabelling.
  const bool has_end = progress.is_object() && progress.contains("end_code") &&
                       progress["end_code"].is_number_integer();
  if (has_end) {
    rec->has_end = true;
    rec->end_code = progress["end_code"].get<int>();
    rec->end_us = time_of("end");
  }
  if (has_end && rec->end_code == 0 && rec->exception == nullptr) {
    rec->status = fbs::Status::Finished;
  } else if (has_end || rec->exception != nullptr) {
    rec->status = fbs::Status::Failed;
  } else {
    // No end: killed unless its process provably lives on this host.
    double now_start = ProcessStartTime(start->pinfo->pid);
    bool alive = start->pinfo->pid > 0 && now_start >= 0 &&
                 std::abs(now_start - start->pinfo->pstart) <= 0.5;
    rec->status = alive ? fbs::Status::Running : fbs::Status::Killed;
    if (alive) start->pinfo->host = HostName();
  }
  rec->start = std::move(start);

  // metric.pkl: decoded as data only.
  const std::string pkl = dir + "/metric.pkl";
  if (IsFile(pkl)) {
    std::string bytes;
    nlohmann::json metrics;
    std::vector<PickleWarning> warnings;
    Status s = ReadWhole(pkl, &bytes) ? DecodePickle(bytes, &metrics, &warnings)
                                      : Status::IOError("unreadable");
    for (const auto& w : warnings) {
      problems->push_back({pkl, "key '" + w.path + "': " + w.what});
    }
    if (!s.ok()) damaged(pkl, s.ToString());
    if (metrics.is_object()) {
      nlohmann::json other = nlohmann::json::object();
      for (const auto& [key, value] : metrics.items()) {
        if (value.is_number() || value.is_boolean()) {
          fbs::MetricRecordT& m = changes->metrics[key];
          m.cmp = fbs::Cmp::None;
          m.best = m.last = value.is_boolean() ? (value.get<bool>() ? 1.0 : 0.0)
                                               : value.get<double>();
          m.update_us = rec->last_update_us;
        } else {
          other[key] = value;
        }
      }
      if (!other.empty()) changes->info["metric_other"] = other.dump();
    }
  }

  // lumo's markers: present while lumo thinks the run changed or lives.
  if (!cache_root.empty()) {
    const std::string rel = "/" + run.exp_name + "/" + run.test_name;
    nlohmann::json markers = {
        {"heartbeat", IsFile(cache_root + "/heartbeat" + rel + ".hb")},
        {"pid", IsFile(cache_root + "/pid" + rel + ".pid")}};
    changes->info["lumo_markers"] = markers.dump();
  }
  rec->partial = *partial;
  rec->import_signature = LumoRunSignature(run);
  return Status::OK();
}

}  // namespace lumodb

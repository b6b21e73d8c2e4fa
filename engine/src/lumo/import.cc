// Reads lumo run folders into index records (see lumo_import.h).
#include "lumo/import.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "experiment/process_info.h"
#include "lumo/pickle.h"
#include "lumodb/names.h"
#include "util/fs.h"
#include "util/json_field.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

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

bool IsRunDir(const std::string& dir) { return IsFile(dir + "/info/test_name.json"); }

// Names in a folder relative to an open directory, sorted; none if absent.
std::vector<std::string> ListAt(int dirfd, const char* sub) {
  std::vector<std::string> names;
  int fd = ::openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return names;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return names;
  }
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
                                (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    names.emplace_back(e->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// Reads a file relative to an open directory; st gets its fstat.
bool ReadAt(int dirfd, const std::string& rel, std::string* out, struct stat* st) {
  int fd = ::openat(dirfd, rel.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fstat(fd, st) == 0 && S_ISREG(st->st_mode);
  if (ok) {
    out->resize(static_cast<size_t>(st->st_size));
    size_t got = 0;
    while (got < out->size()) {
      ssize_t n = ::read(fd, out->data() + got, out->size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    out->resize(got);
  }
  int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

// The signature of a run from (name, stat) of its files, in name order.
class Signature {
 public:
  void Add(const std::string& name, const struct stat& st) {
    entries_.emplace_back(name, st);
  }
  std::string Hex() {
    std::sort(entries_.begin(), entries_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    auto mix = [&h](const void* data, size_t n) {
      const auto* p = static_cast<const unsigned char*>(data);
      for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    };
    for (const auto& [name, st] : entries_) {
      mix(name.data(), name.size());
      int64_t v[3] = {static_cast<int64_t>(st.st_size), st.st_mtim.tv_sec,
                      st.st_mtim.tv_nsec};
      mix(v, sizeof(v));
    }
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
    return hex;
  }

 private:
  std::vector<std::pair<std::string, struct stat>> entries_;
};

constexpr const char* kRunFiles[] = {"note.md", "metric.pkl", "params.yaml"};

// Closes a directory fd on scope exit.
struct DirFd {
  explicit DirFd(const std::string& path)
      : fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  ~DirFd() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

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
  // No stat per run: the entry's type comes with the listing, and a run
  // folder without info/test_name.json is found out when it is read.
  const std::string exp_dir = info_root + "/" + exp;
  DIR* dir = ::opendir(exp_dir.c_str());
  if (dir == nullptr) return;
  std::vector<std::pair<std::string, unsigned char>> entries;
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' ||
                                (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    entries.emplace_back(e->d_name, e->d_type);
  }
  ::closedir(dir);
  std::sort(entries.begin(), entries.end());
  for (const auto& [test, type] : entries) {
    const std::string path = exp_dir + "/" + test;
    bool is_dir = type == DT_DIR || (type == DT_UNKNOWN && IsDir(path));
    if (!is_dir) {
      skipped->push_back({path, "not a run: a stray file"});
    } else if (!IsValidTestName(test)) {
      skipped->push_back({path, "not a run: '" + test + "' is not a test_name"});
    } else {
      runs->push_back({info_root, exp, test});
    }
  }
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
  DirFd dir(run.dir());
  Signature sig;
  if (dir.fd < 0) return sig.Hex();
  struct stat st;
  for (const char* sub : {"info", "text"}) {
    for (const std::string& name : ListAt(dir.fd, sub)) {
      const std::string rel = std::string(sub) + "/" + name;
      if (::fstatat(dir.fd, rel.c_str(), &st, 0) == 0) sig.Add(rel, st);
    }
  }
  for (const char* name : kRunFiles) {
    if (::fstatat(dir.fd, name, &st, 0) == 0) sig.Add(name, st);
  }
  return sig.Hex();
}

bool LumoQuickSignature(const LumoRunRef& run, const std::string& cache_root,
                        std::string* hex, int64_t* newest_s) {
  if (cache_root.empty()) return false;
  struct stat st;
  const std::string marker = cache_root + "/pid/" + run.exp_name + "/" + run.test_name + ".pid";
  if (::stat(marker.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  Signature sig;
  sig.Add("pid", st);
  *newest_s = st.st_mtim.tv_sec;
  const std::string dir = run.dir();
  for (const char* sub : {"", "/info", "/text"}) {
    if (::stat((dir + sub).c_str(), &st) != 0) continue;  // no text/: fine
    st.st_size = 0;  // a folder's size says nothing more than its mtime
    sig.Add(sub, st);
    *newest_s = std::max<int64_t>(*newest_s, st.st_mtim.tv_sec);
  }
  *hex = sig.Hex();
  return true;
}

ImportSignature ImportSignature::Parse(const std::string& stored) {
  ImportSignature sig;
  size_t colon = stored.find(':');
  sig.full = stored.substr(0, colon);
  if (colon != std::string::npos) sig.quick = stored.substr(colon + 1);
  return sig;
}

Status ReadLumoRun(const LumoRunRef& run, const std::string& cache_root,
                   const std::string& tz, fbs::RunRecordT* rec, RunChanges* changes,
                   std::vector<ImportProblem>* problems, bool* partial, int64_t now_s) {
  *partial = false;
  const std::string dir = run.dir();
  // Taken before any file is read: a write after this point changes it.
  ImportSignature signature;
  int64_t newest_s = 0;
  if (!LumoQuickSignature(run, cache_root, &signature.quick, &newest_s) ||
      newest_s > now_s - kQuickSignatureSettleS) {
    signature.quick.clear();
  }
  auto damaged = [&](const std::string& path, const std::string& what) {
    problems->push_back({path, what});
    *partial = true;
  };

  DirFd dirfd(dir);
  if (dirfd.fd < 0) return Status::FromErrno("open", dir, errno);
  Signature sig;
  struct stat st;
  // What could not be read is damage, except a file that is simply absent.
  auto read = [&](const std::string& rel, std::string* out) {
    if (ReadAt(dirfd.fd, rel, out, &st)) {
      sig.Add(rel, st);
      return true;
    }
    if (errno != ENOENT) damaged(dir + "/" + rel, std::string("unreadable: ") + std::strerror(errno));
    return false;
  };

  // info/<key>.json: every key, known or not, kept as lumo wrote it.
  std::map<std::string, nlohmann::json> info;
  std::string text;
  const std::vector<std::string> info_names = ListAt(dirfd.fd, "info");
  // A folder with only lumo's rerun record (and no lumo-db journal) is a
  // rerun whose child failed before it started: a run that never started.
  bool never_started = false;
  if (!std::binary_search(info_names.begin(), info_names.end(), "test_name.json")) {
    never_started = std::binary_search(info_names.begin(), info_names.end(), "rerun.json") &&
                    ::faccessat(dirfd.fd, "journal", F_OK, 0) != 0;
    if (!never_started) return Status::NotFound("not a run: no info/test_name.json");
  }
  for (const std::string& name : info_names) {
    const std::string rel = "info/" + name;
    if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".json") != 0) {
      if (::fstatat(dirfd.fd, rel.c_str(), &st, 0) == 0) sig.Add(rel, st);
      continue;
    }
    if (!read(rel, &text)) continue;
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded()) {
      damaged(dir + "/" + rel, "not valid JSON (truncated?)");
      continue;
    }
    std::string key = name.substr(0, name.size() - 5);
    changes->info[key] = value.dump();
    info[key] = std::move(value);
  }
  for (const std::string& name : ListAt(dirfd.fd, "text")) {
    if (!read("text/" + name, &text)) continue;
    std::string key = name;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".str") == 0) {
      key.resize(key.size() - 4);
    }
    changes->text[key] = text;
  }
  if (read("params.yaml", &text)) changes->text["params.yaml"] = text;
  if (read("note.md", &text)) rec->note = text;

  rec->exp_name = run.exp_name;
  rec->test_name = run.test_name;
  rec->source = "lumo";
  rec->journal_path = dir;

  // Times: lumo's strings in lumo's zone; the strings stay in info.progress.
  const nlohmann::json progress = info.count("progress") ? info["progress"] : nlohmann::json();
  auto time_of = [&](const char* key) -> int64_t {
    int64_t us = 0;
    std::string s = progress.is_object() ? StringField(progress, key) : "";
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
    start->roots->info_root = StringField(r, "info_root");
    start->roots->blob_root = StringField(r, "blob_root");
    start->roots->cache_root = StringField(r, "cache_root");
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
    start->execute->repo = StringField(e, "repo");
    start->execute->cwd = StringField(e, "cwd");
    start->execute->exec_file = StringField(e, "exec_file");
    start->execute->exec_bin = StringField(e, "exec_bin");
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
      start->pinfo->pname = StringField(o, "pname");
    }
  }
  if (info.count("tags") && info["tags"].is_array()) {
    for (const auto& t : info["tags"]) {
      if (t.is_string()) rec->tags.push_back(t.get<std::string>());
    }
  }
  if (info.count("exception") && info["exception"].is_object()) {
    rec->exception = std::make_unique<fbs::ExceptionT>();
    rec->exception->exception_type = StringField(info["exception"], "exception_type");
    rec->exception->exception_content = StringField(info["exception"], "exception_content");
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
  if (never_started) {
    rec->status = fbs::Status::NotStarted;
    // Its only time: when the rerun record was written.
    if (::fstatat(dirfd.fd, "info/rerun.json", &st, 0) == 0) {
      rec->start_us = int64_t{st.st_mtim.tv_sec} * 1000000 + st.st_mtim.tv_nsec / 1000;
    }
  }
  rec->start = std::move(start);

  // metric.pkl: decoded as data only.
  const std::string pkl = dir + "/metric.pkl";
  std::string bytes;
  if (read("metric.pkl", &bytes)) {
    nlohmann::json metrics;
    std::vector<PickleWarning> warnings;
    Status s = DecodePickle(bytes, &metrics, &warnings);
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
          // lumo keeps one value per metric: its history is that value.
          m.last_step = 0;
          changes->series[key] = {SeriesPoint{0, rec->last_update_us, m.best}};
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
  signature.full = sig.Hex();
  rec->import_signature = signature.ToString();
  return Status::OK();
}

}  // namespace lumodb

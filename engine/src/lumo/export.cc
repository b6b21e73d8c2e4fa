// Writes runs from the index into lumo's layout (see lumo_export.h).
#include "lumo/export.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "index/metrics_json.h"
#include "index_generated.h"
#include "lumo/pickle.h"
#include "lumodb/names.h"
#include "util/aligned.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

using ojson = nlohmann::ordered_json;

// One run's files, paths relative to its folder.
struct RunFiles {
  std::string exp, test;
  std::vector<std::pair<std::string, std::string>> files;
};

// Importer bookkeeping kept as info keys; not dump_info keys of the run.
bool IsImporterKey(const std::string& key) {
  return key == "lumo_markers" || key == "metric_other";
}

// A key becomes <key>.json or <key>.str in one folder: it must be one file
// name (the ".tmp" of the atomic write included).
bool SafeFileKey(const std::string& key) {
  return !key.empty() && key.size() <= 240 && key != "." && key != ".." &&
         key.find('/') == std::string::npos && key.find('\0') == std::string::npos;
}

// As Python's json.dump(value, f, indent=2): ASCII only, no final newline.
std::string Pretty(const ojson& value) {
  return value.dump(2, ' ', true, ojson::error_handler_t::replace);
}

uint64_t Fnv1a(const std::string& data, uint64_t h) {
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// pinfo.hash: lumo writes an md5 of the process; this is lumo-db's own
// 32-hex digest of the same description (only an identifier to lumo).
std::string PinfoHash(const ojson& obj) {
  const std::string text = obj.dump();
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%016llx%016llx",
                static_cast<unsigned long long>(Fnv1a(text, 1469598103934665603ULL)),
                static_cast<unsigned long long>(Fnv1a(text, 0x84222325cbf29ce4ULL)));
  return hex;
}


// The tests this run was rerun as (lumo-db's reruns family, "to" links).
std::vector<std::string> RerunsOf(Index* index, const std::string& test) {
  std::vector<std::string> out;
  std::string prefix = test;
  prefix.push_back('\0');
  prefix += "to";
  prefix.push_back('\0');
  std::string upper = prefix;
  upper.back() = '\x01';
  Index::RangeIterator it(index, kReruns, prefix, upper);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace_back(it->key().data() + prefix.size(), it->key().size() - prefix.size());
  }
  return out;
}

Status CollectRun(Index* index, const std::string& tz, const std::string& exp,
                  const std::string& test, RunFiles* out) {
  const std::string name = exp + "/" + test;
  if (!ValidateExpName(exp).ok() || !IsValidTestName(test)) {
    return Status::InvalidArgument("export: run " + name +
                                   " has no valid exp_name/test_name to name a folder");
  }
  std::string value;
  Status s = index->Get(kRuns, RunKey(exp, test), &value);
  if (s.IsNotFound()) return Status::NotFound("export: no run " + name + " in " + index->path());
  if (!s.ok()) return s;
  Aligned aligned;
  const uint8_t* bytes = aligned.Get(value);
  flatbuffers::Verifier verifier(bytes, value.size());
  if (!fbs::VerifyRunRecordBuffer(verifier)) {
    return Status::Corruption("index record of " + name + " in " + index->path());
  }
  fbs::RunRecordT rec;
  fbs::GetRunRecord(bytes)->UnPackTo(&rec);
  const bool from_lumo = rec.source == "lumo";

  // Every info key as stored: for an imported run, the values lumo wrote.
  std::map<std::string, ojson> info;
  ForEachSubKey(index, kInfo, exp, test, [&](const std::string& key, const rocksdb::Slice& slice) {
    const std::string v = slice.ToString();
    if (IsImporterKey(key)) return;
    ojson parsed = ojson::parse(v, nullptr, false);
    info[key] = parsed.is_discarded() ? ojson(v) : std::move(parsed);
  });

  // lumo's own keys, from the record.
  std::map<std::string, ojson> derived;
  derived["exp_name"] = exp;
  derived["test_name"] = test;
  if (rec.start != nullptr) {
    const fbs::StartT& st = *rec.start;
    if (st.roots != nullptr) {
      derived["roots"] = ojson{{"info_root", st.roots->info_root},
                               {"cache_root", st.roots->cache_root},
                               {"blob_root", st.roots->blob_root}};
    }
    std::vector<std::string> argv;
    if (st.execute != nullptr) {
      argv = st.execute->exec_argv;
      derived["execute"] = ojson{{"repo", st.execute->repo},
                                 {"cwd", st.execute->cwd},
                                 {"exec_file", st.execute->exec_file},
                                 {"exec_bin", st.execute->exec_bin},
                                 {"exec_argv", st.execute->exec_argv}};
    }
    if (st.pinfo != nullptr) {
      ojson obj{{"pid", st.pinfo->pid},
                {"pname", st.pinfo->pname},
                {"pstart", st.pinfo->pstart},
                {"argv", argv},
                {"host", st.pinfo->host},
                {"boot_id", st.pinfo->boot_id}};
      derived["pinfo"] = ojson{{"pid", st.pinfo->pid}, {"hash", PinfoHash(obj)}, {"obj", obj}};
    }
  }
  derived["tags"] = rec.tags;
  {
    ojson p = ojson::object();
    if (rec.start_us != 0) p["start"] = LumoTimeString(rec.start_us, tz);
    p["ratio"] = rec.ratio;
    const int64_t edit = rec.last_update_us != 0 ? rec.last_update_us : rec.start_us;
    if (edit != 0) p["last_edit_time"] = LumoTimeString(edit, tz);
    p["update_from"] = nullptr;
    if (rec.has_end) {
      p["end"] = LumoTimeString(rec.end_us, tz);
      p["end_code"] = rec.end_code;
    }
    derived["progress"] = p;
  }
  if (rec.exception != nullptr) {
    derived["exception"] = ojson{{"exception_type", rec.exception->exception_type},
                                 {"exception_content", rec.exception->exception_content}};
  }
  if (rec.status == fbs::Status::NotStarted) {
    // A rerun that never started is only its rerun record in lumo's tree;
    // a test_name.json would make it a run on the next import.
    derived.clear();
  }
  if (from_lumo) {
    // lumo's records as lumo wrote them (its lost rerun links included);
    // the record fills in only what lumo's files lacked.
    for (auto& [key, v] : derived) info.emplace(key, std::move(v));
  } else {
    for (auto& [key, v] : derived) info[key] = std::move(v);
    if (info.count("hooks") == 0) info["hooks"] = ojson::object();
    // lumo keeps the other direction on the old run: {"rerun_at": {new: true}}.
    std::vector<std::string> reruns = RerunsOf(index, test);
    if (!reruns.empty()) {
      ojson& rerun = info["rerun"];
      if (!rerun.is_object()) rerun = ojson::object();
      if (!rerun["rerun_at"].is_object()) rerun["rerun_at"] = ojson::object();
      for (const auto& to : reruns) rerun["rerun_at"][to] = true;
    }
  }

  for (const auto& [key, v] : info) {
    if (!SafeFileKey(key)) {
      return Status::InvalidArgument("export: run " + name + ": info key '" + key +
                                     "' cannot be a file name in lumo's layout");
    }
    out->files.emplace_back("info/" + key + ".json", Pretty(v));
  }
  Status bad;
  ForEachSubKey(index, kText, exp, test, [&](const std::string& key, const rocksdb::Slice& slice) {
    const std::string text = slice.ToString();
    if (from_lumo && key == "params.yaml") {
      out->files.emplace_back("params.yaml", text);  // lumo's Trainer wrote it there
    } else if (!SafeFileKey(key)) {
      bad = Status::InvalidArgument("export: run " + name + ": text key '" + key +
                                    "' cannot be a file name in lumo's layout");
    } else {
      out->files.emplace_back("text/" + key + ".str", text);
    }
  });
  if (!bad.ok()) return bad;
  if (!rec.note.empty()) out->files.emplace_back("note.md", rec.note);

  std::map<std::string, MetricValue> values;
  ReadMetricValues(index, exp, test, &values);
  std::vector<std::pair<std::string, double>> items;
  const nlohmann::json metrics = MergeMetrics(values);
  for (const auto& [key, v] : metrics.items()) {
    if (v.is_number()) {
      items.emplace_back(key, v.get<double>());
    } else if (v.is_boolean()) {
      items.emplace_back(key, v.get<bool>() ? 1.0 : 0.0);  // as the importer reads one
    }
  }
  if (!items.empty()) out->files.emplace_back("metric.pkl", EncodePickleFloatDict(items));
  out->exp = exp;
  out->test = test;
  return Status::OK();
}

// Absent: OK with *exists false. A directory (not a link to one): *exists.
Status CheckDir(const std::string& path, bool* exists) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      *exists = false;
      return Status::OK();
    }
    return Status::FromErrno("export: stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FromErrno("export: not a directory", path, ENOTDIR);
  }
  *exists = true;
  return Status::OK();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0) return Status::OK();
  if (errno == EEXIST) {
    bool exists = false;
    Status s = CheckDir(path, &exists);
    if (!s.ok()) return s;
    if (exists) return Status::OK();
  }
  return Status::FromErrno("export: create folder", path, errno);
}

Status SyncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("export: open folder", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  return rc == 0 ? Status::OK() : Status::FromErrno("export: fsync", path, err);
}

// Writes path through path.tmp and a rename.
Status WriteAtomic(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::FromErrno("export: create", tmp, errno);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::FromErrno("export: write", tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::FromErrno("export: write", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status::FromErrno("export: rename", tmp, err);
  }
  return Status::OK();
}

// Moves a finished run folder into place, never over an existing one.
Status PlaceRun(const std::string& staged, const std::string& final_dir) {
  if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_NOREPLACE) == 0) {
    return Status::OK();
  }
  if (errno == EEXIST) return Status::FromErrno("export: run folder exists", final_dir, EEXIST);
  if (errno != EINVAL && errno != ENOSYS) {
    return Status::FromErrno("export: rename " + staged + " to", final_dir, errno);
  }
  // A filesystem without RENAME_NOREPLACE: rename(2) still refuses a
  // non-empty folder, and an empty one is checked for just before.
  struct stat st;
  if (::lstat(final_dir.c_str(), &st) == 0) {
    return Status::FromErrno("export: run folder exists", final_dir, EEXIST);
  }
  if (::rename(staged.c_str(), final_dir.c_str()) != 0) {
    return Status::FromErrno("export: rename " + staged + " to", final_dir, errno);
  }
  return Status::OK();
}

Status WriteRunFolder(const std::string& out_dir, const RunFiles& run) {
  const std::string exp_dir = out_dir + "/" + run.exp;
  Status s = MakeDir(exp_dir);
  if (!s.ok()) return s;
  const std::string final_dir = exp_dir + "/" + run.test;
  std::string tmpl = exp_dir + "/." + run.test + ".lumodb-export-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Status::FromErrno("export: create folder", tmpl, errno);
  }
  const std::string staged = tmpl;
  bool has_text = false;
  for (const auto& f : run.files) has_text = has_text || f.first.rfind("text/", 0) == 0;
  s = MakeDir(staged + "/info");
  if (s.ok() && has_text) s = MakeDir(staged + "/text");
  for (const auto& [rel, data] : run.files) {
    if (!s.ok()) break;
    s = WriteAtomic(staged + "/" + rel, data);
  }
  if (s.ok()) s = SyncDir(staged + "/info");
  if (s.ok() && has_text) s = SyncDir(staged + "/text");
  if (s.ok()) s = SyncDir(staged);
  if (s.ok()) s = PlaceRun(staged, final_dir);
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(staged, ec);  // ours alone, inside out_dir
    return s;
  }
  return SyncDir(exp_dir);
}

}  // namespace

Status ExportLumoRuns(Index* index, const std::string& timezone,
                      const std::vector<std::pair<std::string, std::string>>& runs,
                      const std::string& out_dir_in, size_t* exported,
                      const Progress& progress) {
  *exported = 0;
  std::string out_dir = out_dir_in;
  while (out_dir.size() > 1 && out_dir.back() == '/') out_dir.pop_back();
  if (out_dir.empty()) return Status::InvalidArgument("export: no output folder given");

  // Everything is read and checked before the first write.
  std::vector<RunFiles> all;
  all.reserve(runs.size());
  for (const auto& [exp, test] : runs) {
    RunFiles files;
    Status s = CollectRun(index, timezone, exp, test, &files);
    if (!s.ok()) return s;
    all.push_back(std::move(files));
  }
  bool out_exists = false;
  Status s = CheckDir(out_dir, &out_exists);
  if (!s.ok()) return s;
  if (out_exists) {
    for (const RunFiles& run : all) {
      const std::string exp_dir = out_dir + "/" + run.exp;
      bool exp_exists = false;
      s = CheckDir(exp_dir, &exp_exists);
      if (!s.ok()) return s;
      const std::string final_dir = exp_dir + "/" + run.test;
      struct stat st;
      if (exp_exists && ::lstat(final_dir.c_str(), &st) == 0) {
        return Status::FromErrno("export: run folder exists", final_dir, EEXIST);
      }
    }
  }

  s = MakeDir(out_dir);
  if (!s.ok()) return s;
  for (const RunFiles& run : all) {
    s = WriteRunFolder(out_dir, run);
    if (!s.ok()) return s;
    ++*exported;
    if (progress) progress(*exported, all.size());
  }
  return Status::OK();
}

}  // namespace lumodb

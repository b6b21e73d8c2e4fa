// Lumo tree generator (see lumo_tree_generator.h).
#include "lumo_tree_generator.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "lumo/pickle.h"

namespace lumodb::bench {

namespace {

// One fixture run held in memory: relative path -> bytes.
struct Template {
  std::string exp_name;
  std::map<std::string, std::string> files;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status Put(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create", path, errno);
  ssize_t n = ::write(fd, data.data(), data.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(data.size())) return Status::FromErrno("write", path, errno);
  return Status::OK();
}

std::vector<Template> LoadTemplates(const std::string& fixtures_home) {
  std::vector<Template> out;
  const std::string root = fixtures_home + "/experiments";
  for (const auto& exp : std::filesystem::directory_iterator(root)) {
    for (const auto& run : std::filesystem::directory_iterator(exp.path())) {
      Template t;
      t.exp_name = exp.path().filename();
      for (const auto& f : std::filesystem::recursive_directory_iterator(run.path())) {
        if (!f.is_regular_file()) continue;
        t.files[std::filesystem::relative(f.path(), run.path())] = Slurp(f.path());
      }
      out.push_back(std::move(t));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Template& a, const Template& b) { return a.files < b.files; });
  return out;
}

std::string Json(const nlohmann::json& j) { return j.dump(2); }

}  // namespace

Status GenerateLumoTree(const std::string& fixtures_home, const std::string& home,
                        size_t n_runs) {
  std::vector<Template> templates = LoadTemplates(fixtures_home);
  if (templates.empty()) return Status::NotFound("no fixture runs under " + fixtures_home);
  const double lrs[] = {0.001, 0.003, 0.01, 0.03, 0.1, 0.3};
  const size_t n_exps = 20, per_day = 1500;
  std::map<std::string, bool> made_dirs;
  for (size_t i = 0; i < n_runs; ++i) {
    const Template& t = templates[i % templates.size()];
    const std::string exp = t.exp_name + ".g" + std::to_string(i % n_exps);
    const size_t k = i / n_exps;  // run number within the exp
    char test[32];
    std::snprintf(test, sizeof(test), "2601%02zu.%03zu.%02zxt", 1 + k / per_day, k % per_day,
                  (i * 2654435761u) % 256);
    const std::string dir = home + "/experiments/" + exp + "/" + test;
    std::error_code ec;
    std::filesystem::create_directories(dir + "/info", ec);
    if (ec) return Status::IOError("create " + dir + ": " + ec.message());
    for (const auto& [rel, data] : t.files) {
      std::string out = data;
      const std::string path = dir + "/" + rel;
      if (rel.find('/') != std::string::npos) {
        std::string parent = path.substr(0, path.rfind('/'));
        if (!made_dirs[parent]) {
          std::filesystem::create_directories(parent, ec);
          made_dirs[parent] = true;
        }
      }
      if (rel == "info/test_name.json") {
        out = Json(test);
      } else if (rel == "info/exp_name.json") {
        out = Json(exp);
      } else if (rel == "info/params.json") {
        nlohmann::json p = nlohmann::json::parse(data, nullptr, false);
        if (p.is_object()) {
          p["lr"] = lrs[i % 6];
          p["seed"] = static_cast<int64_t>(i);
          p["exp"] = exp;
          out = Json(p);
        }
      } else if (rel == "metric.pkl") {
        double q = 1.0 - std::fabs(std::log10(lrs[i % 6] / 0.03)) * 0.15;
        double acc = q * 0.95 + std::sin(static_cast<double>(i) * 12.9898) * 0.01;
        out = EncodePickleFloatDict({{"acc", acc},
                                     {"best_epoch", static_cast<double>(1 + i % 5)},
                                     {"loss", (1 - acc) * 2},
                                     {"val_acc", acc - 0.01}});
      }
      Status s = Put(path, out);
      if (!s.ok()) return s;
    }
    {
      // lumo leaves a pid marker for every run it ever wrote.
      const std::string pid = home + "/cache/pid/" + exp;
      if (!made_dirs[pid]) {
        std::filesystem::create_directories(pid, ec);
        made_dirs[pid] = true;
      }
      Status s = Put(pid + "/" + test + ".pid", dir);
      if (!s.ok()) return s;
    }
    if (i % 100 == 0) {
      const std::string hb = home + "/cache/heartbeat/" + exp;
      std::filesystem::create_directories(hb, ec);
      Status s = Put(hb + "/" + test + ".hb", dir);
      if (!s.ok()) return s;
    }
  }
  return Status::OK();
}

Status EnsureLumoTree(const std::string& fixtures_home, const std::string& data_dir,
                      size_t n_runs, bool* generated) {
  *generated = false;
  if (std::filesystem::exists(data_dir + "/complete")) {
    if (std::filesystem::exists(data_dir + "/cache/pid")) return Status::OK();
    // A tree made before the generator wrote pid markers: add them.
    std::error_code ec;
    const std::string info_root = data_dir + "/experiments";
    for (const auto& exp : std::filesystem::directory_iterator(info_root, ec)) {
      const std::string pid = data_dir + "/cache/pid.tmp/" + exp.path().filename().string();
      std::filesystem::create_directories(pid, ec);
      for (const auto& run : std::filesystem::directory_iterator(exp.path(), ec)) {
        Status s = Put(pid + "/" + run.path().filename().string() + ".pid", run.path().string());
        if (!s.ok()) return s;
      }
    }
    std::filesystem::rename(data_dir + "/cache/pid.tmp", data_dir + "/cache/pid", ec);
    if (ec) return Status::IOError("rename " + data_dir + "/cache/pid.tmp: " + ec.message());
    return Status::OK();
  }
  std::error_code ec;
  std::filesystem::remove_all(data_dir, ec);
  Status s = GenerateLumoTree(fixtures_home, data_dir, n_runs);
  if (!s.ok()) return s;
  *generated = true;
  return Put(data_dir + "/complete", std::to_string(n_runs) + "\n");
}

}  // namespace lumodb::bench

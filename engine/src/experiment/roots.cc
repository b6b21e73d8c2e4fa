// Roots::FromLumoConfig: lumo's roots and settings from its JSON config files.
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "experiment/process_info.h"
#include "lumodb/options.h"
#include "nlohmann/json.hpp"

namespace lumodb {

namespace {

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// "~" or "~/x" at the start of a value means the user's home, as in lumo.
std::string ExpandUser(const std::string& value, const std::string& user_home) {
  if (value == "~") return user_home;
  if (value.size() >= 2 && value[0] == '~' && value[1] == '/') {
    return JoinPath(user_home, value.substr(2));
  }
  return value;
}

// The values one config file sets; an empty string means "not set here".
struct ConfigValues {
  std::string home, info_root, blob_root, cache_root, timezone, dev_branch;
};

// Reads one config file into *values, later files overwriting earlier ones.
// A missing file is not an error: every file is optional.
Status ReadConfigFile(const std::string& path, const std::string& user_home,
                      ConfigValues* values) {
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return Status::FromErrno("stat", path, errno);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return Status::FromErrno("open", path, errno != 0 ? errno : EACCES);
  }
  std::stringstream text;
  text << in.rdbuf();
  // allow_exceptions = false: a parse error yields a "discarded" value.
  nlohmann::json doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (doc.is_discarded()) {
    return Status::InvalidArgument("lumo config " + path +
                                   " is not valid JSON");
  }
  if (!doc.is_object()) {
    return Status::InvalidArgument("lumo config " + path +
                                   " is not a JSON object");
  }
  struct Key {
    const char* name;
    std::string* field;
    bool is_path;
  };
  const Key keys[] = {
      {"home", &values->home, true},
      {"exp_root", &values->info_root, true},
      {"blob_root", &values->blob_root, true},
      {"cache_dir", &values->cache_root, true},
      {"timezone", &values->timezone, false},
      {"dev_branch", &values->dev_branch, false},
  };
  // Keys lumo-db does not use (db_root, user settings) are left to lumo.
  for (const Key& key : keys) {
    auto it = doc.find(key.name);
    if (it == doc.end()) continue;
    if (!it->is_string()) {
      return Status::InvalidArgument("lumo config " + path + ": key \"" +
                                     key.name + "\" must be a string, not " +
                                     it->dump());
    }
    std::string value = it->get<std::string>();
    *key.field = key.is_path ? ExpandUser(value, user_home) : value;
  }
  return Status::OK();
}

std::string UserHome() {
  const char* env = getenv("HOME");
  if (env != nullptr && *env != '\0') return env;
  std::vector<char> buf(16384);
  struct passwd pw;
  struct passwd* result = nullptr;
  if (getpwuid_r(getuid(), &pw, buf.data(), buf.size(), &result) == 0 &&
      result != nullptr && result->pw_dir != nullptr) {
    return result->pw_dir;
  }
  return "";
}

}  // namespace

void Roots::FillDefaults(const std::string& user_home) {
  if (home.empty()) home = JoinPath(user_home, ".lumo");
  if (info_root.empty()) info_root = JoinPath(home, "experiments");
  if (blob_root.empty()) blob_root = JoinPath(home, "blob");
  if (cache_root.empty()) cache_root = JoinPath(user_home, ".cache/lumo");
  if (timezone.empty()) timezone = "Asia/Shanghai";
  if (dev_branch.empty()) dev_branch = "lumo_experiments";
}

Status Roots::FromLumoConfig(Roots* out) {
  const std::string user_home = UserHome();
  if (user_home.empty()) {
    return Status::NotFound(
        "no home directory: $HOME is unset and getpwuid has no entry");
  }
  return FromLumoConfig(user_home, CurrentDir(), out);
}

Status Roots::FromLumoConfig(const std::string& user_home,
                             const std::string& cwd, Roots* out) {
  std::vector<std::string> files = {JoinPath(user_home, ".lumorc.json")};
  const std::string repo = GitTopLevel(cwd);
  if (!repo.empty()) {
    files.push_back(JoinPath(repo, ".lumorc.json"));
    files.push_back(JoinPath(repo, ".lumorc.public.json"));
  }
  ConfigValues values;
  for (const std::string& path : files) {
    Status s = ReadConfigFile(path, user_home, &values);
    if (!s.ok()) return s;
  }
  // Keys are merged across files before defaults are filled, so a home set
  // by one file moves exp_root and blob_root unless some file sets those.
  Roots roots;
  roots.home = values.home;
  roots.info_root = values.info_root;
  roots.blob_root = values.blob_root;
  roots.cache_root = values.cache_root;
  roots.timezone = values.timezone;
  roots.dev_branch = values.dev_branch;
  roots.FillDefaults(user_home);
  *out = roots;
  return Status::OK();
}

}  // namespace lumodb

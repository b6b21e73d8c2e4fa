#include "cli.h"

#include <iostream>

namespace lumodb::cli {

int Fail(const Status& s) {
  std::cerr << "lumo-db: " << s.ToString() << "\n";
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kAmbiguous:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

void Warn(const std::string& message) {
  std::cerr << "lumo-db: warning: " << message << "\n";
}

Status OpenWatcher(const Common& common, bool load, std::unique_ptr<Watcher>* out) {
  Roots roots;
  Status s = Roots::FromLumoConfig(&roots);
  if (!s.ok()) return s;
  if (!common.info_root.empty()) roots.info_root = common.info_root;
  if (!common.cache_root.empty()) roots.cache_root = common.cache_root;
  WatcherOptions options;
  options.db_path = common.db;
  options.warn = Warn;
  options.lazy_writer = load;  // reading commands write only when needed
  s = Watcher::Open(roots, options, out);
  if (!s.ok()) return s;
  if (load && !common.no_load) {
    s = (*out)->load();
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status RetrieveRun(const Common& common, const std::string& test_name, const std::string& exp,
                   std::string* json) {
  std::unique_ptr<Watcher> watcher;
  Status s = OpenWatcher(common, true, &watcher);
  if (!s.ok()) return s;
  return watcher->retrieve(test_name, exp, json, nullptr);
}

}  // namespace lumodb::cli

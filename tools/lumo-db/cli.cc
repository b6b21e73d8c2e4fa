// Shared pieces of the lumo-db command (see cli.h).
#include "cli.h"

#include <iostream>
#include <set>
#include <vector>

#include "progress.h"

namespace lumodb::cli {

void AddCommonOptions(CLI::App* app, Common* common) {
  app->add_option("--db", common->db,
                  "Index directory (default: $LUMODB_DB, else <cache_root>/lumodb/index)");
  app->add_option("--info-root", common->info_root,
                  "lumo's info_root (exp_root); default from lumo's config");
  app->add_option("--cache-root", common->cache_root,
                  "lumo's cache root; default from lumo's config");
  app->add_flag("--no-load", common->no_load,
                "Answer from the index as it is, without loading new journal records first");
  app->add_option("--wait", common->wait_s,
                  "Seconds a command that writes the index (a load, import, reindex) waits "
                  "for another process writing it (default 30); then it fails naming that "
                  "process, or a reading command answers from the index as it is")
      ->check(CLI::NonNegativeNumber);
}

CLI::Option* AddExpOption(CLI::App* cmd, std::string* exp, const std::string& help) {
  return cmd->add_option("--exp", *exp, help);
}

CLI::Option* AddRepoOption(CLI::App* cmd, std::string* repo, const std::string& help) {
  return cmd->add_option("--repo", *repo, help);
}

// Joins "status", "==", "running" given as three words into one filter.
std::vector<std::string> JoinFilterWords(const std::vector<std::string>& words) {
  static const std::set<std::string> kOps = {"==", "!=", "<", "<=", ">", ">=", "~"};
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i + 2 < words.size() && kOps.count(words[i + 1]) != 0) {
      out.push_back(words[i] + " " + words[i + 1] + " " + words[i + 2]);
      i += 2;
    } else {
      out.push_back(words[i]);
    }
  }
  return out;
}

std::string LoadStatsText(const LoadStats& stats, const std::string& db_path) {
  return std::to_string(stats.runs_read) + " journals read, " +
         std::to_string(stats.records_applied) + " records applied, " +
         std::to_string(stats.corrupt_records) + " corrupt skipped, " +
         std::to_string(stats.runs_failed) + " runs unreadable, " +
         std::to_string(stats.runs_killed) + " runs found killed, " +
         std::to_string(stats.markers) + " active markers, " +
         std::to_string(stats.markers_retired) + " retired (index " + db_path + ")";
}

int Fail(const Status& s) {
  ProgressLine::ClearCurrent();
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
  ProgressLine::ClearCurrent();
  std::cerr << "lumo-db: warning: " << message << "\n";
}

namespace {

Status CommonRoots(const Common& common, Roots* roots) {
  Status s = Roots::FromLumoConfig(roots);
  if (!s.ok()) return s;
  if (!common.info_root.empty()) roots->info_root = common.info_root;
  if (!common.cache_root.empty()) roots->cache_root = common.cache_root;
  return Status::OK();
}

}  // namespace

Status OpenLongLivedWatcher(const Common& common, int writer_wait_ms,
                            std::unique_ptr<Watcher>* out) {
  Roots roots;
  Status s = CommonRoots(common, &roots);
  if (!s.ok()) return s;
  WatcherOptions options;
  options.db_path = common.db;
  options.warn = Warn;
  options.lazy_writer = true;
  options.release_writer = true;  // other processes write between our loads
  options.writer_wait_ms = writer_wait_ms;
  return Watcher::Open(roots, options, out);
}

Status OpenWatcher(const Common& common, bool load, std::unique_ptr<Watcher>* out) {
  Roots roots;
  Status s = CommonRoots(common, &roots);
  if (!s.ok()) return s;
  WatcherOptions options;
  options.db_path = common.db;
  options.warn = Warn;
  options.lazy_writer = load;  // reading commands write only when needed
  options.writer_wait_ms = static_cast<int>(common.wait_s * 1000);
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

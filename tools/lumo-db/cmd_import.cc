// lumo-db import: existing lumo trees into the index, read-only, with a
// report of what was read (Watcher::import_lumo does the work).
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "progress.h"

namespace lumodb::cli {

namespace {

struct ImportArgs {
  std::vector<std::string> paths;
  std::string format = "text", cache;
  bool full = false;
};

nlohmann::json ProblemList(const std::vector<ImportProblem>& problems) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : problems) out.push_back({{"path", p.path}, {"what", p.what}});
  return out;
}

int RunImport(const Common& common, const ImportArgs& a) {
  std::unique_ptr<Watcher> watcher;
  Status s = OpenWatcher(common, false, &watcher);
  if (!s.ok()) return Fail(s);
  ImportReport report;
  ProgressLine progress("importing", "read", "runs", a.format != "json");
  ImportOptions options;
  options.cache_root = a.cache;
  options.full_check = a.full;
  options.progress = progress.Callback();
  s = watcher->import_lumo(a.paths, options, &report);
  if (!s.ok()) return Fail(s);
  progress.Finish();
  if (a.format == "json") {
    nlohmann::json j = {{"imported", report.imported},
                        {"updated", report.updated},
                        {"unchanged", report.unchanged},
                        {"partial", report.partial},
                        {"skipped", report.skipped},
                        {"skipped_paths", ProblemList(report.skipped_paths)},
                        {"problems", ProblemList(report.problems)}};
    std::cout << j.dump(2) << "\n";
  } else {
    for (const auto& p : report.skipped_paths) {
      std::cout << "skipped " << p.path << ": " << p.what << "\n";
    }
    for (const auto& p : report.problems) {
      std::cout << "problem " << p.path << ": " << p.what << "\n";
    }
    std::cout << "runs: " << report.imported << " imported, " << report.updated << " updated, "
              << report.unchanged << " unchanged, " << report.partial << " partial, "
              << report.skipped << " skipped (index " << watcher->db_path() << ")\n";
  }
  return std::cout ? kExitOk : kExitFailed;
}

}  // namespace

Command AddImport(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "import", "Import existing lumo trees (read-only), e.g. lumo-db import ~/.lumo");
  auto args = std::make_shared<ImportArgs>();
  cmd->add_option("paths", args->paths,
                  "lumo homes, info_roots, exp_name folders or run folders "
                  "(default: the roots of lumo's config)");
  cmd->add_option("--lumo-cache", args->cache,
                  "lumo's cache root for the imported trees (holds heartbeat/ "
                  "and pid/); default: the configured cache root when importing "
                  "the configured tree");
  cmd->add_flag("--full", args->full,
                "Compare every file's size and time to find changed runs. "
                "Without it a run whose lumo pid marker and folders are as at "
                "the last import is unchanged (edits made outside lumo, in "
                "place, need --full)");
  cmd->add_option("--format", args->format, "text or json (the report)")
      ->check(CLI::IsMember({"text", "json"}));
  return {cmd, [&common, args] { return RunImport(common, *args); }};
}

}  // namespace lumodb::cli

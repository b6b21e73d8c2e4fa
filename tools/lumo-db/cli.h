// Shared pieces of the lumo-db command-line tool: exit codes, the options
// every command takes, error reporting and opening the index.
//
// A command lives in its own file as a function that adds its CLI11
// subcommand and returns a Command: main() runs the one that was given.
#ifndef LUMODB_TOOLS_CLI_H_
#define LUMODB_TOOLS_CLI_H_

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lumodb/lumodb.h"

namespace lumodb::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// Options every command shares, declared once on the top-level app.
struct Common {
  std::string db;
  std::string info_root;
  std::string cache_root;
  bool no_load = false;
  // How long a command that must write waits for another writer.
  double wait_s = 30;
};

// One subcommand and what to do when it is the one given. run is called
// after parsing, so it sees every option's value.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Declares the shared options on app: the top level, and commands that
// stop parsing early (rerun) and so take them again themselves.
void AddCommonOptions(CLI::App* app, Common* common);
// --exp NAME, for commands that name runs by test_name.
CLI::Option* AddExpOption(CLI::App* cmd, std::string* exp,
                          const std::string& help = "exp_name, when the test_name is ambiguous");
// --repo DIR: the repository holding a run's snapshot commit.
CLI::Option* AddRepoOption(CLI::App* cmd, std::string* repo, const std::string& help);

// Prints "lumo-db: <status>" and returns the exit code for it: 2 for a bad
// argument or an ambiguous name, 1 for everything else.
int Fail(const Status& s);
// Prints a "lumo-db: warning:" line; the Watcher's warning sink.
void Warn(const std::string& message);
// Opens the index with the roots from lumo's config and the shared options;
// with load, brings it up to date first (unless --no-load).
Status OpenWatcher(const Common& common, bool load, std::unique_ptr<Watcher>* out);
// A Watcher for a process that lives long (the dashboard): it writes only
// when a load finds something new, gives the index back after each job,
// and waits at most writer_wait_ms for another writer.
Status OpenLongLivedWatcher(const Common& common, int writer_wait_ms,
                            std::unique_ptr<Watcher>* out);
// One run's JSON through OpenWatcher(common, true) and Watcher::retrieve
// (an ambiguous test_name is kAmbiguous, its message listing the runs).
Status RetrieveRun(const Common& common, const std::string& test_name, const std::string& exp,
                   std::string* json);

// Joins "status", "==", "running" given as three words into one filter
// ("status == running"); other words stay as they are.
std::vector<std::string> JoinFilterWords(const std::vector<std::string>& words);

// "N journals read, N records applied, ... (index DB)": what a load or a
// reindex did.
std::string LoadStatsText(const LoadStats& stats, const std::string& db_path);

// A rerun tree as `lumo-db lineage --format json` prints it (and the
// dashboard answers): {exp_name, test_name, status, start, repeat,
// changes, reruns: [...]}.
nlohmann::json LineageJson(const RerunNode& node);

// The commands, one file each (cmd_<name>.cc), in the order of --help.
Command AddQuery(CLI::App& app, const Common& common);
Command AddShow(CLI::App& app, const Common& common);
Command AddMetrics(CLI::App& app, const Common& common);
Command AddDump(CLI::App& app, const Common& common);
Command AddLoad(CLI::App& app, const Common& common);
Command AddReindex(CLI::App& app, const Common& common);
Command AddImport(CLI::App& app, const Common& common);
Command AddArchive(CLI::App& app, const Common& common);
Command AddDiff(CLI::App& app, const Common& common);
Command AddRerun(CLI::App& app, const Common& common);
Command AddLineage(CLI::App& app, const Common& common);
Command AddServe(CLI::App& app, const Common& common);

}  // namespace lumodb::cli

#endif  // LUMODB_TOOLS_CLI_H_

// Rerun: runs a recorded run's command again, with changed arguments, and
// links the two runs for ever (lumo's `rerun`, done right).
//
//   lumodb::RerunOptions options;
//   options.overrides = {"--seed=2"};
//   lumodb::RerunCommand command;
//   Status s = lumodb::PlanRerun(*watcher, "261128.004.7et", options, &command);
//   lumodb::RerunProcess child;
//   s = lumodb::StartRerun(command, /*detach=*/false, &child);
//   int exit_status;
//   s = lumodb::WaitRerun(child, &exit_status, nullptr);
//
// The child runs without a shell, in the recorded working folder, with the
// current environment plus:
//   LUMO_EXP_TEST_NAME  the new run's test_name, claimed by StartRerun
//   LUMO_RERUN_FROM     the original run's test_name
//   LUMO_RERUN_REPEAT   the new run's depth in its rerun chain (1 for a
//                       rerun of a run that is no rerun itself)
// A lumo-db Experiment that starts with LUMO_RERUN_FROM set records
// `rerun: {"from", "repeat"}`; the index links both runs both ways.
#ifndef LUMODB_RERUN_H_
#define LUMODB_RERUN_H_

#include <string>
#include <utility>
#include <vector>

#include "lumodb/options.h"
#include "lumodb/status.h"

namespace lumodb {

class Watcher;

struct RerunOptions {
  // exp_name of the original, when its test_name names several runs.
  std::string exp_name;
  // --key=value, --key value, --flag, --no-flag; everything after a lone
  // "--" is appended verbatim. See MergeOverrides in engine/src/rerun.h.
  std::vector<std::string> overrides;
  // Working folder; empty: the one the original recorded.
  std::string cwd;
  // Run the original's code snapshot (its git record, lumodb/code.h), not
  // the code on disk now: CheckoutRerun writes the snapshot's files into a
  // new temporary folder and the command runs there, in the recorded
  // working folder's place within the repository.
  bool checkout = false;
  // Repository that holds the snapshot; empty: the run's git.repo.
  std::string repo;
};

struct RerunCommand {
  std::string from_exp_name;
  std::string from_test_name;
  bool from_lumo = false;  // the original was imported from a lumo tree
  int repeat = 1;          // the new run's depth in the rerun chain
  std::vector<std::string> argv;  // argv[0] is the program
  std::string cwd;
  // The recorded working folder does not exist here (a tree copied from
  // another machine): a dry run still shows the command, StartRerun
  // refuses (choose another folder with RerunOptions::cwd).
  bool cwd_missing = false;
  // Set on top of the current environment (LUMO_EXP_TEST_NAME is added
  // by StartRerun once the name is claimed).
  std::vector<std::pair<std::string, std::string>> env;
  // Where the new run's test_name is claimed: lumo's roots as a trainer
  // started in cwd resolves them.
  Roots roots;

  // With RerunOptions::checkout: the snapshot commit and repository, and
  // the working folder's path inside the repository ("" for its root).
  // cwd is "<checkout>/<subdir>" until CheckoutRerun sets the real folder.
  std::string checkout_commit, checkout_repo, checkout_subdir;
  bool checked_out = false;

  // "working folder DIR of run EXP/TEST no longer exists; choose another
  // with --cwd DIR": why a command with cwd_missing cannot run.
  std::string MissingCwdMessage() const;
  // The command as one line a POSIX shell runs as it is.
  std::string ShellLine() const;
  // ShellLine, then "cwd: DIR", then one "env: NAME=VALUE" line per
  // change (values shell-quoted).
  std::string DryRunText() const;
};

// Builds the command of a rerun from the original's recorded `execute`.
// NotFound naming the run (no such run, no recorded command or working
// folder); InvalidArgument naming a bad override; Ambiguous for a
// test_name of several exp_names. A recorded working folder that is gone
// is not an error here: the command says so in cwd_missing.
Status PlanRerun(Watcher& watcher, const std::string& test_name,
                 const RerunOptions& options, RerunCommand* out);

// With options.checkout: writes the snapshot's files into a new folder
// under $TMPDIR (lumodb-rerun-XXXXXX/code), points command->cwd at the
// working folder inside it and resolves the roots from there. The folder
// is left for the user (it is where the rerun's code is). Errors name the
// commit and repository.
Status CheckoutRerun(RerunCommand* command);

struct RerunProcess {
  int pid = -1;
  std::string exp_name;   // where the test_name was claimed
  std::string test_name;  // the new run's
  std::string info_dir;   // the folder claimed for it
};

// Claims a fresh test_name under the original's exp_name, then starts the
// command. For a run imported from lumo it first writes lumo's own
// `info/rerun.json` ({"from", "repeat"}) into the new run's folder, as lumo
// does, since lumo's Python Experiment knows no LUMO_RERUN_FROM. detach:
// the child runs in its own session, stdin from /dev/null, and is not
// waited for (nor left as a zombie). IOError naming the program or folder
// when it cannot be started; NotFound (MissingCwdMessage) when the recorded
// working folder is gone.
Status StartRerun(const RerunCommand& command, bool detach, RerunProcess* out);

// Waits for a child StartRerun started (not detached). *exit_status is
// its exit code, or 128 + the signal that killed it. *started (if given)
// says whether the child started a run in the claimed folder; a folder
// it left empty is removed.
Status WaitRerun(const RerunProcess& process, int* exit_status, bool* started);

// One run of a rerun tree.
struct RerunNode {
  std::string exp_name;
  std::string test_name;
  std::string status;  // "" when the index does not hold the run
  std::string start;   // progress.start, lumo's time string
  int repeat = 0;
  // Params that differ from the parent's: "lr: 0.1 -> 0.2, seed: 1 -> 7".
  std::string changes;
  std::vector<RerunNode> reruns;  // by test_name
};

// The whole tree of reruns around a run: from the first run of its chain
// (following rerun.from up) down through every rerun of every run.
Status RerunLineage(Watcher& watcher, const std::string& test_name,
                    const std::string& exp_name, RerunNode* root);

}  // namespace lumodb

#endif  // LUMODB_RERUN_H_

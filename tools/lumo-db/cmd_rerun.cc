// lumo-db rerun: runs a recorded run's command again with changed
// arguments; the new run records where it came from (lumodb/rerun.h).
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"

namespace lumodb::cli {

namespace {

// Ignores SIGINT and SIGQUIT while alive, as a shell does while it waits:
// Ctrl-C reaches the child, and the child's exit status is passed on.
class IgnoreInterrupts {
 public:
  IgnoreInterrupts() {
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, &old_int_);
    sigaction(SIGQUIT, &ignore, &old_quit_);
  }
  ~IgnoreInterrupts() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGQUIT, &old_quit_, nullptr);
  }

 private:
  struct sigaction old_int_ = {}, old_quit_ = {};
};

struct RerunArgs {
  Common common;  // the shared options may also come right after "rerun"
  RerunOptions options;
  bool dry_run = false;
  bool detach = false;
};

int RunRerun(const Common& shared, RerunArgs& a, CLI::App* app) {
  Common common = a.common;
  if (common.db.empty()) common.db = shared.db;
  if (common.info_root.empty()) common.info_root = shared.info_root;
  if (common.cache_root.empty()) common.cache_root = shared.cache_root;
  common.no_load = common.no_load || shared.no_load;
  if (common.wait_s == Common().wait_s) common.wait_s = shared.wait_s;
  // Everything from the test_name on was left unparsed: the test_name,
  // then the overrides.
  std::vector<std::string> words = app->remaining();
  if (words.empty() || words[0].compare(0, 1, "-") == 0) {
    std::cerr << "lumo-db: rerun needs a TEST_NAME"
              << (words.empty() ? "" : ", not the option " + words[0]) << "\n"
              << "usage: lumo-db rerun [--exp NAME] [--cwd DIR] [--checkout [--repo DIR]] "
                 "[--dry-run] [--detach] "
                 "TEST_NAME [--key=value | --key value | --flag | --no-flag]... [-- ARG...]\n";
    return kExitUsage;
  }
  const std::string test_name = words[0];
  a.options.overrides.assign(words.begin() + 1, words.end());

  RerunCommand command;
  {
    std::unique_ptr<Watcher> watcher;
    Status s = OpenWatcher(common, true, &watcher);
    if (!s.ok()) return Fail(s);
    s = PlanRerun(*watcher, test_name, a.options, &command);
    if (!s.ok()) return Fail(s);
  }  // the index is closed before the child runs
  if (a.dry_run) {
    // A tree copied from another machine: the command is still worth seeing.
    if (command.cwd_missing) {
      std::cerr << "lumo-db: warning: " << command.MissingCwdMessage() << "\n";
    }
    std::cout << command.DryRunText();
    return std::cout ? kExitOk : kExitFailed;
  }

  Status s = CheckoutRerun(&command);
  if (!s.ok()) return Fail(s);
  if (command.checked_out) {
    std::cerr << "lumo-db: code of commit " << command.checkout_commit << " checked out in "
              << command.cwd << " (left there)\n";
  }
  IgnoreInterrupts ignore;
  RerunProcess child;
  s = StartRerun(command, a.detach, &child);
  if (!s.ok()) return Fail(s);
  if (a.detach) {
    std::cout << child.test_name << "\n";
    return std::cout ? kExitOk : kExitFailed;
  }
  std::cerr << "lumo-db: rerun of " << command.from_exp_name << "/" << test_name << " as "
            << child.test_name << " (repeat " << command.repeat << ") in " << command.cwd << "\n";
  int exit_status = 0;
  bool started = false;
  s = WaitRerun(child, &exit_status, &started);
  if (!s.ok()) return Fail(s);
  if (!started) {
    std::cerr << "lumo-db: the rerun's program recorded no run in " << child.info_dir
              << " (exit status " << exit_status << ")\n";
  }
  return exit_status;
}

}  // namespace

Command AddRerun(CLI::App& app, const Common& common) {
  CLI::App* rerun =
      app.add_subcommand("rerun",
                         "Run a recorded run's command again, with changed arguments; the new run "
                         "records where it came from");
  // Options end at TEST_NAME: every later word is an override for the
  // program, even one that looks like a lumo-db option (--exp, --dry-run).
  rerun->prefix_command();
  rerun->fallthrough(false);
  rerun->positionals_at_end(false);
  auto args = std::make_shared<RerunArgs>();
  AddExpOption(rerun, &args->options.exp_name,
               "exp_name of the original, when its test_name is ambiguous");
  rerun->add_option("--cwd", args->options.cwd, "Run in this folder instead of the recorded one");
  rerun->add_flag("--checkout", args->options.checkout,
                  "Run the original's code snapshot (its git record), written into a "
                  "new temporary folder, instead of the code on disk now");
  AddRepoOption(rerun, &args->options.repo,
                "With --checkout: the repository holding the snapshot "
                "(default: the run's git.repo)");
  rerun->add_flag("--dry-run", args->dry_run,
                  "Print the command (one shell-quoted line), its folder and the "
                  "environment changes; run nothing");
  rerun->add_flag("--detach", args->detach,
                  "Start it in the background and print the new test_name");
  AddCommonOptions(rerun, &args->common);
  // A footer function: main() sets every command's footer string.
  rerun->footer([] {
    return std::string(
        "Options go before TEST_NAME; the words after it change the recorded command:\n"
        "  --key=value, --key value  replace the value where the command has --key,\n"
        "                            else are appended; values are passed verbatim\n"
        "  --flag, --no-flag         replace the opposite flag, else are appended\n"
        "  -- ARG...                 appended as they are\n"
        "The program runs without a shell in the recorded folder, with\n"
        "LUMO_EXP_TEST_NAME (a fresh test_name), LUMO_RERUN_FROM and\n"
        "LUMO_RERUN_REPEAT set. lumo-db rerun exits with the program's exit status.\n\n"
        "Examples:\n"
        "  lumo-db rerun 261128.004.7et --seed=2\n"
        "  lumo-db rerun --dry-run 261128.004.7et --lr 0.05 --no-augment\n"
        "  lumo-db rerun --detach --cwd /tmp/work 261128.004.7et --epochs=50 -- extra.txt\n"
        "  lumo-db rerun --checkout --repo ~/src/project 261128.004.7et --seed=3");
  });
  return {rerun, [&common, args, rerun] { return RunRerun(common, *args, rerun); }};
}

}  // namespace lumodb::cli

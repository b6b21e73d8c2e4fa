// lumo-db diff TEST_A [TEST_B]: the code difference between two runs'
// snapshots, or between one run's snapshot and the working tree now.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli.h"
#include "lumodb/code.h"

namespace lumodb::cli {
namespace {

Status Resolve(Watcher* watcher, const std::string& test, const std::string& exp,
               const std::string& repo, CodeSnapshot* out) {
  std::string json;
  Status s = watcher->retrieve(test, exp, &json, nullptr);
  if (s.ok()) s = ResolveCodeSnapshot(json, repo, out);
  return s;
}

}  // namespace

Command AddDiff(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Show how the code of two runs differs (their git snapshots), as a unified "
      "patch from TEST_A to TEST_B; with one run, from its snapshot to the "
      "repository's working tree as it is now (untracked files that .gitignore does "
      "not exclude included). No output: no difference.\n"
      "Examples:\n"
      "  lumo-db diff 261128.004.7et 261128.005.1at\n"
      "  lumo-db diff 261128.004.7et --stat\n"
      "  lumo-db diff 261128.004.7et 261128.005.1at --repo ~/src/project");
  struct Args {
    std::string test_a, test_b, exp, repo;
    bool stat = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("test_a", args->test_a, "The run whose code is the old side")->required();
  cmd->add_option("test_b", args->test_b,
                  "The run whose code is the new side (default: the working tree)");
  AddExpOption(cmd, &args->exp, "exp_name, when a test_name is ambiguous");
  AddRepoOption(cmd, &args->repo,
                "Repository holding the snapshot commits (default: the runs' git.repo)");
  cmd->add_flag("--stat", args->stat, "Print a diffstat instead of the patch");
  return {cmd, [args, &common]() {
            std::unique_ptr<Watcher> watcher;
            Status s = OpenWatcher(common, true, &watcher);
            CodeSnapshot a, b;
            if (s.ok()) s = Resolve(watcher.get(), args->test_a, args->exp, args->repo, &a);
            if (s.ok() && !args->test_b.empty()) {
              s = Resolve(watcher.get(), args->test_b, args->exp, args->repo, &b);
            }
            CodeDiff diff;
            if (s.ok()) {
              s = args->test_b.empty() ? DiffCodeWithWorkTree(a, args->stat, &diff)
                                       : DiffCode(a, b, args->stat, &diff);
            }
            if (!s.ok()) return Fail(s);
            std::cout << diff.text;
            std::cout.flush();
            return std::cout ? kExitOk : kExitFailed;
          }};
}

}  // namespace lumodb::cli

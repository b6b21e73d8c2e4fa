// lumo-db archive TEST_NAME OUT: writes the code snapshot a run recorded
// into a folder or a .tar (lumodb/code.h does the work).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "cli.h"
#include "lumodb/code.h"

namespace lumodb::cli {

Command AddArchive(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "archive",
      "Write the code a run ran (its git snapshot) into a folder, or into a POSIX "
      "tar archive when OUT ends in .tar. OUT must not exist (a folder may be "
      "empty); nothing is left at OUT on failure.\n"
      "Examples:\n"
      "  lumo-db archive 261128.004.7et /tmp/code\n"
      "  lumo-db archive 261128.004.7et code.tar --repo ~/src/project\n"
      "Imported lumo runs (8-hex git.commit) resolve in the repository of their "
      "git.repo, or in --repo when the project lives elsewhere now.");
  struct Args {
    std::string test, out, exp, repo;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("test_name", args->test, "The run's test_name")->required();
  cmd->add_option("out", args->out, "Folder to create, or a path ending in .tar")->required();
  AddExpOption(cmd, &args->exp);
  AddRepoOption(cmd, &args->repo,
                "Repository holding the snapshot commit (default: the run's git.repo)");
  return {cmd, [args, &common]() {
            std::string json;
            Status s = RetrieveRun(common, args->test, args->exp, &json);
            CodeSnapshot snapshot;
            if (s.ok()) s = ResolveCodeSnapshot(json, args->repo, &snapshot);
            ArchiveResult result;
            if (s.ok()) s = ArchiveCode(snapshot, args->out, &result);
            if (!s.ok()) return Fail(s);
            for (const auto& skipped : result.skipped) std::cout << "skipped " << skipped << "\n";
            std::cout << "archived " << snapshot.run << " (commit " << snapshot.commit << " in "
                      << snapshot.repo << "): " << result.files << " files, " << result.bytes
                      << " bytes to " << args->out << "\n";
            return std::cout ? kExitOk : kExitFailed;
          }};
}

}  // namespace lumodb::cli

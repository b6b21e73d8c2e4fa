// lumo-db: the command-line tool. main() only declares the shared options
// and registers the commands; each command lives in its own cmd_<name>.cc,
// parses its options, calls one library function and turns the result into
// output and an exit code: 0 ok, 1 not found or failed, 2 usage (bad flag,
// bad value, ambiguous name).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"
#include "lumodb/lumodb.h"

int main(int argc, char** argv) {
  using namespace lumodb::cli;
  // Output goes through std::cout only, in large pieces.
  std::ios::sync_with_stdio(false);
  CLI::App app{
      "lumo-db: durable, indexed records of machine-learning runs.\n"
      "Lists, filters and shows the runs that lumo-db trainers (and "
      "imported lumo trees) recorded.",
      "lumo-db"};
  // At most one command; a missing one is reported after parsing, so that
  // an unknown word or flag is named rather than "A subcommand is required".
  app.require_subcommand(0, 1);
  // The shared options may also follow the command: query --no-load.
  app.fallthrough();
  app.set_version_flag("--version", std::string("lumo-db ") + lumodb::Version());
  Common common;
  AddCommonOptions(&app, &common);

  const std::vector<Command> commands = {
      AddQuery(app, common),   AddShow(app, common),    AddMetrics(app, common),
      AddDump(app, common),    AddLoad(app, common),    AddReindex(app, common),
      AddImport(app, common),  AddArchive(app, common), AddDiff(app, common),
      AddRerun(app, common),   AddLineage(app, common), AddServe(app, common),
  };
  for (const Command& c : commands) {
    c.app->footer(
        "Shared options (see lumo-db --help) may come before or after the "
        "command:\n  --db DIR, --info-root DIR, --cache-root DIR, --no-load, --wait SECONDS");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const Command& c : commands) {
    if (*c.app) return c.run();
  }
  std::string names;
  for (size_t i = 0; i < commands.size(); ++i) {
    names += (i == 0 ? "" : i + 1 == commands.size() ? " or " : ", ") + commands[i].app->get_name();
  }
  std::cerr << "lumo-db: a command is required: " << names
            << "\nRun with --help for more information.\n";
  return kExitUsage;
}

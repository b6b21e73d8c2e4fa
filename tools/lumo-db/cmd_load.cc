// lumo-db load: brings the index up to date with the journals now and
// prints what it read (Watcher::load does the work).
#include <iostream>
#include <memory>

#include "cli.h"

namespace lumodb::cli {

Command AddLoad(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "load", "Bring the index up to date with the journals and print what changed");
  return {cmd, [&common] {
            std::unique_ptr<Watcher> watcher;
            Status s = OpenWatcher(common, false, &watcher);
            if (!s.ok()) return Fail(s);
            LoadStats stats;
            s = watcher->load(&stats);
            if (!s.ok()) return Fail(s);
            std::cout << "loaded: " << LoadStatsText(stats, watcher->db_path()) << "\n";
            return kExitOk;
          }};
}

}  // namespace lumodb::cli

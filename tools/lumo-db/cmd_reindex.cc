// lumo-db reindex: drops the index and rebuilds it from the journals alone
// (Watcher::reindex does the work).
#include <iostream>
#include <memory>

#include "cli.h"
#include "progress.h"

namespace lumodb::cli {

Command AddReindex(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand("reindex", "Rebuild the index from the journals alone");
  return {cmd, [&common] {
            std::unique_ptr<Watcher> watcher;
            Status s = OpenWatcher(common, false, &watcher);
            if (!s.ok()) return Fail(s);
            LoadStats stats;
            ProgressLine progress("reindexing", "reindexed", "runs");
            s = watcher->reindex(&stats, progress.Callback());
            if (!s.ok()) return Fail(s);
            progress.Finish();
            std::cout << "reindexed: " << LoadStatsText(stats, watcher->db_path()) << "\n";
            return kExitOk;
          }};
}

}  // namespace lumodb::cli

// Writing runs from the index into lumo's own layout, so that lumo's
// Watcher (and lumo-db import) can read them:
//
//   <out_dir>/<exp_name>/<test_name>/
//     info/<key>.json   every dump_info key, indent 2, plus lumo's own keys
//                       (exp_name, test_name, roots, execute, pinfo, tags,
//                       progress, exception) built from the run's record
//     text/<key>.str    dump_string texts (an imported params.yaml goes back
//                       beside info/)
//     note.md           when the note is not empty
//     metric.pkl        protocol 4 pickle of a dict str -> float: each
//                       metric's best value plus the numeric extras
//
// Imported lumo runs are written back from the raw values lumo wrote (kept
// in the index), lumo's defects included; a lumo-db run gets lumo's keys
// built from its record, lumo-owned keys winning over a user key of the
// same name. Importer bookkeeping (lumo_markers, metric_other) is not
// written.
#ifndef LUMODB_LUMO_EXPORT_H_
#define LUMODB_LUMO_EXPORT_H_

#include <string>
#include <utility>
#include <vector>

#include "index/index.h"
#include "lumodb/status.h"
#include "lumodb/watcher.h"

namespace lumodb {

// Writes each run (exp_name, test_name) under out_dir, which is created if
// missing (its parent must exist). Everything is checked before anything is
// written: a run folder that already exists is an IOError ("File exists")
// naming it, a name or key that cannot be a file name is InvalidArgument.
// Each run is built in a hidden folder beside its final place, file by file
// (temp + rename), and renamed into place whole. *exported counts the runs
// written, also when a later one fails; progress (may be empty) is told
// (runs written, runs in all) after each.
Status ExportLumoRuns(Index* index, const std::string& timezone,
                      const std::vector<std::pair<std::string, std::string>>& runs,
                      const std::string& out_dir, size_t* exported,
                      const Progress& progress = {});

}  // namespace lumodb

#endif  // LUMODB_LUMO_EXPORT_H_

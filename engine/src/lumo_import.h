// Reading lumo's own run folders (info/*.json, text/*.str, note.md,
// metric.pkl, params.yaml, heartbeat and pid markers) into the records a
// journal run produces. Read-only: nothing in a lumo tree is ever written.
#ifndef LUMODB_LUMO_IMPORT_H_
#define LUMODB_LUMO_IMPORT_H_

#include <string>
#include <vector>

#include "index_generated.h"
#include "lumodb/watcher.h"
#include "run_loader.h"

namespace lumodb {

struct LumoRunRef {
  std::string info_root;
  std::string exp_name;
  std::string test_name;
  std::string dir() const { return info_root + "/" + exp_name + "/" + test_name; }
};

// Resolves a path (lumo home, info_root, exp_name folder or run folder)
// into its runs and the info_root they live in. Folders that are not runs
// go to skipped. NotFound when the path does not exist.
Status FindLumoRuns(const std::string& path, std::string* info_root,
                    std::vector<LumoRunRef>* runs, std::vector<ImportProblem>* skipped);

// Sizes and mtimes of every file lumo writes in a run folder, hashed: a
// changed signature means the run changed.
std::string LumoRunSignature(const LumoRunRef& run);

// Reads one run. Damaged files are listed in problems and leave *partial
// set; the rest of the run is still read. NotFound when the folder is not a
// run (no info/test_name.json). cache_root (may be empty) is
// where lumo's heartbeat/ and pid/ markers live.
Status ReadLumoRun(const LumoRunRef& run, const std::string& cache_root,
                   const std::string& timezone, fbs::RunRecordT* rec,
                   RunChanges* changes, std::vector<ImportProblem>* problems,
                   bool* partial);

}  // namespace lumodb

#endif  // LUMODB_LUMO_IMPORT_H_

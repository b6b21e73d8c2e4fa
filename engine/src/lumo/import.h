// Reading lumo's own run folders (info/*.json, text/*.str, note.md,
// metric.pkl, params.yaml, heartbeat and pid markers) into the records a
// journal run produces. Read-only: nothing in a lumo tree is ever written.
#ifndef LUMODB_LUMO_IMPORT_H_
#define LUMODB_LUMO_IMPORT_H_

#include <string>
#include <vector>

#include "index_generated.h"
#include "lumodb/watcher.h"
#include "watcher/run_loader.h"

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

// The cheap test a re-import makes first: size and mtime of lumo's pid
// marker, <cache_root>/pid/<exp>/<test>.pid, which lumo's Experiment
// rewrites before every write and lumo's Watcher never deletes, and the
// mtimes of the run folder, info/ and text/ (a file created, removed or
// renamed). Four stats instead of one per file. False when there is no pid
// marker (or no cache_root); *newest_s is the newest of the five times.
bool LumoQuickSignature(const LumoRunRef& run, const std::string& cache_root,
                        std::string* hex, int64_t* newest_s);

// A quick signature vouches for a run only when all its times are at least
// this old when it is taken: lumo writes the marker before the data, so a
// run read just after a marker write may still get its data afterwards.
constexpr int64_t kQuickSignatureSettleS = 10;

// What import_signature holds: the full signature, then ":" and the quick
// one when it was settled at reading time.
struct ImportSignature {
  std::string full, quick;
  static ImportSignature Parse(const std::string& stored);
  std::string ToString() const { return quick.empty() ? full : full + ":" + quick; }
};

// Reads one run. Damaged files are listed in problems and leave *partial
// set; the rest of the run is still read. NotFound when the folder is not a
// run (no info/test_name.json). cache_root (may be empty) is
// where lumo's heartbeat/ and pid/ markers live. now_s (Unix seconds)
// decides whether the quick signature is settled enough to keep.
Status ReadLumoRun(const LumoRunRef& run, const std::string& cache_root,
                   const std::string& timezone, fbs::RunRecordT* rec,
                   RunChanges* changes, std::vector<ImportProblem>* problems,
                   bool* partial, int64_t now_s);

}  // namespace lumodb

#endif  // LUMODB_LUMO_IMPORT_H_

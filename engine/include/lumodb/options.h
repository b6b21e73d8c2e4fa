// Options for Experiment and Watcher: plain structs with documented defaults.
#ifndef LUMODB_OPTIONS_H_
#define LUMODB_OPTIONS_H_

#include <cstdint>
#include <string>

#include "lumodb/status.h"

namespace lumodb {

// lumo's three roots plus the settings lumo reads from its config files.
struct Roots {
  std::string home;        // default ~/.lumo
  std::string info_root;   // lumo's exp_root, default <home>/experiments
  std::string blob_root;   // default <home>/blob
  std::string cache_root;  // lumo's cache_dir, default ~/.cache/lumo
  std::string timezone = "Asia/Shanghai";  // for test_name dates
  std::string dev_branch = "lumo_experiments";

  // Resolves the roots as lumo does: built-in defaults, then
  // ~/.lumorc.json, <git top-level of cwd>/.lumorc.json,
  // <git top-level>/.lumorc.public.json, later files winning. Keys: home,
  // exp_root, blob_root, cache_dir, timezone, dev_branch. A file that exists
  // but is not valid JSON is an error naming it.
  static Status FromLumoConfig(Roots* out);
  // Same, with an explicit home directory ($HOME) and cwd, for tests.
  static Status FromLumoConfig(const std::string& user_home,
                               const std::string& cwd, Roots* out);
  // Fills empty roots from home (and home from ~/.lumo).
  void FillDefaults(const std::string& user_home);
};

struct ExperimentOptions {
  // The run's test_name, claimed as $LUMO_EXP_TEST_NAME would be (a valid
  // name whose folder does not exist yet). Empty: $LUMO_EXP_TEST_NAME, else
  // a new one.
  std::string test_name;
  // Pending records reach the journal (page cache) at most this long after
  // the dump call: the window a SIGKILL can lose. Must be <= 200 ms.
  int flush_interval_ms = 100;
  // How often the running trainer touches its marker, even when idle.
  int heartbeat_interval_ms = 5000;
  // Registers the built-in hooks GitCommit, LastCmd, RecordAbort and
  // LockFile.
  bool default_hooks = true;
  // With default_hooks: registers GitCommit, which snapshots the code the
  // run starts in (see hooks.h). Also off when $LUMODB_GIT_SNAPSHOT is "0".
  bool git_snapshot = true;
  // The snapshot branch; empty: the roots' dev_branch (lumo_experiments).
  std::string git_branch;
  // Changed files larger than this stay out of the snapshot (listed).
  int64_t git_max_file_bytes = int64_t{10} << 20;
  // Print warnings (a failing hook, a journal write error) to stderr.
  bool warn_to_stderr = true;
};

struct WatcherOptions {
  // The index directory. Empty: $LUMODB_DB, else <cache_root>/lumodb/index.
  std::string db_path;
  // A run on another host whose marker is older than this is killed.
  int heartbeat_timeout_s = 60;
  // A marker of a run that has ended is removed once it is this old.
  int marker_retire_s = 600;
  // Never write: a read-only view, which load() moves to the index's
  // newest state (another process's writes, a rebuilt index).
  bool read_only = false;
  // Open a read-only view first; load() reopens the index for writing only
  // when a journal holds something new. One-shot readers (the CLI) then
  // never write, lock or fsync an index that is up to date.
  bool lazy_writer = false;
  // Only one process writes the index at a time. A load, import or reindex
  // that finds another writer waits this long for it (like SQLite's busy
  // timeout), saying once through warn whom it waits for; then an import
  // or reindex fails with Busy naming the holder, and a load answers from
  // the index as it is.
  int writer_wait_ms = 30000;
  // A long-lived Watcher (a dashboard, a notebook) gives the index back
  // after each load, import or reindex, so that other processes can write
  // in between; one-shot readers keep it until they close.
  bool release_writer = false;
  // Where warnings (torn journal tails, corrupt records) go; stderr if null.
  void (*warn)(const std::string& message) = nullptr;
};

}  // namespace lumodb

#endif  // LUMODB_OPTIONS_H_

// Hooks: code a trainer plugs into a run's lifecycle.
//
// Subclass ExpHook and override what you need; every method defaults to a
// no-op. Hooks run in registration order. A hook that throws is recorded in
// the run (a HookError with the hook's name and the stage) and the run goes
// on: one bad on_end does not stop the end from being recorded.
#ifndef LUMODB_HOOKS_H_
#define LUMODB_HOOKS_H_

#include <cstdint>
#include <map>
#include <string>

namespace lumodb {

class Experiment;

class ExpHook {
 public:
  virtual ~ExpHook() = default;
  // Name recorded in the run's "hooks" key and in hook errors.
  virtual std::string name() const = 0;
  virtual void on_start(Experiment& exp) {}
  virtual void on_progress(Experiment& exp, double ratio) {}
  virtual void on_end(Experiment& exp, int code) {}
  virtual void on_exception(Experiment& exp, const std::string& type,
                            const std::string& content) {}
};

// Appends the command line, shell-quoted, to run_<program>.sh in the working
// directory (lumo's LastCmd), with the test_name in a comment.
class LastCmd : public ExpHook {
 public:
  std::string name() const override { return "LastCmd"; }
  void on_start(Experiment& exp) override;
};

// Records how the run died: an uncaught exception (std::terminate) or
// SIGTERM, SIGINT, SIGHUP is recorded as failed with the exception text or
// the signal and a non-zero code; then the process dies as it would have.
// Signals whose handler is not the default are left alone.
class RecordAbort : public ExpHook {
 public:
  std::string name() const override { return "RecordAbort"; }
  void on_start(Experiment& exp) override;
  void on_end(Experiment& exp, int code) override;
};

// Records library versions under the "lock" key: lumo-db and the libraries
// it links (RocksDB, FlatBuffers, libgit2, abseil, ...) plus user entries.
class LockFile : public ExpHook {
 public:
  LockFile() = default;
  explicit LockFile(std::map<std::string, std::string> extra)
      : extra_(std::move(extra)) {}
  std::string name() const override { return "LockFile"; }
  void on_start(Experiment& exp) override;
  // Versions lumo-db itself was built with, by library name.
  static std::map<std::string, std::string> LinkedVersions();

 private:
  std::map<std::string, std::string> extra_;
};

// Commits a snapshot of the work tree the run starts in to the snapshot
// branch and records it under "git" (docs/format.md, "Git snapshots"):
// tracked files with their unstaged edits and untracked files .gitignore
// keeps. The user's HEAD, index, branch and files stay as they were. What
// goes wrong (not a repository, a bare one, a locked branch, big or
// unreadable files) is recorded in the "git" key; the run goes on.
class GitCommit : public ExpHook {
 public:
  struct Options {
    // Empty: the run's roots().dev_branch (lumo_experiments).
    std::string branch;
    // Changed files larger than this stay out of the snapshot, listed.
    int64_t max_file_bytes = int64_t{10} << 20;
  };
  GitCommit() = default;
  explicit GitCommit(Options options) : options_(std::move(options)) {}
  std::string name() const override { return "GitCommit"; }
  void on_start(Experiment& exp) override;

 private:
  Options options_;
};

}  // namespace lumodb

#endif  // LUMODB_HOOKS_H_

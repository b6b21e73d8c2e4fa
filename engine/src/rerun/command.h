// The pieces of a rerun that need no index or process: the command a run
// recorded, overrides merged into it, and a child's exit status as a shell
// reports it. Public entry points: lumodb/rerun.h.
#ifndef LUMODB_SRC_RERUN_H_
#define LUMODB_SRC_RERUN_H_

#include <string>
#include <vector>

#include "lumodb/status.h"

namespace lumodb {

// A run's recorded `execute`, as far as a rerun needs it.
struct RecordedExecute {
  std::string exec_file;  // lumo: the script; lumo-db: argv[0]
  std::string exec_bin;   // lumo: the interpreter; lumo-db: the executable
  std::vector<std::string> exec_argv;  // the whole argv; [0] is exec_file
  bool from_lumo = false;              // imported from a lumo tree
};

// Splits the recorded command into what runs (the program, plus the script
// for lumo runs) and its arguments, which overrides may change.
//   lumo-db run:  [exec_bin] + exec_argv[1:]
//   lumo run:     [exec_bin, exec_file] + exec_argv[1:], without the
//                 repeats of exec_file that lumo's own rerun leaves at the
//                 front of exec_argv
// NotFound when nothing was recorded.
Status SplitRecordedCommand(const RecordedExecute& execute,
                            std::vector<std::string>* program,
                            std::vector<std::string>* args);

// Merges overrides into a command's arguments (the program not included).
// Override words, in order:
//   --key=value, --key value   replace the value wherever args give --key
//                              (as --key=v or --key v, keeping that form);
//                              appended in the form given where it does not
//   --flag, --no-flag          a bare flag: kept if args have it, replaces
//                              its opposite (--no-flag / --flag) if they have
//                              that, else appended
//   --                         every later word is appended as it is
// A word after --key is its value unless it is itself an option (starts
// with "--", or "-" and a letter: "-1" and "-1e-3" are values). Single-dash
// options (-k v, -k=v) work the same way. Values are copied verbatim. New
// options go before a "--" of args, so the program still parses them;
// positional arguments of args are kept in place. InvalidArgument naming
// the word for an override that is not an option (a stray positional word).
Status MergeOverrides(const std::vector<std::string>& args,
                      const std::vector<std::string>& overrides,
                      std::vector<std::string>* out);

// A waitpid status as a shell gives it: the exit code, or 128 + the signal.
int ShellExitStatus(int wait_status);

}  // namespace lumodb

#endif  // LUMODB_SRC_RERUN_H_

// ProgressLine: how far a long command (import, reindex, export, and every
// bulk job after them) has come, on stderr, drawn only when stderr is a
// terminal and redrawn in place at most ten times a second:
//
//   importing  42%  8,400/20,000 runs  7,950 runs/s  1.1 s elapsed  ETA 1.5 s
//
// and, when the job is done, one summary line:
//
//   imported 20,000 runs in 2.5 s (8,000 runs/s)
//
// Scripts (stderr not a terminal) and machine-readable output get none of it.
#ifndef LUMODB_TOOLS_PROGRESS_H_
#define LUMODB_TOOLS_PROGRESS_H_

#include <chrono>
#include <cstddef>
#include <string>

#include "lumodb/watcher.h"

namespace lumodb::cli {

class ProgressLine {
 public:
  // doing: "importing"; done: "imported"; unit: "runs". enabled: false
  // draws nothing (machine-readable output); the line is drawn only when
  // stderr is also a terminal.
  ProgressLine(std::string doing, std::string done, std::string unit = "runs", bool enabled = true);
  ~ProgressLine();  // erases an unfinished line

  // done of total (0: not known yet).
  void Update(size_t done, size_t total);
  // A callback for the library's long jobs, calling Update.
  Progress Callback();
  // Erases the line and prints the summary.
  void Finish();
  // Erases the line (before an error message).
  void Clear();
  // Erases the line being drawn, if any, so that a warning can be printed
  // on a line of its own; the next Update draws it again.
  static void ClearCurrent();

  // The line for these figures, without the terminal codes (for tests).
  static std::string Text(const std::string& doing, const std::string& unit, size_t done,
                          size_t total, double elapsed_s);
  static std::string Summary(const std::string& done_verb, const std::string& unit, size_t done,
                             double elapsed_s);

 private:
  double Elapsed() const;

  static ProgressLine* current_;  // the line on the screen, if any

  std::string doing_, done_verb_, unit_;
  bool active_ = false;  // enabled and stderr is a terminal
  bool drawn_ = false;   // a line is on the screen
  size_t done_ = 0, total_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace lumodb::cli

#endif  // LUMODB_TOOLS_PROGRESS_H_

// Experiment: the object a trainer records one run through.
//
//   lumodb::Experiment exp("mnist.mlp");       // roots from lumo's config
//   exp.start();
//   exp.dump_info("params", R"({"lr": 0.1})");
//   double best = exp.dump_metric("acc", 0.91, lumodb::Cmp::Max);
//   exp.dump_metric("loss", 0.3, lumodb::Cmp::Min, "", /*step=*/1200);
//   exp.end(0);
//
// Lifecycle: created -> started -> ended. A call out of order returns an
// IllegalState status in a sentence ("end() called on a run that never
// started"). Records go to the run's own journal (<info_dir>/journal);
// a background thread writes them within flush_interval_ms.
#ifndef LUMODB_EXPERIMENT_H_
#define LUMODB_EXPERIMENT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lumodb/options.h"
#include "lumodb/status.h"

namespace lumodb {

class ExpHook;

enum class Cmp { None = 0, Max = 1, Min = 2 };

// The step of a value logged without one: the count of values logged for
// its key before it (0, 1, 2, ...).
inline constexpr int64_t kAutoStep = INT64_MIN;

class Experiment {
 public:
  // Roots from lumo's configuration files (Roots::FromLumoConfig).
  explicit Experiment(std::string exp_name, ExperimentOptions options = {});
  Experiment(std::string exp_name, Roots roots, ExperimentOptions options = {});
  // Ends a still-open run: code 0, or failed (1) while an exception unwinds.
  ~Experiment();

  Experiment(const Experiment&) = delete;
  Experiment& operator=(const Experiment&) = delete;

  // Not OK when the exp_name or the roots were rejected.
  const Status& status() const;

  const std::string& exp_name() const;
  // Empty until start() (or test_name()) claims one.
  const std::string& test_name() const;
  const Roots& roots() const;

  // <info_root>/<exp_name>/<test_name>, created on first use.
  std::string info_dir();
  std::string blob_dir();
  std::string cache_dir();

  // Claims a test_name (or takes $LUMO_EXP_TEST_NAME), creates info_dir and
  // records exp_name, test_name, roots, execute, pinfo and progress.start,
  // then runs the hooks' on_start.
  Status start();

  // value must be valid JSON; invalid JSON is rejected and nothing recorded.
  Status dump_info(const std::string& key, const std::string& json);
  Status dump_string(const std::string& key, const std::string& text);
  Status dump_note(const std::string& text);
  Status dump_tags(const std::vector<std::string>& tags);

  // Keeps the best value (Cmp::Max, Cmp::Min) or the latest (Cmp::None) and
  // returns it. extras (a JSON object, may be empty) are kept beside the
  // best value, replaced only when the value improves. On error (not started,
  // bad extras) the value passed is returned and last_error() says why.
  //
  // Every value is also kept in the metric's history with its step and the
  // wall-clock time (Watcher::metric_series reads it). step kAutoStep: the
  // count of values logged for key so far. Steps need not grow; the history
  // keeps one value per step (the later one) in step order.
  double dump_metric(const std::string& key, double value, Cmp cmp = Cmp::None,
                     const std::string& extras = "", int64_t step = kAutoStep);
  // dump_metric for each entry, all at step; returns the best values.
  std::map<std::string, double> dump_metrics(const std::map<std::string, double>& values,
                                             Cmp cmp = Cmp::None, int64_t step = kAutoStep);
  // ratio in [0, 1]; calls the hooks' on_progress.
  Status dump_progress(double ratio);

  // Records the end: code 0 finished, other codes failed. Runs the hooks'
  // on_end, then writes and fsyncs the journal.
  Status end(int code = 0);
  // Records an exception (type and message) without ending the run.
  Status dump_exception(const std::string& type, const std::string& content);

  // Writes pending records now; durable also fsyncs the journal.
  Status flush(bool durable = false);

  // The run as lumo's properties: a JSON object with exp_name, test_name,
  // execute, pinfo, progress, params, metrics, tags, note, the dirs and
  // every dump_info key. Empty object before start().
  std::string properties() const;

  // Hooks run in registration order; the list is copied before each call,
  // so a hook may add another. A hook that fails is recorded as a
  // HookError in the run and does not stop it.
  void add_hook(std::shared_ptr<ExpHook> hook);

  // The last error of a call that returns no Status (dump_metric).
  Status last_error() const;

  // State of the run, for tests and hooks.
  bool started() const;
  bool ended() const;

  class Impl;

 private:
  friend class RecordAbort;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lumodb

#endif  // LUMODB_EXPERIMENT_H_

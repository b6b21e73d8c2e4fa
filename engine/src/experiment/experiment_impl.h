// Experiment::Impl: validation, lifecycle and hooks of one run; hands
// records to the RunWriter, the only part that knows the journal.
#ifndef LUMODB_EXPERIMENT_IMPL_H_
#define LUMODB_EXPERIMENT_IMPL_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/run_writer.h"
#include "lumodb/experiment.h"
#include "lumodb/hooks.h"

namespace lumodb {

class Experiment::Impl {
 public:
  enum class State { kCreated, kStarted, kEnded };

  Impl(Experiment* self, std::string exp_name, Roots roots, Status roots_status,
       ExperimentOptions options);

  Status Start();
  Status DumpInfo(const std::string& key, const std::string& json);
  Status DumpString(const std::string& key, const std::string& text);
  Status DumpNote(const std::string& text);
  Status DumpTags(const std::vector<std::string>& tags);
  double DumpMetric(const std::string& key, double value, Cmp cmp,
                    const std::string& extras, int64_t step);
  Status DumpProgress(double ratio);
  Status DumpException(const std::string& type, const std::string& content);
  Status End(int code);
  Status Flush(bool durable);
  std::string Properties() const;
  void AddHook(std::shared_ptr<ExpHook> hook);
  Status LastError() const;

  // Called from the abort recorder (terminate handler or signal thread):
  // records the failure, ends the run and makes the journal durable.
  void RecordAbort(const std::string& type, const std::string& content,
                   int code, int signal);

  std::string Dir(const std::string& root);

  Experiment* self_;
  const std::string exp_name_;
  Roots roots_;
  Status status_;
  ExperimentOptions options_;
  std::string test_name_;
  std::atomic<State> state_{State::kCreated};
  Status last_error_;

 private:
  Status CheckStarted(const char* call) const;
  Status AppendInfo(const std::string& key, const std::string& compact_json,
                    const nlohmann::json& value);
  void RecordRerunOrigin();
  Status RecordEnd(int code, int signal);
  void RecordException(const std::string& type, const std::string& content);
  template <typename Fn>
  void RunHooks(const char* stage, Fn fn);

  std::unique_ptr<RunWriter> writer_;
  std::vector<std::shared_ptr<ExpHook>> hooks_;
  // Guards props_ and state transitions made from other threads.
  mutable std::mutex mu_;
  nlohmann::json props_ = nlohmann::json::object();
};

// Process-wide: the run that RecordAbort reports to, or null.
void SetAbortTarget(Experiment::Impl* impl);
void ClearAbortTarget(Experiment::Impl* impl);
void InstallAbortHandlers();

}  // namespace lumodb

#endif  // LUMODB_EXPERIMENT_IMPL_H_

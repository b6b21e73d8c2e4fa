// Experiment: validates a trainer's calls and fills defaults, then hands
// records to the RunWriter (see experiment_impl.h).
#include "lumodb/experiment.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>

#include "experiment/experiment_impl.h"
#include "experiment/process_info.h"
#include "experiment/test_name.h"
#include "journal/markers.h"
#include "journal_generated.h"
#include "lumodb/names.h"
#include "lumodb/version.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("create directory " + path + ": " + ec.message());
  return Status::OK();
}

void Emit(RunWriter* writer, flatbuffers::FlatBufferBuilder& fbb,
          int64_t time_us, fbs::Event type, flatbuffers::Offset<void> event) {
  fbb.Finish(fbs::CreateRunEvent(fbb, time_us, type, event));
  writer->AppendPayload(fbb.GetBufferPointer(), fbb.GetSize());
}

const char* CmpName(Cmp cmp) {
  switch (cmp) {
    case Cmp::Max:
      return "max";
    case Cmp::Min:
      return "min";
    case Cmp::None:
      break;
  }
  return "none";
}

}  // namespace

Experiment::Impl::Impl(Experiment* self, std::string exp_name, Roots roots,
                       Status roots_status, ExperimentOptions options)
    : self_(self),
      exp_name_(std::move(exp_name)),
      roots_(std::move(roots)),
      status_(std::move(roots_status)),
      options_(options) {
  if (status_.ok()) status_ = ValidateExpName(exp_name_);
  if (options_.default_hooks) {
    // GitCommit first: the snapshot must not hold LastCmd's run_*.sh line of
    // this very run.
    const char* env = std::getenv("LUMODB_GIT_SNAPSHOT");
    if (options_.git_snapshot && !(env != nullptr && std::string(env) == "0")) {
      GitCommit::Options git;
      git.branch = options_.git_branch;
      git.max_file_bytes = options_.git_max_file_bytes;
      hooks_.push_back(std::make_shared<GitCommit>(git));
    }
    hooks_.push_back(std::make_shared<LastCmd>());
    hooks_.push_back(std::make_shared<lumodb::RecordAbort>());
    hooks_.push_back(std::make_shared<LockFile>());
  }
}

Status Experiment::Impl::CheckStarted(const char* call) const {
  if (!status_.ok()) return status_;
  if (state_ == State::kCreated) {
    return Status::IllegalState(std::string(call) +
                                " called on a run that never started");
  }
  if (state_ == State::kEnded) {
    return Status::IllegalState(std::string(call) + " called on run " +
                                test_name_ + " after end()");
  }
  return Status::OK();
}

std::string Experiment::Impl::Dir(const std::string& root) {
  if (!status_.ok()) return "";
  if (test_name_.empty()) {
    const char* given = options_.test_name.empty() ? std::getenv("LUMO_EXP_TEST_NAME")
                                                   : options_.test_name.c_str();
    Status s;
    if (given != nullptr && *given != '\0') {
      s = ClaimGivenTestName(roots_.info_root, exp_name_, given);
      if (s.ok()) test_name_ = given;
    } else {
      s = ClaimTestName(roots_.info_root, exp_name_, roots_.timezone,
                        NowMicros(), &test_name_);
    }
    if (!s.ok()) {
      status_ = s;
      return "";
    }
  }
  std::string dir = RunInfoDir(root, exp_name_, test_name_);
  if (root != roots_.info_root) {
    Status s = MakeDirs(dir);
    if (!s.ok()) last_error_ = s;
  }
  return dir;
}

template <typename Fn>
void Experiment::Impl::RunHooks(const char* stage, Fn fn) {
  // Copied: a hook may register another while we iterate.
  std::vector<std::shared_ptr<ExpHook>> hooks = hooks_;
  for (const auto& hook : hooks) {
    std::string message;
    try {
      fn(*hook);
      continue;
    } catch (const std::exception& e) {
      message = e.what();
    } catch (...) {
      // Anything a hook throws stays here: it must not cross the public API
      // or keep the run from recording its end.
      message = "exception of a type that is not std::exception";
    }
    std::string name = hook->name();
    if (options_.warn_to_stderr) {
      std::fprintf(stderr, "lumo-db: warning: hook %s failed in %s: %s\n",
                   name.c_str(), stage, message.c_str());
    }
    if (writer_ != nullptr) {
      flatbuffers::FlatBufferBuilder fbb(256);
      Emit(writer_.get(), fbb, NowMicros(), fbs::Event::HookError,
           fbs::CreateHookErrorDirect(fbb, name.c_str(), stage, message.c_str())
               .Union());
    }
    std::lock_guard<std::mutex> lock(mu_);
    props_["hook_errors"].push_back(
        {{"hook", name}, {"stage", stage}, {"message", message}});
  }
}

Status Experiment::Impl::Start() {
  if (!status_.ok()) return status_;
  if (state_ != State::kCreated) {
    return Status::IllegalState("start() called twice on run " + test_name_);
  }
  std::string info_dir = Dir(roots_.info_root);
  if (!status_.ok()) return status_;
  Status s = MakeDirs(ActiveDir(roots_.info_root));
  if (!s.ok()) return s;
  s = RunWriter::Open(JournalPath(info_dir),
                      ActiveDir(roots_.info_root) + "/" +
                          MarkerName(exp_name_, test_name_),
                      options_, &writer_);
  if (!s.ok()) return s;

  int64_t now = NowMicros();
  ProcessInfo proc = CurrentProcess();
  std::string cwd = CurrentDir();
  std::vector<std::string> argv = SelfArgv();
  std::string exec_file = argv.empty() ? "" : argv[0];
  std::string exec_bin = SelfExe();
  std::string repo = GitTopLevel(cwd);
  std::string blob_dir = RunInfoDir(roots_.blob_root, exp_name_, test_name_);
  std::string cache_dir = RunInfoDir(roots_.cache_root, exp_name_, test_name_);

  flatbuffers::FlatBufferBuilder fbb(1024);
  auto roots = fbs::CreateRootsDirect(fbb, roots_.info_root.c_str(),
                                      roots_.blob_root.c_str(),
                                      roots_.cache_root.c_str());
  std::vector<flatbuffers::Offset<flatbuffers::String>> argv_offsets;
  for (const auto& a : argv) argv_offsets.push_back(fbb.CreateString(a));
  auto execute = fbs::CreateExecuteDirect(fbb, repo.c_str(), cwd.c_str(),
                                          exec_file.c_str(), exec_bin.c_str(),
                                          &argv_offsets);
  auto pinfo = fbs::CreatePinfoDirect(fbb, proc.pid, proc.host.c_str(),
                                      proc.pstart, proc.boot_id.c_str(),
                                      proc.pname.c_str());
  auto start = fbs::CreateStartDirect(
      fbb, exp_name_.c_str(), test_name_.c_str(), roots, info_dir.c_str(),
      blob_dir.c_str(), cache_dir.c_str(), execute, pinfo, Version());
  Emit(writer_.get(), fbb, now, fbs::Event::Start, start.Union());

  // The start record reaches the file before the marker makes the run
  // visible, so a Watcher never finds a marker without a journal.
  s = writer_->Flush(false);
  if (!s.ok()) return s;
  s = writer_->Activate();
  if (!s.ok()) return s;

  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kStarted;
    std::string start_str = LumoTimeString(now, roots_.timezone);
    props_["exp_name"] = exp_name_;
    props_["test_name"] = test_name_;
    props_["roots"] = {{"info_root", roots_.info_root},
                       {"blob_root", roots_.blob_root},
                       {"cache_root", roots_.cache_root}};
    props_["execute"] = {{"repo", repo},        {"cwd", cwd},
                         {"exec_file", exec_file}, {"exec_bin", exec_bin},
                         {"exec_argv", argv}};
    props_["pinfo"] = {{"pid", proc.pid},         {"host", proc.host},
                       {"pstart", proc.pstart},   {"boot_id", proc.boot_id},
                       {"pname", proc.pname}};
    props_["progress"] = {{"start", start_str},
                          {"ratio", 0},
                          {"last_edit_time", start_str}};
    props_["tags"] = nlohmann::json::array();
    props_["info_dir"] = info_dir;
    props_["blob_dir"] = blob_dir;
    props_["cache_dir"] = cache_dir;
  }

  nlohmann::json hooks_info = nlohmann::json::object();
  for (const auto& hook : hooks_) {
    hooks_info[hook->name()] = {{"loaded", true}, {"msg", ""}};
  }
  AppendInfo("hooks", hooks_info.dump(), hooks_info);
  RecordRerunOrigin();
  RunHooks("on_start", [this](ExpHook& h) { h.on_start(*self_); });
  return writer_->Flush(false);
}

// `lumo-db rerun` starts its child with LUMO_RERUN_FROM (the original's
// test_name) and LUMO_RERUN_REPEAT (the depth of the chain).
void Experiment::Impl::RecordRerunOrigin() {
  const char* from = std::getenv("LUMO_RERUN_FROM");
  if (from == nullptr || *from == '\0') return;
  if (!IsValidTestName(from)) {
    if (options_.warn_to_stderr) {
      std::fprintf(stderr, "lumo-db: warning: LUMO_RERUN_FROM='%s' is not a test_name; "
                   "run %s records no rerun origin\n", from, test_name_.c_str());
    }
    return;
  }
  long repeat = 1;
  if (const char* r = std::getenv("LUMO_RERUN_REPEAT")) {
    char* end = nullptr;
    long n = std::strtol(r, &end, 10);
    if (end != r && *end == '\0' && n >= 1 && n <= 1000000) repeat = n;
  }
  nlohmann::json rerun = {{"from", from}, {"repeat", repeat}};
  AppendInfo("rerun", rerun.dump(), rerun);
}

Status Experiment::Impl::AppendInfo(const std::string& key,
                                    const std::string& compact_json,
                                    const nlohmann::json& value) {
  flatbuffers::FlatBufferBuilder fbb(128 + compact_json.size());
  Emit(writer_.get(), fbb, NowMicros(), fbs::Event::Info,
       fbs::CreateInfoDirect(fbb, key.c_str(), compact_json.c_str()).Union());
  std::lock_guard<std::mutex> lock(mu_);
  props_[key] = value;
  return Status::OK();
}

Status Experiment::Impl::DumpInfo(const std::string& key,
                                  const std::string& json) {
  Status s = CheckStarted("dump_info()");
  if (!s.ok()) return s;
  if (key.empty()) return Status::InvalidArgument("dump_info(): key is empty");
  nlohmann::json value = nlohmann::json::parse(json, nullptr, false);
  if (value.is_discarded()) {
    return Status::InvalidArgument("dump_info('" + key +
                                   "'): value is not valid JSON: " +
                                   json.substr(0, 80));
  }
  return AppendInfo(key, value.dump(), value);
}

Status Experiment::Impl::DumpString(const std::string& key,
                                    const std::string& text) {
  Status s = CheckStarted("dump_string()");
  if (!s.ok()) return s;
  if (key.empty()) return Status::InvalidArgument("dump_string(): key is empty");
  flatbuffers::FlatBufferBuilder fbb(128 + text.size());
  Emit(writer_.get(), fbb, NowMicros(), fbs::Event::Text,
       fbs::CreateTextDirect(fbb, key.c_str(), text.c_str()).Union());
  std::lock_guard<std::mutex> lock(mu_);
  props_["text"][key] = text;
  return Status::OK();
}

Status Experiment::Impl::DumpNote(const std::string& text) {
  Status s = CheckStarted("dump_note()");
  if (!s.ok()) return s;
  flatbuffers::FlatBufferBuilder fbb(128 + text.size());
  Emit(writer_.get(), fbb, NowMicros(), fbs::Event::Note,
       fbs::CreateNoteDirect(fbb, text.c_str()).Union());
  std::lock_guard<std::mutex> lock(mu_);
  props_["note"] = text;
  return Status::OK();
}

Status Experiment::Impl::DumpTags(const std::vector<std::string>& tags) {
  Status s = CheckStarted("dump_tags()");
  if (!s.ok()) return s;
  flatbuffers::FlatBufferBuilder fbb(256);
  std::vector<flatbuffers::Offset<flatbuffers::String>> offsets;
  for (const auto& t : tags) offsets.push_back(fbb.CreateString(t));
  Emit(writer_.get(), fbb, NowMicros(), fbs::Event::Tags,
       fbs::CreateTagsDirect(fbb, &offsets).Union());
  std::lock_guard<std::mutex> lock(mu_);
  props_["tags"] = tags;
  return Status::OK();
}

double Experiment::Impl::DumpMetric(const std::string& key, double value,
                                    Cmp cmp, const std::string& extras, int64_t step) {
  Status s = CheckStarted("dump_metric()");
  if (s.ok() && key.empty()) s = Status::InvalidArgument("dump_metric(): key is empty");
  if (s.ok() && std::isnan(value) && cmp != Cmp::None) {
    s = Status::InvalidArgument("dump_metric('" + key + "'): value is NaN");
  }
  if (s.ok() && !extras.empty()) {
    nlohmann::json e = nlohmann::json::parse(extras, nullptr, false);
    if (e.is_discarded() || !e.is_object()) {
      s = Status::InvalidArgument("dump_metric('" + key +
                                  "'): extras are not a JSON object: " +
                                  extras.substr(0, 80));
    }
  }
  if (!s.ok()) {
    last_error_ = s;
    return value;
  }
  return writer_->Metric(key, value, cmp, extras, step);
}

Status Experiment::Impl::DumpProgress(double ratio) {
  Status s = CheckStarted("dump_progress()");
  if (!s.ok()) return s;
  if (!(ratio >= 0 && ratio <= 1)) {
    return Status::InvalidArgument("dump_progress(): ratio " +
                                   std::to_string(ratio) + " is outside [0, 1]");
  }
  int64_t now = NowMicros();
  flatbuffers::FlatBufferBuilder fbb(64);
  Emit(writer_.get(), fbb, now, fbs::Event::Progress,
       fbs::CreateProgress(fbb, ratio).Union());
  {
    std::lock_guard<std::mutex> lock(mu_);
    props_["progress"]["ratio"] = ratio;
    props_["progress"]["last_edit_time"] = LumoTimeString(now, roots_.timezone);
  }
  RunHooks("on_progress", [this, ratio](ExpHook& h) { h.on_progress(*self_, ratio); });
  return Status::OK();
}

void Experiment::Impl::RecordException(const std::string& type,
                                       const std::string& content) {
  flatbuffers::FlatBufferBuilder fbb(256);
  Emit(writer_.get(), fbb, NowMicros(), fbs::Event::Exception,
       fbs::CreateExceptionDirect(fbb, type.c_str(), content.c_str()).Union());
  std::lock_guard<std::mutex> lock(mu_);
  props_["exception"] = {{"exception_type", type}, {"exception_content", content}};
}

Status Experiment::Impl::DumpException(const std::string& type,
                                       const std::string& content) {
  Status s = CheckStarted("dump_exception()");
  if (!s.ok()) return s;
  RecordException(type, content);
  RunHooks("on_exception", [this, &type, &content](ExpHook& h) {
    h.on_exception(*self_, type, content);
  });
  return Status::OK();
}

Status Experiment::Impl::RecordEnd(int code, int signal) {
  // Metrics dumped before the end go before the End record: it is the
  // journal's last frame.
  writer_->AppendPendingMetrics();
  int64_t now = NowMicros();
  flatbuffers::FlatBufferBuilder fbb(64);
  if (code == 0) {
    Emit(writer_.get(), fbb, now, fbs::Event::Progress,
         fbs::CreateProgress(fbb, 1.0).Union());
    fbb.Clear();
  }
  Emit(writer_.get(), fbb, now, fbs::Event::End,
       fbs::CreateEnd(fbb, code, signal).Union());
  {
    std::lock_guard<std::mutex> lock(mu_);
    state_ = State::kEnded;
    std::string t = LumoTimeString(now, roots_.timezone);
    if (code == 0) props_["progress"]["ratio"] = 1;
    props_["progress"]["end"] = t;
    props_["progress"]["last_edit_time"] = t;
    props_["progress"]["end_code"] = code;
  }
  writer_->Stop();
  ClearAbortTarget(this);
  Status s = writer_->Flush(true);
  return s;
}

Status Experiment::Impl::End(int code) {
  if (!status_.ok()) return status_;
  if (state_ == State::kCreated) {
    return Status::IllegalState("end() called on a run that never started");
  }
  if (state_ == State::kEnded) {
    return Status::IllegalState("end() called twice on run " + test_name_);
  }
  RunHooks("on_end", [this, code](ExpHook& h) { h.on_end(*self_, code); });
  return RecordEnd(code, 0);
}

void Experiment::Impl::RecordAbort(const std::string& type,
                                   const std::string& content, int code,
                                   int signal) {
  if (state_ != State::kStarted) return;
  RecordException(type, content);
  RecordEnd(code, signal);
}

Status Experiment::Impl::Flush(bool durable) {
  if (writer_ == nullptr) return CheckStarted("flush()");
  return writer_->Flush(durable);
}

std::string Experiment::Impl::Properties() const {
  nlohmann::json props;
  {
    std::lock_guard<std::mutex> lock(mu_);
    props = props_;
  }
  if (writer_ != nullptr) {
    nlohmann::json metrics = nlohmann::json::object();
    nlohmann::json detail = nlohmann::json::object();
    for (const auto& [key, m] : writer_->Metrics()) {
      metrics[key] = m.best;
      if (!m.best_extras.empty()) {
        nlohmann::json extras = nlohmann::json::parse(m.best_extras, nullptr, false);
        if (extras.is_object()) {
          for (auto& [k, v] : extras.items()) metrics[k] = v;
        }
      }
      detail[key] = {{"cmp", CmpName(m.cmp)},
                     {"last", m.last},
                     {"count", m.count},
                     {"last_step", m.last_step}};
    }
    props["metrics"] = metrics;
    props["metrics_detail"] = detail;
  }
  return props.dump();
}

Status Experiment::Impl::LastError() const {
  if (!last_error_.ok() || writer_ == nullptr) return last_error_;
  return writer_->last_error();
}

void Experiment::Impl::AddHook(std::shared_ptr<ExpHook> hook) {
  if (hook != nullptr) hooks_.push_back(std::move(hook));
}

// --- Experiment: thin forwarding to Impl. ---

namespace {

Status ResolveRoots(Roots* roots) { return Roots::FromLumoConfig(roots); }

}  // namespace

Experiment::Experiment(std::string exp_name, ExperimentOptions options) {
  Roots roots;
  Status s = ResolveRoots(&roots);
  impl_ = std::make_unique<Impl>(this, std::move(exp_name), std::move(roots), s,
                                 options);
}

Experiment::Experiment(std::string exp_name, Roots roots,
                       ExperimentOptions options) {
  const char* home = std::getenv("HOME");
  roots.FillDefaults(home != nullptr ? home : "/");
  impl_ = std::make_unique<Impl>(this, std::move(exp_name), std::move(roots),
                                 Status::OK(), options);
}

Experiment::~Experiment() {
  if (impl_->state_ == Impl::State::kStarted) {
    impl_->End(std::uncaught_exceptions() > 0 ? 1 : 0);
  }
  ClearAbortTarget(impl_.get());
}

const Status& Experiment::status() const { return impl_->status_; }
const std::string& Experiment::exp_name() const { return impl_->exp_name_; }
const std::string& Experiment::test_name() const { return impl_->test_name_; }
const Roots& Experiment::roots() const { return impl_->roots_; }
std::string Experiment::info_dir() {
  std::string dir = impl_->Dir(impl_->roots_.info_root);
  if (!dir.empty()) MakeDirs(dir);
  return dir;
}
std::string Experiment::blob_dir() { return impl_->Dir(impl_->roots_.blob_root); }
std::string Experiment::cache_dir() {
  return impl_->Dir(impl_->roots_.cache_root);
}
Status Experiment::start() { return impl_->Start(); }
Status Experiment::dump_info(const std::string& key, const std::string& json) {
  return impl_->DumpInfo(key, json);
}
Status Experiment::dump_string(const std::string& key, const std::string& text) {
  return impl_->DumpString(key, text);
}
Status Experiment::dump_note(const std::string& text) {
  return impl_->DumpNote(text);
}
Status Experiment::dump_tags(const std::vector<std::string>& tags) {
  return impl_->DumpTags(tags);
}
double Experiment::dump_metric(const std::string& key, double value, Cmp cmp,
                               const std::string& extras, int64_t step) {
  return impl_->DumpMetric(key, value, cmp, extras, step);
}
std::map<std::string, double> Experiment::dump_metrics(
    const std::map<std::string, double>& values, Cmp cmp, int64_t step) {
  std::map<std::string, double> best;
  for (const auto& [key, value] : values) {
    best[key] = impl_->DumpMetric(key, value, cmp, "", step);
  }
  return best;
}
Status Experiment::dump_progress(double ratio) {
  return impl_->DumpProgress(ratio);
}
Status Experiment::end(int code) { return impl_->End(code); }
Status Experiment::dump_exception(const std::string& type,
                                  const std::string& content) {
  return impl_->DumpException(type, content);
}
Status Experiment::flush(bool durable) { return impl_->Flush(durable); }
std::string Experiment::properties() const { return impl_->Properties(); }
void Experiment::add_hook(std::shared_ptr<ExpHook> hook) {
  impl_->AddHook(std::move(hook));
}
Status Experiment::last_error() const {
  return impl_->LastError();
}
bool Experiment::started() const {
  return impl_->state_ != Impl::State::kCreated;
}
bool Experiment::ended() const { return impl_->state_ == Impl::State::kEnded; }

}  // namespace lumodb

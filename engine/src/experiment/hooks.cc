// The built-in hooks GitCommit, LastCmd, RecordAbort and LockFile, and the process-wide
// handlers RecordAbort installs for std::terminate and fatal signals.
#include "lumodb/hooks.h"

#include <cxxabi.h>
#include <fcntl.h>
#include <git2.h>
#include <signal.h>
#include <unistd.h>

#include <absl/base/config.h>
#include <flatbuffers/base.h>
#include <rocksdb/version.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "code/git_snapshot.h"
#include "experiment/experiment_impl.h"
#include "experiment/process_info.h"
#include "lumodb/experiment.h"
#include "lumodb/version.h"
#include "rerun/shell_quote.h"
#include "util/time_util.h"

namespace lumodb {

// --- LastCmd ---

void LastCmd::on_start(Experiment& exp) {
  std::vector<std::string> argv = SelfArgv();
  if (argv.empty()) return;
  std::string program = argv[0].substr(argv[0].rfind('/') + 1);
  size_t dot = program.rfind('.');
  if (dot != std::string::npos && dot > 0) program = program.substr(0, dot);
  std::string path = CurrentDir() + "/run_" + program + ".sh";
  std::ofstream out(path, std::ios::app);
  if (!out) throw std::runtime_error("cannot append to " + path);
  out << "# " << exp.exp_name() << " " << exp.test_name() << " "
      << LumoTimeString(NowMicros(), exp.roots().timezone) << "\n"
      << ShellJoin(argv) << "\n";
}

// --- RecordAbort ---

namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP};
std::atomic<Experiment::Impl*> g_target{nullptr};
int g_pipe[2] = {-1, -1};
std::terminate_handler g_previous_terminate = nullptr;

void OnSignal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  // The signal thread records the end; a handler may do nothing unsafe.
  if (::write(g_pipe[1], &b, 1) < 0) {
  }
  errno = saved;
}

void SignalThread() {
  for (;;) {
    unsigned char b = 0;
    ssize_t n = ::read(g_pipe[0], &b, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    int sig = b;
    Experiment::Impl* target = g_target.exchange(nullptr);
    if (target != nullptr) {
      target->RecordAbort("Signal", std::string("killed by ") + sigabbrev_np(sig) +
                                        " (" + strsignal(sig) + ")",
                          128 + sig, sig);
    }
    // Die as the process would have without us.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    kill(getpid(), sig);
  }
}

void OnTerminate() {
  std::string type = "std::terminate";
  std::string content = "terminate called without an active exception";
  if (std::type_info* t = abi::__cxa_current_exception_type()) {
    int status = 0;
    char* name = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
    type = status == 0 && name != nullptr ? name : t->name();
    std::free(name);
    try {
      throw;
    } catch (const std::exception& e) {
      content = e.what();
    } catch (...) {
      content = "uncaught exception of type " + type;
    }
  }
  Experiment::Impl* target = g_target.exchange(nullptr);
  if (target != nullptr) target->RecordAbort(type, content, 1, 0);
  if (g_previous_terminate != nullptr) g_previous_terminate();
  std::abort();
}

}  // namespace

void SetAbortTarget(Experiment::Impl* impl) { g_target.store(impl); }

void ClearAbortTarget(Experiment::Impl* impl) {
  Experiment::Impl* expected = impl;
  g_target.compare_exchange_strong(expected, nullptr);
}

void InstallAbortHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (::pipe2(g_pipe, O_CLOEXEC) != 0) return;
    // The thread starts with the signals blocked, so they always reach a
    // trainer thread and never the one that must record them.
    sigset_t block, old;
    sigemptyset(&block);
    for (int sig : kSignals) sigaddset(&block, sig);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    std::thread(SignalThread).detach();
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    for (int sig : kSignals) {
      struct sigaction current {};
      sigaction(sig, nullptr, &current);
      if (current.sa_handler != SIG_DFL) continue;  // the user's own handler
      struct sigaction sa {};
      sa.sa_handler = OnSignal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      sigaction(sig, &sa, nullptr);
    }
    g_previous_terminate = std::set_terminate(OnTerminate);
  });
}

void RecordAbort::on_start(Experiment& exp) {
  InstallAbortHandlers();
  SetAbortTarget(exp.impl_.get());
}

void RecordAbort::on_end(Experiment& exp, int code) {
  ClearAbortTarget(exp.impl_.get());
}

// --- LockFile ---

std::map<std::string, std::string> LockFile::LinkedVersions() {
  auto v3 = [](int a, int b, int c) {
    return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
  };
  int git_major = 0, git_minor = 0, git_rev = 0;
  git_libgit2_version(&git_major, &git_minor, &git_rev);
  return {
      {"lumodb", Version()},
      {"rocksdb", v3(ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH)},
      {"flatbuffers", v3(FLATBUFFERS_VERSION_MAJOR, FLATBUFFERS_VERSION_MINOR,
                         FLATBUFFERS_VERSION_REVISION)},
      {"libgit2", v3(git_major, git_minor, git_rev)},
      {"abseil", std::to_string(ABSL_LTS_RELEASE_VERSION)},
      {"nlohmann_json", v3(NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                           NLOHMANN_JSON_VERSION_PATCH)},
      {"compiler", __VERSION__},
  };
}

void LockFile::on_start(Experiment& exp) {
  nlohmann::json lock = LinkedVersions();
  for (const auto& [name, version] : extra_) lock[name] = version;
  Status s = exp.dump_info("lock", lock.dump());
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

// --- GitCommit ---

void GitCommit::on_start(Experiment& exp) {
  GitSnapshotOptions options;
  options.branch = options_.branch;
  if (options.branch.empty()) options.branch = exp.roots().dev_branch;
  if (options.branch.empty()) options.branch = "lumo_experiments";
  options.max_file_bytes = options_.max_file_bytes;
  options.message = "lumo-db snapshot of " + exp.exp_name() + " " + exp.test_name() +
                    "\n\ninfo_dir: " + exp.info_dir() + "\n";
  nlohmann::json record;
  // A snapshot that could not be taken says why in record["error"].
  TakeGitSnapshot(CurrentDir(), options, &record);
  Status s = exp.dump_info("git", record.dump());
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

}  // namespace lumodb

// PlanRerun, StartRerun, WaitRerun (lumodb/rerun.h): a recorded run's
// command, run again as a child process without a shell.
#include "lumodb/rerun.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "experiment/process_info.h"
#include "experiment/test_name.h"
#include "journal/markers.h"
#include "lumodb/code.h"
#include "lumodb/watcher.h"
#include "rerun/command.h"
#include "rerun/shell_quote.h"
#include "util/fs.h"
#include "util/json_field.h"
#include "util/time_util.h"

extern char** environ;

namespace lumodb {

namespace {

// lumo's roots as a trainer started in cwd resolves them: where the new
// run's test_name is claimed.
Status RootsFrom(const std::string& cwd, Roots* roots) {
  const char* home = std::getenv("HOME");
  return Roots::FromLumoConfig(home != nullptr ? home : "/", cwd, roots);
}

// The depth of the new run: one more than the original's.
int NextRepeat(const nlohmann::json& run) {
  auto it = run.find("rerun");
  if (it == run.end() || !it->is_object()) return 1;
  auto repeat = it->find("repeat");
  if (repeat != it->end() && repeat->is_number_integer()) {
    return repeat->get<int>() + 1;
  }
  // A rerun that recorded no depth is at least one deep.
  return it->contains("from") ? 2 : 1;
}

// program as execve needs it: a name without '/' is looked up in PATH.
std::string ResolveProgram(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string dir = dirs.substr(start, colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0 && !IsDir(candidate)) return candidate;
    start = colon + 1;
  }
  return "";
}

// lumo's own record of a rerun, in the new run's folder, as lumo writes it.
Status WriteLumoRerunInfo(const std::string& info_dir, const RerunCommand& c) {
  const std::string dir = info_dir + "/info";
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir", dir, errno);
  }
  nlohmann::json rerun = {{"from", c.from_test_name}, {"repeat", c.repeat}};
  const std::string path = dir + "/rerun.json", tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << rerun.dump(2);
    if (!out.flush()) return Status::IOError("write " + tmp + ": failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno("rename to", path, errno);
  }
  return Status::OK();
}

// What the forked child tells the parent through the close-on-exec pipe.
enum ChildReport : int { kPid = 1, kForkFailed, kChdirFailed, kExecFailed };

}  // namespace

std::string RerunCommand::ShellLine() const { return ShellJoin(argv); }

std::string RerunCommand::MissingCwdMessage() const {
  return "working folder " + cwd + " of run " + from_exp_name + "/" + from_test_name +
         " no longer exists; choose another with --cwd DIR";
}

std::string RerunCommand::DryRunText() const {
  std::string out = ShellLine() + "\ncwd: " + ShellQuote(cwd) + "\n";
  if (!checkout_commit.empty() && !checked_out) {
    out += "checkout: " + checkout_commit + " from " + ShellQuote(checkout_repo) +
           " into a new temporary folder (<checkout>)\n";
  }
  for (const auto& [name, value] : env) {
    out += "env: " + name + "=" + ShellQuote(value) + "\n";
  }
  out += "env: LUMO_EXP_TEST_NAME=<a fresh test_name, claimed when the rerun starts>\n";
  return out;
}

Status PlanRerun(Watcher& watcher, const std::string& test_name,
                 const RerunOptions& options, RerunCommand* out) {
  std::string text;
  Status s = watcher.retrieve(test_name, options.exp_name, &text, nullptr);
  if (!s.ok()) return s;
  nlohmann::json run = nlohmann::json::parse(text, nullptr, false);
  if (!run.is_object()) return Status::Corruption("run " + test_name + ": bad JSON from the index");
  RerunCommand c;
  c.from_exp_name = StringField(run, "exp_name");
  c.from_test_name = test_name;
  const std::string who = c.from_exp_name + "/" + test_name;
  if (run.contains("journal") && run["journal"].is_object()) {
    c.from_lumo = StringField(run["journal"], "source") == "lumo";
  }
  auto exec = run.find("execute");
  if (exec == run.end() || !exec->is_object()) {
    return Status::NotFound("run " + who + " recorded no command (no execute record" +
                            (StringField(run, "status") == "not_started" ? ": it never started)"
                                                                 : ")"));
  }
  RecordedExecute e;
  e.exec_file = StringField(*exec, "exec_file");
  e.exec_bin = StringField(*exec, "exec_bin");
  e.from_lumo = c.from_lumo;
  if (exec->contains("exec_argv") && (*exec)["exec_argv"].is_array()) {
    for (const auto& a : (*exec)["exec_argv"]) {
      if (a.is_string()) e.exec_argv.push_back(a.get<std::string>());
    }
  }
  std::vector<std::string> args;
  s = SplitRecordedCommand(e, &c.argv, &args);
  if (!s.ok()) return Status::NotFound("run " + who + ": " + s.message());
  std::vector<std::string> merged;
  s = MergeOverrides(args, options.overrides, &merged);
  if (!s.ok()) return s;
  c.argv.insert(c.argv.end(), merged.begin(), merged.end());

  if (options.checkout && !options.cwd.empty()) {
    return Status::InvalidArgument(
        "--checkout runs in the snapshot's copy of the recorded folder; --cwd " + options.cwd +
        " cannot be used with it");
  }
  if (options.checkout) {
    CodeSnapshot snapshot;
    s = ResolveCodeSnapshot(text, options.repo, &snapshot);
    if (!s.ok()) return s;
    c.checkout_commit = snapshot.commit;
    c.checkout_repo = snapshot.repo;
    // The recorded folder's place in the recorded repository.
    const std::string cwd = StringField(*exec, "cwd");
    const std::string repo =
        run.contains("git") && run["git"].is_object() ? StringField(run["git"], "repo") : "";
    std::filesystem::path rel =
        std::filesystem::path(cwd).lexically_relative(std::filesystem::path(repo));
    if (!cwd.empty() && !repo.empty() && !rel.empty() && *rel.begin() != "..") {
      c.checkout_subdir = rel == "." ? "" : rel.string();
    }
    c.cwd = "<checkout>" + (c.checkout_subdir.empty() ? "" : "/" + c.checkout_subdir);
  } else if (!options.cwd.empty()) {
    std::error_code ec;
    c.cwd = std::filesystem::absolute(options.cwd, ec).lexically_normal().string();
    if (ec || !IsDir(c.cwd)) {
      return Status::NotFound("--cwd " + options.cwd + ": no such folder");
    }
  } else {
    c.cwd = StringField(*exec, "cwd");
    if (c.cwd.empty()) {
      return Status::NotFound("run " + who +
                              " recorded no working folder; choose one with --cwd DIR");
    }
    c.cwd_missing = !IsDir(c.cwd);
  }
  c.repeat = NextRepeat(run);
  c.env = {{"LUMO_RERUN_FROM", test_name},
           {"LUMO_RERUN_REPEAT", std::to_string(c.repeat)}};
  if (!options.checkout && !c.cwd_missing) {
    s = RootsFrom(c.cwd, &c.roots);
    if (!s.ok()) return s;
  }
  *out = std::move(c);
  return Status::OK();
}

Status CheckoutRerun(RerunCommand* c) {
  if (c->checkout_commit.empty() || c->checked_out) return Status::OK();
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern = std::string(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp") +
                        "/lumodb-rerun-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return Status::FromErrno("create a folder for the checkout", pattern, errno);
  }
  CodeSnapshot snapshot;
  snapshot.run = c->from_exp_name + "/" + c->from_test_name;
  snapshot.repo = c->checkout_repo;
  snapshot.commit = c->checkout_commit;
  snapshot.recorded_id = c->checkout_commit;
  const std::string tree = pattern + "/code";
  Status s = ArchiveCode(snapshot, tree, nullptr);
  if (!s.ok()) {
    std::error_code ec;
    std::filesystem::remove_all(pattern, ec);
    return s;
  }
  c->cwd = c->checkout_subdir.empty() ? tree : tree + "/" + c->checkout_subdir;
  if (!IsDir(c->cwd)) {
    // The working folder held no tracked file: git keeps no empty folder.
    std::error_code ec;
    std::filesystem::create_directories(c->cwd, ec);
    if (ec) return Status::IOError("create " + c->cwd + ": " + ec.message());
  }
  s = RootsFrom(c->cwd, &c->roots);
  if (!s.ok()) return s;
  c->checked_out = true;
  return Status::OK();
}

Status StartRerun(const RerunCommand& c, bool detach, RerunProcess* out) {
  if (c.argv.empty()) return Status::InvalidArgument("rerun: empty command");
  if (c.cwd_missing) return Status::NotFound(c.MissingCwdMessage());
  const std::string program = ResolveProgram(c.argv[0]);
  if (program.empty()) {
    return Status::NotFound("program " + c.argv[0] + " of run " + c.from_test_name +
                            " is not in PATH");
  }
  RerunProcess p;
  p.exp_name = c.from_exp_name;
  Status s = ClaimTestName(c.roots.info_root, p.exp_name, c.roots.timezone, NowMicros(),
                           &p.test_name);
  if (!s.ok()) return s;
  p.info_dir = RunInfoDir(c.roots.info_root, p.exp_name, p.test_name);
  if (c.from_lumo) {
    s = WriteLumoRerunInfo(p.info_dir, c);
    if (!s.ok()) return s;
  }

  // Everything the child needs is made before fork: after it, only
  // async-signal-safe calls.
  std::set<std::string> ours = {"LUMO_EXP_TEST_NAME"};
  for (const auto& kv : c.env) ours.insert(kv.first);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    if (ours.count(entry.substr(0, entry.find('='))) == 0) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : c.env) env_strings.push_back(name + "=" + value);
  env_strings.push_back("LUMO_EXP_TEST_NAME=" + p.test_name);
  std::vector<char*> envp, argv;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = c.argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const char* cwd = c.cwd.c_str();
  const char* path = program.c_str();

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", "for " + program, errno);
  int devnull = detach ? ::open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
  sigset_t none;
  sigemptyset(&none);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    if (devnull >= 0) ::close(devnull);
    return Status::FromErrno("fork for", program, err);
  }
  if (pid == 0) {
    auto report = [&](int kind, int value) {
      int msg[2] = {kind, value};
      if (::write(fds[1], msg, sizeof(msg)) < 0) {
      }
    };
    if (detach) {
      ::setsid();
      pid_t grandchild = ::fork();
      if (grandchild < 0) {
        report(kForkFailed, errno);
        ::_exit(127);
      }
      if (grandchild > 0) {
        report(kPid, grandchild);
        ::_exit(0);
      }
      if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    }
    // A parent that waits ignores SIGINT and SIGQUIT; the child must not.
    ::sigaction(SIGINT, &dfl, nullptr);
    ::sigaction(SIGQUIT, &dfl, nullptr);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::chdir(cwd) != 0) {
      report(kChdirFailed, errno);
      ::_exit(127);
    }
    ::execve(path, argv.data(), envp.data());
    report(kExecFailed, errno);
    ::_exit(127);
  }
  ::close(fds[1]);
  if (devnull >= 0) ::close(devnull);
  p.pid = pid;
  int failure = 0, err = 0;
  for (;;) {
    int msg[2];
    ssize_t n = ::read(fds[0], msg, sizeof(msg));
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof(msg))) break;  // EOF: exec happened
    if (msg[0] == kPid) {
      p.pid = msg[1];
    } else {
      failure = msg[0];
      err = msg[1];
    }
  }
  ::close(fds[0]);
  if (detach || failure != 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (failure != 0) {
    if (!c.from_lumo) ::rmdir(p.info_dir.c_str());
    if (failure == kChdirFailed) return Status::FromErrno("enter working folder", c.cwd, err);
    if (failure == kForkFailed) return Status::FromErrno("fork for", program, err);
    return Status::FromErrno("run", program, err);
  }
  *out = std::move(p);
  return Status::OK();
}

Status WaitRerun(const RerunProcess& p, int* exit_status, bool* started) {
  int status = 0;
  while (::waitpid(p.pid, &status, 0) < 0) {
    if (errno != EINTR) return Status::FromErrno("wait for", "pid " + std::to_string(p.pid), errno);
  }
  *exit_status = ShellExitStatus(status);
  // A child that never started a run leaves its claimed folder empty
  // (rmdir removes nothing else).
  bool empty_removed = ::rmdir(p.info_dir.c_str()) == 0;
  if (started != nullptr) *started = !empty_removed && IsDir(p.info_dir) &&
                                     (::access(JournalPath(p.info_dir).c_str(), F_OK) == 0 ||
                                      ::access((p.info_dir + "/info/test_name.json").c_str(), F_OK) == 0);
  return Status::OK();
}

}  // namespace lumodb

// Helpers shared by the tests.
#include "test_util.h"

#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace lumodb::testing {

namespace {

// The tests run in the build tree, inside lumo-db's own git work tree: runs
// they record (in this process or in children, which inherit it) must not
// commit snapshots to lumo-db's repository. The GitCommit tests turn it back
// on for the children they start in repositories of their own.
const bool kNoGitSnapshots = [] { return ::setenv("LUMODB_GIT_SNAPSHOT", "0", 1) == 0; }();

}  // namespace

TempDir::TempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/lumodb-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string BinPath(const std::string& name) {
  std::string dir = LUMODB_BIN_DIR;
  for (const char* sub : {"", "/tests"}) {
    std::string p = dir + sub + "/" + name;
    if (std::filesystem::exists(p)) return p;
  }
  return dir + "/" + name;
}

std::string FixturesDir() { return LUMODB_FIXTURES_DIR; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

namespace {

// Runs the program as RunProgram describes; with terminal_stderr, its
// stderr is the slave side of a new pseudo-terminal, read here until the
// program closes it.
Result Spawn(const std::string& program, const std::vector<std::string>& args,
             const std::string& home, const std::string& cwd, const std::string& capture_prefix,
             const std::map<std::string, std::string>& env, bool terminal_stderr) {
  std::vector<std::string> argv_s = {program};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    if (name == "HOME" || name == "LUMODB_DB" || name == "LUMO_EXP_TEST_NAME" ||
        name == "LUMO_RERUN_FROM" || name == "LUMO_RERUN_REPEAT") {
      continue;
    }
    if (env.count(name) != 0) continue;  // overridden below; getenv takes the first
    env_s.push_back(kv);
  }
  env_s.push_back("HOME=" + home);
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int master = -1, slave = -1;
  if (terminal_stderr) {
    struct winsize size = {};
    size.ws_row = 24;
    size.ws_col = 120;
    if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) return Result();
  }
  const std::string out_path = capture_prefix + ".out", err_path = capture_prefix + ".err";
  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = terminal_stderr ? slave : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || null < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0 ||
        ::dup2(null, 0) < 0 || ::chdir(cwd.c_str()) != 0) {
      ::_exit(126);
    }
    if (master >= 0) ::close(master);
    struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);  // a failing trainer aborts
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  Result r;
  std::string terminal;
  if (terminal_stderr) {
    ::close(slave);
    char buf[4096];
    // EIO once the program (and every process it left) closed the slave.
    for (ssize_t n; (n = ::read(master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR);) {
      if (n > 0) terminal.append(buf, static_cast<size_t>(n));
    }
    ::close(master);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = terminal_stderr ? terminal : ReadFile(err_path);
  return r;
}

}  // namespace

Result RunProgram(const std::string& program, const std::vector<std::string>& args,
                  const std::string& home, const std::string& cwd,
                  const std::string& capture_prefix,
                  const std::map<std::string, std::string>& env) {
  return Spawn(program, args, home, cwd, capture_prefix, env, false);
}

Result RunProgramOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const std::string& home, const std::string& cwd,
                            const std::string& capture_prefix,
                            const std::map<std::string, std::string>& env) {
  return Spawn(program, args, home, cwd, capture_prefix, env, true);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

namespace {
std::mutex g_warn_mu;
std::vector<std::string> g_warnings;
}  // namespace

void CollectWarning(const std::string& message) {
  std::lock_guard<std::mutex> lock(g_warn_mu);
  g_warnings.push_back(message);
}

std::vector<std::string> TakeWarnings() {
  std::lock_guard<std::mutex> lock(g_warn_mu);
  std::vector<std::string> out;
  out.swap(g_warnings);
  return out;
}

void InProcessTest::SetUp() {
  ::unsetenv("LUMO_EXP_TEST_NAME");
  ::unsetenv("LUMODB_DB");
  char buf[4096];
  ASSERT_NE(::getcwd(buf, sizeof(buf)), nullptr);
  old_cwd_ = buf;
  ASSERT_EQ(::chdir(dir_.path().c_str()), 0);
  roots_.home = dir_ / "home";
  roots_.info_root = dir_ / "info";
  roots_.blob_root = dir_ / "blob";
  roots_.cache_root = dir_ / "cache";
}

void InProcessTest::TearDown() {
  ::unsetenv("LUMO_EXP_TEST_NAME");
  EXPECT_EQ(::chdir(old_cwd_.c_str()), 0);
}

void ProgramTest::SetUp() {
  home_ = dir_ / "home";
  work_ = dir_ / "work";
  ASSERT_TRUE(std::filesystem::create_directory(home_));
  ASSERT_TRUE(std::filesystem::create_directory(work_));
}

Result ProgramTest::Run(const std::string& program, const std::vector<std::string>& args,
                        const std::string& cwd, const std::map<std::string, std::string>& env) {
  Result r = RunProgram(program, args, home_, cwd.empty() ? work_ : cwd,
                        dir_ / ("run" + std::to_string(calls_++)), env);
  EXPECT_NE(r.code, -1) << program << " did not run";
  return r;
}

Result ProgramTest::RunOnTerminal(const std::string& program,
                                  const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& env) {
  Result r = RunProgramOnTerminal(program, args, home_, work_,
                                  dir_ / ("run" + std::to_string(calls_++)), env);
  EXPECT_NE(r.code, -1) << program << " did not run";
  return r;
}

Result ProgramTest::Git(const std::string& cwd, const std::vector<std::string>& args,
                        std::map<std::string, std::string> env) {
  env.insert({{"GIT_AUTHOR_NAME", "Tester"},
              {"GIT_AUTHOR_EMAIL", "tester@example.com"},
              {"GIT_COMMITTER_NAME", "Tester"},
              {"GIT_COMMITTER_EMAIL", "tester@example.com"},
              {"GIT_CONFIG_NOSYSTEM", "1"}});
  return Run("/usr/bin/git", args, cwd, env);
}

}  // namespace lumodb::testing

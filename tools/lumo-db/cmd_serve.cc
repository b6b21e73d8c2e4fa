// lumo-db serve: the runs table as a local web dashboard (serve/server.h,
// docs/dashboard.md).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "cli.h"
#include "serve/server.h"

extern char** environ;

namespace lumodb::cli {

namespace {

struct ServeArgs {
  ServeOptions options;
  std::string token_file;
  bool open = false;
};

// The token from --token-file, else $LUMODB_SERVE_TOKEN, else none (the
// server makes one). Never from argv: a token there is in `ps` for all.
Status ReadToken(const ServeArgs& a, std::string* token, bool* given) {
  *given = false;
  std::string text;
  if (!a.token_file.empty()) {
    std::ifstream in(a.token_file);
    if (!in) return Status::IOError("cannot read the token file " + a.token_file);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
      text.pop_back();
    }
    if (text.empty()) return Status::InvalidArgument("the token file " + a.token_file + " is empty");
  } else if (const char* env = std::getenv("LUMODB_SERVE_TOKEN"); env != nullptr && *env) {
    text = env;
  }
  if (text.empty()) return Status::OK();
  if (text.size() < 16) {
    return Status::InvalidArgument("the token must be at least 16 characters long");
  }
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f || c == ';' || c == ',') {
      return Status::InvalidArgument(
          "the token may hold printable ASCII characters only (no spaces, ';' or ',')");
    }
  }
  *token = text;
  *given = true;
  return Status::OK();
}

// Opens the page in the user's browser, without a shell and without
// waiting for it.
void OpenBrowser(const std::string& url) {
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    Warn("--open: cannot start xdg-open; open " + url + " yourself");
    return;
  }
  std::thread([pid] { waitpid(pid, nullptr, 0); }).detach();
}

int RunServe(const Common& common, ServeArgs& a) {
  bool given = false;
  Status s = ReadToken(a, &a.options.token, &given);
  if (!s.ok()) return Fail(s);
  a.options.token_generated = !given;
  // SIGINT and SIGTERM end the server through one thread that waits for
  // them; no other thread sees them (blocked before any thread starts). A
  // client gone mid-answer is no signal.
  signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<Watcher> watcher;
  s = OpenLongLivedWatcher(common, 200, &watcher);
  if (s.ok() && !common.no_load) s = watcher->load();
  if (!s.ok()) return Fail(s);

  Dashboard dashboard(std::move(watcher), a.options);
  s = dashboard.WarmUp(true);
  int port = 0;
  if (s.ok()) s = dashboard.Bind(&port);
  if (!s.ok()) return Fail(s);
  const std::string& host = a.options.host;
  std::string url = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                    ":" + std::to_string(port) + "/";
  std::string shown = url;
  if (!IsLoopbackHost(host)) {
    // The generated token is printed this once; a given one never.
    shown += given ? "  (append ?token=<your token> once; the page keeps it in a cookie)"
                   : "?token=" + dashboard.token();
  }
  std::cerr << "lumo-db serve: " << shown << "\n" << std::flush;
  if (a.open) OpenBrowser(given || IsLoopbackHost(host) ? url : url + "?token=" + dashboard.token());

  std::thread stopper([&dashboard, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    dashboard.Stop();
  });
  s = dashboard.Serve();
  // Wake the stopper if the server ended on its own.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  if (!s.ok()) return Fail(s);
  std::cerr << "lumo-db serve: stopped\n";
  return kExitOk;
}

}  // namespace

Command AddServe(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Serve the runs table as a live web dashboard (lumo's panel): filter, sort, group, "
      "compare runs, plot metric curves, edit notes and tags.\n"
      "Binds 127.0.0.1 by default; any other address needs a token on every request "
      "(from --token-file or $LUMODB_SERVE_TOKEN, else generated and printed once).\n"
      "Examples:\n"
      "  lumo-db serve\n"
      "  lumo-db serve --port 8080 --open\n"
      "  LUMODB_SERVE_TOKEN=$(cat ~/.lumodb-token) lumo-db serve --host 0.0.0.0");
  auto args = std::make_shared<ServeArgs>();
  cmd->add_option("--host", args->options.host, "Address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", args->options.port,
                  "Port to listen on (default 11606, lumo board's; 0: any free port)")
      ->check(CLI::Range(0, 65535));
  cmd->add_flag("--open", args->open, "Open the page in the browser (xdg-open)");
  cmd->add_option("--token-file", args->token_file,
                  "File holding the access token (else $LUMODB_SERVE_TOKEN, else generated)");
  cmd->add_option("--load-interval-ms", args->options.load_interval_ms,
                  "How often the journals are loaded for live updates (default 200)")
      ->check(CLI::Range(20, 10000));
  return {cmd, [&common, args] { return RunServe(common, *args); }};
}

}  // namespace lumodb::cli

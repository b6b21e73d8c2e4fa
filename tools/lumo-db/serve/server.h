// The dashboard server of `lumo-db serve`: the embedded page and the JSON
// API of docs/dashboard.md over one Watcher.
//
// Threads: cpp-httplib's pool answers requests; one loader thread loads the
// journals every load_interval_ms and, when the index's sequence moved,
// brings the RunTable up to date and wakes the long polls (/api/wait). The
// Watcher and the RunTable are used under one lock (engine_); a long poll
// waits without it.
#ifndef LUMODB_TOOLS_SERVE_SERVER_H_
#define LUMODB_TOOLS_SERVE_SERVER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lumodb/watcher.h"
#include "serve/run_table.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace lumodb::cli {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 11606;  // lumo's `lumo board` port; 0: any free port
  // The access token (see docs/dashboard.md, "Access"); empty: generated.
  std::string token;
  bool token_generated = true;
  int load_interval_ms = 200;
};

// True for 127.0.0.0/8, ::1 and localhost.
bool IsLoopbackHost(const std::string& host);

class Dashboard {
 public:
  Dashboard(std::unique_ptr<Watcher> watcher, ServeOptions options);
  ~Dashboard();

  // Reads the table's first columns (progress line on stderr when told).
  Status WarmUp(bool progress);
  // Binds host:port; *port is the port bound (for --port 0).
  Status Bind(int* port);
  // Serves until Stop(); starts the loader thread.
  Status Serve();
  // From any thread (a signal's).
  void Stop();

  const std::string& token() const { return options_.token; }

 private:
  using Handler = void (Dashboard::*)(const httplib::Request&, httplib::Response&);

  void Route();
  void LoaderLoop();
  // Access control before any route: Host, token. True: refused (answered).
  bool Refuse(const httplib::Request& req, httplib::Response& res);
  bool HasToken(const httplib::Request& req) const;

  void Page(const httplib::Request& req, httplib::Response& res);
  void Runs(const httplib::Request& req, httplib::Response& res);
  void Columns(const httplib::Request& req, httplib::Response& res);
  void Run(const httplib::Request& req, httplib::Response& res);
  void Metrics(const httplib::Request& req, httplib::Response& res);
  void Lineage(const httplib::Request& req, httplib::Response& res);
  void Diff(const httplib::Request& req, httplib::Response& res);
  void Rerun(const httplib::Request& req, httplib::Response& res);
  void Wait(const httplib::Request& req, httplib::Response& res);
  void Edit(const httplib::Request& req, httplib::Response& res);

  std::string SequenceText();

  ServeOptions options_;
  bool loopback_;
  std::unique_ptr<httplib::Server> http_;

  std::mutex engine_;  // guards watcher_ and table_
  std::unique_ptr<Watcher> watcher_;
  RunTable table_;

  // The index's sequence as the loader last saw it; waiters sleep on it.
  std::mutex seq_mu_;
  std::condition_variable seq_cv_;
  uint64_t sequence_ = 0;
  int waiters_ = 0;
  bool stopping_ = false;
  std::thread loader_;
};

}  // namespace lumodb::cli

#endif  // LUMODB_TOOLS_SERVE_SERVER_H_

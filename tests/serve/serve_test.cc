// lumo-db serve as a real child process on loopback, asked over HTTP: the
// table API agrees with the engine's query, bad parameters are 400s naming
// them, edits are refused without Origin, token and JSON, the Host header
// is checked, a token guards every request outside loopback, long polls
// wake on a journal write, and clients that vanish mid-answer do not hurt.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "child_process.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class ServeTest : public testing::ChildrenTest {
 protected:
  void SetUp() override {
    ChildrenTest::SetUp();
    for (int i = 0; i < 30; ++i) {
      Experiment e(i % 2 == 0 ? "mnist" : "cifar", roots_, ExperimentOptions{});
      ASSERT_TRUE(e.start().ok());
      const double lr = i % 3 == 0 ? 0.1 : i % 3 == 1 ? 0.01 : 0.001;
      ASSERT_TRUE(e.dump_info("params", json{{"lr", lr}, {"seed", i}}.dump()).ok());
      e.dump_metric("acc", 0.5 + 0.01 * (i % 11), Cmp::Max);
      ASSERT_TRUE(e.end(i % 7 == 6 ? 1 : 0).ok());
    }
  }

  // Starts lumo-db serve with these arguments; returns its port.
  int StartServer(const std::vector<std::string>& more = {}) {
    std::vector<std::string> args = {"--db", tmp_ / "index", "serve", "--port", "0"};
    args.insert(args.end(), more.begin(), more.end());
    server_ = Spawn("lumo-db", args);
    const std::string mark = "lumo-db serve: http://";
    int port = 0;
    EXPECT_TRUE(testing::Eventually([&] {
      const std::string err = testing::ReadFile(stderr_path_);
      const size_t at = err.find(mark);
      if (at == std::string::npos) return false;
      const size_t colon = err.find(':', at + mark.size());
      port = std::atoi(err.c_str() + colon + 1);
      return port > 0;
    })) << testing::ReadFile(stderr_path_);
    return port;
  }

  void StopServer() {
    ::kill(server_.pid, SIGTERM);
    EXPECT_EQ(Wait(server_), 0) << "a SIGTERM ends the server cleanly";
  }

  static json Get(httplib::Client& c, const std::string& path, int expect = 200) {
    auto res = c.Get(path.c_str());
    EXPECT_TRUE(res) << path;
    if (!res) return json();
    EXPECT_EQ(res->status, expect) << path << ": " << res->body;
    return json::parse(res->body, nullptr, false);
  }

  // What the engine answers for the query, as exp/test.
  std::vector<std::string> Engine(const Query& q) {
    WatcherOptions options;
    options.db_path = tmp_ / "index";
    options.read_only = true;
    std::unique_ptr<Watcher> w;
    EXPECT_TRUE(Watcher::Open(roots_, options, &w).ok());
    std::vector<std::string> runs;
    EXPECT_TRUE(w->query(q, &runs).ok());
    std::vector<std::string> names;
    for (const std::string& r : runs) {
      json j = json::parse(r);
      names.push_back(j["exp_name"].get<std::string>() + "/" + j["test_name"].get<std::string>());
    }
    return names;
  }

  static std::vector<std::string> Names(const json& page) {
    std::vector<std::string> names;
    for (const json& r : page["runs"]) {
      names.push_back(r["exp_name"].get<std::string>() + "/" + r["test_name"].get<std::string>());
    }
    return names;
  }

  testing::Child server_;
};

TEST_F(ServeTest, TheTableIsTheEnginesQueryPageByPage) {
  httplib::Client c("127.0.0.1", StartServer());
  json all = Get(c, "/api/runs?q=params.lr%3C0.05&sort=-metrics.acc&limit=500");
  EXPECT_EQ(all["total"], 20);
  Query q;
  Filter f;
  ASSERT_TRUE(Filter::Parse("params.lr<0.05", &f).ok());
  q.filters = {f};
  q.sort_field = "metrics.acc";
  q.descending = true;
  const std::vector<std::string> expected = Engine(q);
  EXPECT_EQ(Names(all), expected);
  // Pages are the same run list cut in pieces.
  std::vector<std::string> paged;
  for (int offset = 0; offset < 20; offset += 6) {
    json page = Get(c, "/api/runs?q=params.lr%3C0.05&sort=-metrics.acc&limit=6&offset=" +
                           std::to_string(offset));
    for (const std::string& n : Names(page)) paged.push_back(n);
  }
  EXPECT_EQ(paged, expected);
  // Groups count every exp_name; a collapsed one leaves the rows.
  json grouped = Get(c, "/api/runs?group=1&collapsed=mnist&limit=500");
  ASSERT_EQ(grouped["groups"].size(), 2u);
  EXPECT_EQ(grouped["groups"][0], (json{{"exp_name", "cifar"}, {"count", 15}}));
  EXPECT_EQ(grouped["groups"][1], (json{{"exp_name", "mnist"}, {"count", 15}}));
  EXPECT_EQ(grouped["total"], 15);
  for (const json& r : grouped["runs"]) EXPECT_EQ(r["exp_name"], "cifar");
  // Columns for plots.
  json cols = Get(c, "/api/columns?columns=params.lr,metrics.acc&q=status%3D%3Dfailed");
  EXPECT_EQ(cols["total"], 4);
  ASSERT_EQ(cols["rows"].size(), 4u);
  EXPECT_EQ(cols["rows"][0].size(), 4u) << "exp, test, lr, acc";
  StopServer();
}

TEST_F(ServeTest, BadRequestsAre400sNamingWhatIsWrong) {
  httplib::Client c("127.0.0.1", StartServer());
  EXPECT_THAT(Get(c, "/api/runs?limit=0", 400)["error"].get<std::string>(), HasSubstr("limit"));
  EXPECT_THAT(Get(c, "/api/runs?limit=abc", 400)["error"].get<std::string>(), HasSubstr("'abc'"));
  EXPECT_THAT(Get(c, "/api/runs?offset=-1", 400)["error"].get<std::string>(), HasSubstr("offset"));
  EXPECT_THAT(Get(c, "/api/runs?q=bogus", 400)["error"].get<std::string>(), HasSubstr("bogus"));
  EXPECT_THAT(Get(c, "/api/runs?q=note==%22open", 400)["error"].get<std::string>(),
              HasSubstr("quote"));
  EXPECT_THAT(Get(c, "/api/runs?sort=-", 400)["error"].get<std::string>(), HasSubstr("sort"));
  EXPECT_THAT(Get(c, "/api/runs?group=maybe", 400)["error"].get<std::string>(), HasSubstr("group"));
  EXPECT_THAT(Get(c, "/api/columns", 400)["error"].get<std::string>(), HasSubstr("columns"));
  EXPECT_THAT(Get(c, "/api/run", 400)["error"].get<std::string>(), HasSubstr("test"));
  EXPECT_THAT(Get(c, "/api/run?test=260101.001.zzt", 404)["error"].get<std::string>(),
              HasSubstr("260101.001.zzt"));
  EXPECT_THAT(Get(c, "/api/metrics?runs=", 400)["error"].get<std::string>(), HasSubstr("runs"));
  EXPECT_THAT(Get(c, "/api/wait?timeout=99", 400)["error"].get<std::string>(), HasSubstr("timeout"));
  EXPECT_THAT(Get(c, "/no/such/page", 404)["error"].get<std::string>(), HasSubstr("/no/such/page"));
  auto del = c.Delete("/api/runs");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 405);
  // Still serving after all of that.
  EXPECT_EQ(Get(c, "/api/runs?limit=1")["total"], 30);
  StopServer();
}

TEST_F(ServeTest, ThePageIsEmbeddedWithItsTokenAndAStrictPolicy) {
  httplib::Client c("127.0.0.1", StartServer());
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("name=\"lumodb-token\""));
  EXPECT_THAT(page->body, Not(HasSubstr("{{LUMODB_TOKEN}}")));
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("script-src 'self'"));
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  auto js = c.Get("/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_THAT(js->get_header_value("Content-Type"), HasSubstr("javascript"));
  StopServer();
}

TEST_F(ServeTest, EditsNeedOriginTokenAndJsonAndLoopbackNeedsItsHost) {
  const int port = StartServer();
  httplib::Client c("127.0.0.1", port);
  const std::string origin = "http://127.0.0.1:" + std::to_string(port);
  const std::string body = R"({"exp_name":"mnist","test_name":"x","note":"n"})";
  // Another site's page (DNS rebinding) names its own host.
  auto rebound = c.Get("/api/runs", {{"Host", "evil.example:" + std::to_string(port)}});
  ASSERT_TRUE(rebound);
  EXPECT_EQ(rebound->status, 403);
  auto no_origin = c.Post("/api/edit", body, "application/json");
  ASSERT_TRUE(no_origin);
  EXPECT_EQ(no_origin->status, 403);
  auto other_origin = c.Post("/api/edit", {{"Origin", "http://evil.example"}}, body,
                             "application/json");
  ASSERT_TRUE(other_origin);
  EXPECT_EQ(other_origin->status, 403);
  auto form = c.Post("/api/edit", {{"Origin", origin}}, "note=n",
                     "application/x-www-form-urlencoded");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 403) << "a form post (no preflight) is refused";
  auto no_token = c.Post("/api/edit", {{"Origin", origin}}, body, "application/json");
  ASSERT_TRUE(no_token);
  EXPECT_EQ(no_token->status, 401);
  // The page carries the token edits need.
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  const std::string mark = "name=\"lumodb-token\" content=\"";
  const size_t at = page->body.find(mark);
  ASSERT_NE(at, std::string::npos) << page->body;
  const std::string token =
      page->body.substr(at + mark.size(), page->body.find('"', at + mark.size()) - at - mark.size());
  EXPECT_EQ(token.size(), 64u) << "32 random bytes, hex";
  auto huge = c.Post("/api/edit", {{"Origin", origin}, {"X-Lumodb-Token", token}},
                     std::string(2 << 20, 'x'), "application/json");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 413);
  auto not_json = c.Post("/api/edit", {{"Origin", origin}, {"X-Lumodb-Token", token}}, "{note",
                         "application/json");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  StopServer();
}

TEST_F(ServeTest, OutsideLoopbackEveryRequestNeedsTheToken) {
  const std::string token = "a-token-of-the-test-0123456789";
  ::setenv("LUMODB_SERVE_TOKEN", token.c_str(), 1);
  const int port = StartServer({"--host", "0.0.0.0"});
  ::unsetenv("LUMODB_SERVE_TOKEN");
  EXPECT_THAT(testing::ReadFile(stderr_path_), Not(HasSubstr(token)))
      << "a given token is never printed";
  httplib::Client c("127.0.0.1", port);
  Get(c, "/api/runs", 401);
  Get(c, "/app.js", 401);
  auto wrong = c.Get("/api/runs", {{"X-Lumodb-Token", token + "x"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto header = c.Get("/api/runs?limit=1", {{"X-Lumodb-Token", token}});
  ASSERT_TRUE(header);
  EXPECT_EQ(header->status, 200);
  auto bearer = c.Get("/api/runs?limit=1", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->status, 200);
  // The page opened once with ?token= sets a cookie that serves from then on.
  auto page = c.Get(("/?token=" + token).c_str());
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  const std::string cookie = page->get_header_value("Set-Cookie");
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
  auto with_cookie = c.Get("/api/runs?limit=1", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(with_cookie);
  EXPECT_EQ(with_cookie->status, 200);
  Get(c, ("/api/runs?token=" + token).c_str(), 401);  // only the page takes it in the URL
  StopServer();
}

TEST_F(ServeTest, ALongPollWakesOnAJournalWrite) {
  const int port = StartServer();
  httplib::Client c("127.0.0.1", port);
  json first = Get(c, "/api/runs?limit=1");
  const std::string seq = first["sequence"];
  auto waiting = std::async(std::launch::async, [&] {
    httplib::Client w("127.0.0.1", port);
    w.set_read_timeout(60, 0);
    return Get(w, "/api/wait?timeout=30&seq=" + seq);
  });
  Experiment e("mnist", roots_, ExperimentOptions{});
  ASSERT_TRUE(e.start().ok());
  e.dump_metric("acc", 0.42, Cmp::Max);
  ASSERT_TRUE(e.flush().ok());
  json woke = waiting.get();
  EXPECT_NE(woke["sequence"], seq);
  EXPECT_TRUE(testing::Eventually([&] { return Get(c, "/api/runs?limit=1")["total"] == 31; }));
  json newest = Get(c, "/api/runs?q=test_name%3D%3D" + e.test_name());
  ASSERT_EQ(newest["total"], 1);
  EXPECT_EQ(newest["runs"][0]["status"], "running");
  EXPECT_EQ(newest["runs"][0]["metrics"]["acc"], 0.42);
  ASSERT_TRUE(e.end(0).ok());
  StopServer();
}

TEST_F(ServeTest, ClientsThatVanishMidAnswerDoNotHurt) {
  const int port = StartServer();
  for (int i = 0; i < 20; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string req = i % 2 == 0 ? "GET /api/runs?limit=500 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                                       : "GET /api/runs?limit=500 HTTP/1.1\r\nHost: 127.0";
    ASSERT_GT(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), 0);
    ::close(fd);  // gone before (or while) the answer is written
  }
  httplib::Client c("127.0.0.1", port);
  EXPECT_EQ(Get(c, "/api/runs?limit=1")["total"], 30);
  StopServer();
}

}  // namespace
}  // namespace lumodb

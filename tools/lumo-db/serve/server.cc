// The dashboard server (see server.h and docs/dashboard.md).
#include "serve/server.h"

#include <httplib.h>
#include <sys/random.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <utility>

#include "cli.h"
#include "index/keys.h"
#include "lumodb/code.h"
#include "lumodb/rerun.h"
#include "serve/assets.h"

namespace lumodb::cli {

namespace {

constexpr size_t kMaxPageRows = 500;
constexpr size_t kDefaultPageRows = 100;
constexpr size_t kMaxValueRows = 20000;
constexpr size_t kMaxFields = 32;
constexpr size_t kMaxFieldLength = 256;
constexpr size_t kMaxCellChars = 4096;    // strings of a table row beyond this are cut
constexpr size_t kMaxDiffBytes = 2 << 20;
constexpr size_t kMaxSeriesRuns = 32;
constexpr size_t kMaxBody = 1 << 20;
constexpr int kMaxWaiters = 32;
constexpr size_t kMaxNoteBytes = 64 << 10;

const char* const kJson = "application/json; charset=utf-8";

// 400 for what the client got wrong, 404 for what is not there.
int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kAmbiguous:
      return 400;
    case Status::Code::kNotFound:
      return 404;
    default:
      return 500;
  }
}

void SendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, nlohmann::json{{"error", message}});
}

void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, HttpStatusOf(s), s.message().empty() ? s.ToString() : s.message());
}

// A whole number parameter within [low, high], or its default.
Status SizeParam(const httplib::Request& req, const char* name, size_t fallback, size_t low,
                 size_t high, size_t* out) {
  *out = fallback;
  if (!req.has_param(name)) return Status::OK();
  const std::string text = req.get_param_value(name);
  size_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < low || v > high) {
    return Status::InvalidArgument("parameter " + std::string(name) + ": '" + text +
                                   "' is not a whole number from " + std::to_string(low) +
                                   " to " + std::to_string(high));
  }
  *out = v;
  return Status::OK();
}

// A dotted path named by a parameter: printable, bounded.
Status CheckField(const std::string& name, const std::string& field) {
  if (field.empty() || field.size() > kMaxFieldLength) {
    return Status::InvalidArgument("parameter " + name + ": a field is a dotted path of 1 to " +
                                   std::to_string(kMaxFieldLength) + " characters");
  }
  for (unsigned char c : field) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("parameter " + name + ": field '" + field +
                                     "' holds a control character");
    }
  }
  return Status::OK();
}

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

// The filter bar's text as filters: words split at white space outside
// quotes (the quotes kept, for Filter::Parse), then "a == b" joined as
// lumo-db query joins its arguments.
Status ParseFilterText(const std::string& text, std::vector<Filter>* out) {
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      word += c;
      if (c == '\\' && i + 1 < text.size()) {
        word += text[++i];
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    word += c;
    in_word = true;
  }
  if (quote != 0) return Status::InvalidArgument("filter: a quote is not closed: " + text);
  if (in_word) words.push_back(word);
  for (const std::string& w : JoinFilterWords(words)) {
    Filter f;
    Status s = Filter::Parse(w, &f);
    if (!s.ok()) return s;
    out->push_back(std::move(f));
  }
  return Status::OK();
}

// The runs-table parameters shared by /api/runs and /api/columns.
Status TableParams(const httplib::Request& req, TableRequest* out) {
  if (req.has_param("q")) {
    Status s = ParseFilterText(req.get_param_value("q"), &out->filters);
    if (!s.ok()) return s;
  }
  for (const Filter& f : out->filters) {
    Status s = CheckField("q", f.field);
    if (!s.ok()) return s;
  }
  if (req.has_param("sort")) {
    std::string sort = req.get_param_value("sort");
    if (!sort.empty() && sort[0] == '-') {
      out->descending = true;
      sort.erase(0, 1);
    }
    if (!sort.empty()) {
      Status s = CheckField("sort", sort);
      if (!s.ok()) return s;
    } else if (out->descending) {
      return Status::InvalidArgument("parameter sort: '-' names no field");
    }
    out->sort_field = sort;
  }
  if (req.has_param("group")) {
    const std::string g = req.get_param_value("group");
    if (g != "0" && g != "1" && g != "true" && g != "false") {
      return Status::InvalidArgument("parameter group: '" + g + "' is not 1 or 0");
    }
    out->group = g == "1" || g == "true";
  }
  if (req.has_param("collapsed")) {
    for (const std::string& e : SplitList(req.get_param_value("collapsed"))) {
      out->collapsed.insert(e);
    }
  }
  return Status::OK();
}

// Strings longer than max are cut and marked, in place, at any depth.
void CutStrings(nlohmann::json* j, size_t max) {
  if (j->is_string()) {
    std::string& s = j->get_ref<std::string&>();
    if (s.size() <= max) return;
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
    const size_t n = s.size();
    s.resize(cut);
    s += "…[cut, " + std::to_string(n) + " bytes]";
  } else if (j->is_array() || j->is_object()) {
    for (auto& v : *j) CutStrings(&v, max);
  }
}

// Both "exp/test" and "test" name a run.
RunName RunOf(const std::string& text) {
  const size_t slash = text.rfind('/');
  if (slash == std::string::npos) return RunName{"", text};
  return RunName{text.substr(0, slash), text.substr(slash + 1)};
}

bool EqualConstantTime(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The host part of a Host header: "127.0.0.1:11606" -> "127.0.0.1",
// "[::1]:80" -> "::1".
std::string HostPart(const std::string& header) {
  if (!header.empty() && header[0] == '[') {
    const size_t end = header.find(']');
    return end == std::string::npos ? header : header.substr(1, end - 1);
  }
  return header.substr(0, header.rfind(':') == std::string::npos ? header.size()
                                                                   : header.rfind(':'));
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string item = header.substr(pos, end - pos);
    const size_t first = item.find_first_not_of(' ');
    item = first == std::string::npos ? "" : item.substr(first);
    if (item.compare(0, name.size() + 1, name + "=") == 0) return item.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

// TEMPORARY until Watcher::edit_run lands from the edits branch.
struct RunEdit {
  bool set_note = false;
  std::string note;
  bool set_tags = false;
  std::vector<std::string> tags;
};
Status EditRunPending(Watcher*, const std::string&, const std::string&, const RunEdit&) {
  return Status::IOError("edits are not built yet");
}

}  // namespace

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Dashboard::Dashboard(std::unique_ptr<Watcher> watcher, ServeOptions options)
    : options_(std::move(options)),
      loopback_(IsLoopbackHost(options_.host)),
      http_(std::make_unique<httplib::Server>()),
      watcher_(std::move(watcher)),
      table_(watcher_.get()) {
  if (options_.token.empty()) {
    unsigned char bytes[32];
    size_t got = 0;
    while (got < sizeof(bytes)) {
      const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
      if (n > 0) got += static_cast<size_t>(n);
    }
    static const char kHex[] = "0123456789abcdef";
    for (unsigned char b : bytes) {
      options_.token += kHex[b >> 4];
      options_.token += kHex[b & 15];
    }
    options_.token_generated = true;
  }
  sequence_ = watcher_->sequence();
  Route();
}

Dashboard::~Dashboard() {
  Stop();
  if (loader_.joinable()) loader_.join();
}

Status Dashboard::WarmUp(bool progress) {
  std::lock_guard<std::mutex> lock(engine_);
  Status s = table_.Refresh();
  if (!s.ok()) return s;
  // The columns a first view needs (the default sort, status), and the
  // params and metrics of the newest runs: the fields filters and sorts
  // name most.
  std::vector<std::string> fields = {"progress.start", "status", "exp_name", "test_name"};
  Query newest;
  newest.limit = 200;
  ReadOptions options;
  options.columns = {"params", "metrics"};
  std::set<std::string> seen;
  s = watcher_->read(newest, options, [&](const RunRow& row) {
    for (size_t i = 0; i < 2; ++i) {
      const FieldValue v = row.column(i);
      if (v.type != FieldValue::Type::kJson) continue;
      nlohmann::json j = nlohmann::json::parse(v.text, nullptr, false);
      if (!j.is_object()) continue;
      for (auto it = j.begin(); it != j.end() && seen.size() < kMaxFields; ++it) {
        if (!it->is_object() && !it->is_array()) seen.insert((i == 0 ? "params." : "metrics.") + it.key());
      }
    }
    return Status::OK();
  });
  if (!s.ok()) return s;
  fields.insert(fields.end(), seen.begin(), seen.end());
  if (progress) {
    std::cerr << "lumo-db serve: reading " << fields.size() << " columns of "
              << table_.size() << " runs\n";
  }
  s = table_.Preload(fields);
  if (!s.ok()) return s;
  // The first view's order (start time, newest first), made now.
  TablePage first;
  return table_.Page(TableRequest(), &first);
}

Status Dashboard::Bind(int* port) {
  http_->set_payload_max_length(kMaxBody);
  http_->set_read_timeout(10, 0);
  http_->set_write_timeout(10, 0);
  http_->new_task_queue = [] { return new httplib::ThreadPool(kMaxWaiters + 16); };
  if (options_.port == 0) {
    *port = http_->bind_to_any_port(options_.host);
    if (*port < 0) {
      return Status::IOError("cannot listen on " + options_.host + " (any port)");
    }
  } else {
    if (!http_->bind_to_port(options_.host, options_.port)) {
      return Status::IOError("cannot listen on " + options_.host + ":" +
                             std::to_string(options_.port) +
                             " (in use, or not an address of this machine); choose "
                             "another with --port");
    }
    *port = options_.port;
  }
  return Status::OK();
}

Status Dashboard::Serve() {
  loader_ = std::thread([this] { LoaderLoop(); });
  const bool ok = http_->listen_after_bind();
  Stop();
  if (loader_.joinable()) loader_.join();
  return ok ? Status::OK() : Status::IOError("the HTTP server stopped with an error");
}

void Dashboard::Stop() {
  {
    std::lock_guard<std::mutex> lock(seq_mu_);
    stopping_ = true;
  }
  seq_cv_.notify_all();
  http_->stop();
}

void Dashboard::LoaderLoop() {
  std::string last_error;
  uint64_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(seq_mu_);
    seen = sequence_;
  }
  for (;;) {
    uint64_t now = seen;
    {
      std::lock_guard<std::mutex> lock(engine_);
      Status s = watcher_->load();
      now = watcher_->sequence();
      if (s.ok() && now != seen) s = table_.Refresh();
      if (!s.ok() && s.ToString() != last_error) {
        last_error = s.ToString();
        Warn("serve: " + last_error);
      } else if (s.ok()) {
        last_error.clear();
      }
    }
    std::unique_lock<std::mutex> lock(seq_mu_);
    if (now != sequence_) {
      sequence_ = now;
      seq_cv_.notify_all();
    }
    seen = now;
    if (seq_cv_.wait_for(lock, std::chrono::milliseconds(options_.load_interval_ms),
                         [this] { return stopping_; })) {
      return;
    }
  }
}

std::string Dashboard::SequenceText() { return std::to_string(watcher_->sequence()); }

bool Dashboard::HasToken(const httplib::Request& req) const {
  const std::string& t = options_.token;
  if (EqualConstantTime(req.get_header_value("X-Lumodb-Token"), t)) return true;
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0 && EqualConstantTime(auth.substr(7), t)) return true;
  if (EqualConstantTime(CookieValue(req.get_header_value("Cookie"), "lumodb_token"), t)) {
    return true;
  }
  return req.path == "/" && req.method == "GET" &&
         EqualConstantTime(req.get_param_value("token"), t);
}

bool Dashboard::Refuse(const httplib::Request& req, httplib::Response& res) {
  if (req.method != "GET" && req.method != "POST" && req.method != "HEAD") {
    SendError(res, 405, "method " + req.method + " is not served here");
    return true;
  }
  const std::string host = req.get_header_value("Host");
  if (loopback_ && !IsLoopbackHost(HostPart(host))) {
    // A page of another site that resolved its name to 127.0.0.1 (DNS
    // rebinding) must not read the runs.
    SendError(res, 403, "Host '" + host + "' is not a loopback address of this server");
    return true;
  }
  if (!loopback_ && !HasToken(req)) {
    SendError(res, 401,
              "a token is required outside loopback: open the address lumo-db serve printed "
              "(with ?token=), or send X-Lumodb-Token");
    return true;
  }
  if (req.method == "POST") {
    if (req.get_header_value("Origin") != "http://" + host) {
      SendError(res, 403, "Origin '" + req.get_header_value("Origin") +
                              "' is not this server (http://" + host + ")");
      return true;
    }
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      SendError(res, 403, "an edit is a POST with Content-Type: application/json");
      return true;
    }
    if (!EqualConstantTime(req.get_header_value("X-Lumodb-Token"), options_.token)) {
      SendError(res, 401, "an edit needs the page's token in X-Lumodb-Token");
      return true;
    }
  }
  return false;
}

void Dashboard::Route() {
  http_->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!Refuse(req, res)) return httplib::Server::HandlerResponse::Unhandled;
    // A refused request's body is never read: the connection cannot carry
    // another request after it.
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      res.set_header("Connection", "close");
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  http_->set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                   "data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                   "frame-ancestors 'none'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    if (req.path.rfind("/api/", 0) == 0) res.set_header("Cache-Control", "no-store");
  });
  http_->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "internal error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = std::string("internal error: ") + e.what();
        } catch (...) {
        }
        SendError(res, 500, what);
      });
  http_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      SendError(res, res.status,
                res.status == 404 ? "no such path: " + req.path
                                  : "request refused (HTTP " + std::to_string(res.status) + ")");
    }
  });
  auto bind = [this](Handler h) {
    return [this, h](const httplib::Request& req, httplib::Response& res) { (this->*h)(req, res); };
  };
  for (size_t i = 0; i < web::kAssetCount; ++i) {
    if (std::string(web::kAssets[i].path) == "/") continue;
    const web::Asset* a = &web::kAssets[i];
    http_->Get(a->path, [a](const httplib::Request&, httplib::Response& res) {
      res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
      res.set_header("Cache-Control", "no-cache");
    });
  }
  http_->Get("/", bind(&Dashboard::Page));
  http_->Get("/api/runs", bind(&Dashboard::Runs));
  http_->Get("/api/columns", bind(&Dashboard::Columns));
  http_->Get("/api/run", bind(&Dashboard::Run));
  http_->Get("/api/metrics", bind(&Dashboard::Metrics));
  http_->Get("/api/lineage", bind(&Dashboard::Lineage));
  http_->Get("/api/diff", bind(&Dashboard::Diff));
  http_->Get("/api/rerun", bind(&Dashboard::Rerun));
  http_->Get("/api/wait", bind(&Dashboard::Wait));
  http_->Post("/api/edit", bind(&Dashboard::Edit));
}

void Dashboard::Page(const httplib::Request& req, httplib::Response& res) {
  const web::Asset* page = nullptr;
  for (size_t i = 0; i < web::kAssetCount; ++i) {
    if (std::string(web::kAssets[i].path) == "/") page = &web::kAssets[i];
  }
  std::string html(reinterpret_cast<const char*>(page->data), page->size);
  const std::string mark = "{{LUMODB_TOKEN}}";
  for (size_t at = html.find(mark); at != std::string::npos; at = html.find(mark, at)) {
    html.replace(at, mark.size(), options_.token);
  }
  if (!loopback_ && req.has_param("token")) {
    res.set_header("Set-Cookie",
                   "lumodb_token=" + options_.token + "; Path=/; HttpOnly; SameSite=Strict");
  }
  res.set_header("Cache-Control", "no-store");
  res.set_content(html, page->content_type);
}

void Dashboard::Runs(const httplib::Request& req, httplib::Response& res) {
  TableRequest request;
  Status s = TableParams(req, &request);
  if (s.ok()) s = SizeParam(req, "offset", 0, 0, 1000000000, &request.offset);
  if (s.ok()) s = SizeParam(req, "limit", kDefaultPageRows, 1, kMaxPageRows, &request.limit);
  if (!s.ok()) return SendStatus(res, s);
  TablePage page;
  std::map<std::string, std::string> texts;
  std::string sequence;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = table_.Page(request, &page);
    if (s.ok() && !page.runs.empty()) {
      Query q;
      q.runs = page.runs;
      q.sort_field = "exp_name";
      s = watcher_->read(q, ReadOptions(), [&texts](const RunRow& row) {
        texts[RunKey(row.exp_name(), row.test_name())] = std::string(row.json());
        return Status::OK();
      });
    }
    sequence = SequenceText();
  }
  if (!s.ok()) return SendStatus(res, s);
  // The answer is written as text: the runs' JSON goes out as the index
  // made it, parsed only when it may hold a string to cut.
  nlohmann::json head = {{"sequence", sequence},
                         {"total", page.total},
                         {"offset", request.offset},
                         {"limit", request.limit}};
  if (request.group) {
    nlohmann::json groups = nlohmann::json::array();
    for (const TableGroup& g : page.groups) {
      groups.push_back({{"exp_name", g.exp_name}, {"count", g.count}});
    }
    head["groups"] = std::move(groups);
  }
  std::string body = head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  body.pop_back();  // the closing brace
  body += ",\"runs\":[";
  bool first = true;
  for (const RunName& r : page.runs) {
    auto it = texts.find(RunKey(r.exp_name, r.test_name));
    if (it == texts.end()) continue;  // removed since the table was made
    if (!first) body += ',';
    first = false;
    if (it->second.size() <= kMaxCellChars) {
      body += it->second;
      continue;
    }
    nlohmann::json run = nlohmann::json::parse(it->second, nullptr, false);
    CutStrings(&run, kMaxCellChars);
    body += run.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  body += "]}";
  res.set_content(std::move(body), kJson);
}

void Dashboard::Columns(const httplib::Request& req, httplib::Response& res) {
  TableRequest request;
  size_t limit = 0;
  Status s = TableParams(req, &request);
  if (s.ok()) s = SizeParam(req, "limit", 5000, 1, kMaxValueRows, &limit);
  std::vector<std::string> fields = SplitList(req.get_param_value("columns"));
  if (s.ok() && (fields.empty() || fields.size() > kMaxFields)) {
    s = Status::InvalidArgument("parameter columns: name 1 to " + std::to_string(kMaxFields) +
                                " fields, comma-separated");
  }
  for (size_t i = 0; s.ok() && i < fields.size(); ++i) s = CheckField("columns", fields[i]);
  if (!s.ok()) return SendStatus(res, s);
  size_t total = 0;
  std::vector<nlohmann::json> rows;
  std::string sequence;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = table_.Values(request, fields, limit, &total, &rows);
    sequence = SequenceText();
  }
  if (!s.ok()) return SendStatus(res, s);
  for (nlohmann::json& row : rows) CutStrings(&row, kMaxCellChars);
  SendJson(res, 200,
           {{"sequence", sequence}, {"total", total}, {"columns", fields}, {"rows", rows}});
}

void Dashboard::Run(const httplib::Request& req, httplib::Response& res) {
  const std::string test = req.get_param_value("test");
  if (test.empty()) return SendError(res, 400, "parameter test: name a run's test_name");
  std::string json, sequence;
  std::vector<std::string> candidates;
  Status s;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = watcher_->retrieve(test, req.get_param_value("exp"), &json, &candidates);
    sequence = SequenceText();
  }
  if (!s.ok()) return SendStatus(res, s);
  nlohmann::json run = nlohmann::json::parse(json, nullptr, false);
  SendJson(res, 200, {{"sequence", sequence}, {"run", run}});
}

void Dashboard::Metrics(const httplib::Request& req, httplib::Response& res) {
  SeriesRequest request;
  for (const std::string& r : SplitList(req.get_param_value("runs"))) {
    const RunName name = RunOf(r);
    request.runs.emplace_back(name.exp_name, name.test_name);
  }
  if (request.runs.empty() || request.runs.size() > kMaxSeriesRuns) {
    return SendError(res, 400, "parameter runs: name 1 to " + std::to_string(kMaxSeriesRuns) +
                                   " runs, comma-separated (exp_name/test_name or test_name)");
  }
  request.keys = SplitList(req.get_param_value("keys"));
  Status s = SizeParam(req, "points", 400, 4, 5000, &request.points);
  if (!s.ok()) return SendStatus(res, s);
  std::vector<MetricSeries> series;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = watcher_->metric_series(request, &series);
  }
  if (!s.ok()) return SendStatus(res, s);
  nlohmann::json out = nlohmann::json::array();
  for (const MetricSeries& m : series) {
    out.push_back({{"exp_name", m.exp_name},
                   {"test_name", m.test_name},
                   {"key", m.key},
                   {"steps", m.steps},
                   {"values", m.values},
                   {"downsampled", m.downsampled},
                   {"total_points", m.total_points}});
  }
  SendJson(res, 200, {{"series", out}});
}

void Dashboard::Lineage(const httplib::Request& req, httplib::Response& res) {
  const std::string test = req.get_param_value("test");
  if (test.empty()) return SendError(res, 400, "parameter test: name a run's test_name");
  RerunNode root;
  Status s;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = RerunLineage(*watcher_, test, req.get_param_value("exp"), &root);
  }
  if (!s.ok()) return SendStatus(res, s);
  SendJson(res, 200, {{"tree", LineageJson(root)}});
}

void Dashboard::Diff(const httplib::Request& req, httplib::Response& res) {
  // Old side a, new side b; without b, a is the new side and its rerun
  // parent (rerun.from) the old one.
  std::string old_name = req.get_param_value("a");
  std::string new_name = req.get_param_value("b");
  const std::string exp = req.get_param_value("exp");
  if (old_name.empty()) return SendError(res, 400, "parameter a: name a run's test_name");
  std::string old_json, new_json;
  Status s;
  {
    std::lock_guard<std::mutex> lock(engine_);
    if (new_name.empty()) {
      new_name = old_name;
      s = watcher_->retrieve(new_name, exp, &new_json, nullptr);
      const nlohmann::json run = nlohmann::json::parse(new_json, nullptr, false);
      const nlohmann::json* from = nullptr;
      if (s.ok() && run.is_object() && run.contains("rerun") && run["rerun"].is_object() &&
          run["rerun"].contains("from") && run["rerun"]["from"].is_string()) {
        from = &run["rerun"]["from"];
      }
      if (s.ok() && from == nullptr) {
        s = Status::InvalidArgument("run " + new_name +
                                    " is no rerun: name the run to compare with in b");
      }
      if (s.ok()) {
        old_name = from->get<std::string>();
        s = watcher_->retrieve(old_name, "", &old_json, nullptr);
      }
    } else {
      s = watcher_->retrieve(old_name, exp, &old_json, nullptr);
      if (s.ok()) s = watcher_->retrieve(new_name, exp, &new_json, nullptr);
    }
  }
  CodeSnapshot from, to;
  if (s.ok()) s = ResolveCodeSnapshot(old_json, "", &from);
  if (s.ok()) s = ResolveCodeSnapshot(new_json, "", &to);
  CodeDiff diff;
  if (s.ok()) s = DiffCode(from, to, false, &diff);
  if (!s.ok()) return SendStatus(res, s);
  const bool truncated = diff.text.size() > kMaxDiffBytes;
  if (truncated) diff.text.resize(kMaxDiffBytes);
  SendJson(res, 200, {{"a", old_name},
                      {"b", new_name},
                      {"text", diff.text},
                      {"files", diff.files},
                      {"truncated", truncated}});
}

void Dashboard::Rerun(const httplib::Request& req, httplib::Response& res) {
  const std::string test = req.get_param_value("test");
  if (test.empty()) return SendError(res, 400, "parameter test: name a run's test_name");
  RerunOptions options;
  options.exp_name = req.get_param_value("exp");
  RerunCommand command;
  Status s;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = PlanRerun(*watcher_, test, options, &command);
  }
  if (!s.ok()) return SendStatus(res, s);
  SendJson(res, 200, {{"command", "lumo-db rerun " + test},
                      {"shell", command.ShellLine()},
                      {"cwd", command.cwd},
                      {"cwd_missing", command.cwd_missing}});
}

void Dashboard::Wait(const httplib::Request& req, httplib::Response& res) {
  size_t timeout = 0;
  Status s = SizeParam(req, "timeout", 20, 1, 30, &timeout);
  if (!s.ok()) return SendStatus(res, s);
  const std::string seen = req.get_param_value("seq");
  std::unique_lock<std::mutex> lock(seq_mu_);
  if (waiters_ >= kMaxWaiters) {
    return SendError(res, 503, "too many live pages are waiting; try again in a second");
  }
  waiters_++;
  seq_cv_.wait_for(lock, std::chrono::seconds(timeout),
                   [&] { return stopping_ || std::to_string(sequence_) != seen; });
  waiters_--;
  SendJson(res, 200, {{"sequence", std::to_string(sequence_)}});
}

void Dashboard::Edit(const httplib::Request& req, httplib::Response& res) {
  const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (!body.is_object()) return SendError(res, 400, "the body is not a JSON object");
  auto text = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string test = text("test_name");
  const std::string exp = text("exp_name");
  if (test.empty()) return SendError(res, 400, "test_name: name the run to edit");
  RunEdit edit;
  if (body.contains("note")) {
    if (!body["note"].is_string()) return SendError(res, 400, "note: not a string");
    edit.set_note = true;
    edit.note = body["note"].get<std::string>();
    if (edit.note.size() > kMaxNoteBytes) {
      return SendError(res, 400, "note: longer than 64 KiB");
    }
  }
  if (body.contains("tags")) {
    if (!body["tags"].is_array()) return SendError(res, 400, "tags: not a list of strings");
    edit.set_tags = true;
    for (const auto& t : body["tags"]) {
      if (!t.is_string()) return SendError(res, 400, "tags: not a list of strings");
      edit.tags.push_back(t.get<std::string>());
    }
  }
  if (!edit.set_note && !edit.set_tags) {
    return SendError(res, 400, "nothing to change: give note or tags");
  }
  std::string json, sequence;
  Status s;
  {
    std::lock_guard<std::mutex> lock(engine_);
    s = EditRunPending(watcher_.get(), test, exp, edit);
    if (s.ok()) s = watcher_->retrieve(test, exp, &json, nullptr);
    if (s.ok()) s = table_.Refresh();
    sequence = SequenceText();
  }
  if (!s.ok()) return SendStatus(res, s);
  {
    std::lock_guard<std::mutex> lock(seq_mu_);
    uint64_t now = 0;
    std::from_chars(sequence.data(), sequence.data() + sequence.size(), now);
    if (now != sequence_) {
      sequence_ = now;
      seq_cv_.notify_all();
    }
  }
  SendJson(res, 200, {{"sequence", sequence}, {"run", nlohmann::json::parse(json, nullptr, false)}});
}

}  // namespace lumodb::cli

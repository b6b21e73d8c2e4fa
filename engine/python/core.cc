// lumodb._core: the engine for Python. Thin: each method converts its
// arguments, releases the GIL, calls the engine and converts the result.
// The Python package (engine/python/lumodb/) gives it lumo's API.
//
// Reads run the engine on a thread of its own (RowPipe) while this one
// builds Python objects from the engine's JSON text (JsonToPython) and
// shapes them as lumo's Watcher rows (LumoRows), column by column, so that
// a DataFrame of 100,000 runs is made without a per-row pass in Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "json_to_python.h"
#include "lumo_rows.h"
#include "lumodb/lumodb.h"
#include "lumodb/version.h"
#include "row_pipe.h"
#include "typed_columns.h"

namespace py = pybind11;

namespace lumodb::python {
namespace {

// ---------------------------------------------------------------------------
// Errors: a Status becomes the Python exception a user expects.

[[noreturn]] void Raise(const Status& s) {
  const std::string text = s.ToString();
  switch (s.code()) {
    case Status::Code::kNotFound:
      throw py::key_error(text);
    case Status::Code::kInvalidArgument:
      throw py::value_error(text);
    default:
      throw std::runtime_error(text);
  }
}

void Check(const Status& s) {
  if (!s.ok()) Raise(s);
}

// While a read builds millions of dicts and lists, the cyclic garbage
// collector would scan them again and again (none of them is garbage):
// it is paused for the read, as it was found.
class GcPause {
 public:
  GcPause() : was_enabled_(PyGC_Disable() == 1) {}
  ~GcPause() {
    if (was_enabled_) PyGC_Enable();
  }
  GcPause(const GcPause&) = delete;
  GcPause& operator=(const GcPause&) = delete;

 private:
  bool was_enabled_;
};

// ---------------------------------------------------------------------------
// Roots from a Python dict (None: lumo's configuration files).

Roots RootsFrom(const py::object& obj) {
  Roots roots;
  if (obj.is_none()) {
    Check(Roots::FromLumoConfig(&roots));
    return roots;
  }
  py::dict d = obj.cast<py::dict>();
  auto get = [&](const char* key, std::string* out) {
    if (d.contains(key) && !d[key].is_none()) *out = py::str(d[key]);
  };
  Status s = Roots::FromLumoConfig(&roots);
  if (!s.ok()) roots = Roots();
  get("home", &roots.home);
  get("info_root", &roots.info_root);
  get("blob_root", &roots.blob_root);
  get("cache_root", &roots.cache_root);
  get("timezone", &roots.timezone);
  get("dev_branch", &roots.dev_branch);
  const char* home = std::getenv("HOME");
  roots.FillDefaults(home != nullptr ? home : "/");
  return roots;
}

py::dict RootsDict(const Roots& r) {
  py::dict d;
  d["home"] = r.home;
  d["info_root"] = r.info_root;
  d["blob_root"] = r.blob_root;
  d["cache_root"] = r.cache_root;
  d["timezone"] = r.timezone;
  d["dev_branch"] = r.dev_branch;
  return d;
}

Cmp CmpFrom(int cmp) {
  if (cmp == 1) return Cmp::Max;
  if (cmp == 2) return Cmp::Min;
  return Cmp::None;
}

// ---------------------------------------------------------------------------
// Hooks written in Python: the package's dispatcher is called with the
// stage and its arguments, under the GIL. A Python exception becomes a
// C++ exception, which the engine records as a HookError.

class PyHook : public ExpHook {
 public:
  PyHook(std::string name, py::object dispatch) : name_(std::move(name)), dispatch_(std::move(dispatch)) {}
  ~PyHook() override {
    py::gil_scoped_acquire gil;
    dispatch_ = py::object();
  }
  std::string name() const override { return name_; }
  void on_start(Experiment&) override { Call("on_start", py::none()); }
  void on_progress(Experiment&, double ratio) override { Call("on_progress", ratio); }
  void on_end(Experiment&, int code) override { Call("on_end", code); }
  void on_exception(Experiment&, const std::string& type, const std::string& content) override {
    Call("on_exception", py::make_tuple(type, content));
  }

 private:
  template <typename Arg>
  void Call(const char* stage, Arg arg) {
    py::gil_scoped_acquire gil;
    try {
      dispatch_(stage, arg);
    } catch (py::error_already_set& e) {
      throw std::runtime_error(e.what());
    }
  }
  std::string name_;
  py::object dispatch_;
};

// ---------------------------------------------------------------------------

class PyExperiment {
 public:
  PyExperiment(const std::string& exp_name, const py::object& roots, const py::object& test_name,
               bool default_hooks, bool git_snapshot) {
    ExperimentOptions options;
    options.default_hooks = default_hooks;
    options.git_snapshot = git_snapshot;
    if (!test_name.is_none()) options.test_name = py::str(test_name);
    Roots r = RootsFrom(roots);
    exp_ = std::make_unique<Experiment>(exp_name, r, options);
    Check(exp_->status());
  }

  void Start() { Call([&] { return exp_->start(); }); }
  void End(int code) { Call([&] { return exp_->end(code); }); }
  void DumpInfo(const std::string& key, const std::string& json) {
    Call([&] { return exp_->dump_info(key, json); });
  }
  void DumpString(const std::string& key, const std::string& text) {
    Call([&] { return exp_->dump_string(key, text); });
  }
  void DumpNote(const std::string& text) { Call([&] { return exp_->dump_note(text); }); }
  void DumpTags(const std::vector<std::string>& tags) { Call([&] { return exp_->dump_tags(tags); }); }
  // The per-step call: the GIL stays held (an append to memory, which never
  // waits for the journal's I/O), and the key's text is kept per key object.
  double DumpMetric(const py::str& key, double value, int cmp, const py::object& extras,
                    const py::object& step) {
    int64_t s = step.is_none() ? kAutoStep : step.cast<int64_t>();
    const std::string& k = KeyText(key);
    double best;
    if (extras.is_none()) {
      best = exp_->dump_metric(k, value, CmpFrom(cmp), empty_, s);
    } else {
      best = exp_->dump_metric(k, value, CmpFrom(cmp), extras.cast<std::string>(), s);
      Status e = exp_->last_error();
      if (!e.ok()) Raise(e);
    }
    if (!exp_->started()) {
      Status e = exp_->last_error();
      if (!e.ok()) Raise(e);
    }
    return best;
  }
  // The common call: no extras, the automatic step.
  double DumpMetricFast(const py::str& key, double value, int cmp) {
    double best = exp_->dump_metric(KeyText(key), value, CmpFrom(cmp), empty_, kAutoStep);
    if (!exp_->started()) {
      Status e = exp_->last_error();
      if (!e.ok()) Raise(e);
    }
    return best;
  }
  std::map<std::string, double> DumpMetrics(const std::map<std::string, double>& values, int cmp,
                                            const py::object& step) {
    int64_t s = step.is_none() ? kAutoStep : step.cast<int64_t>();
    py::gil_scoped_release nogil;
    return exp_->dump_metrics(values, CmpFrom(cmp), s);
  }
  void DumpProgress(double ratio) { Call([&] { return exp_->dump_progress(ratio); }); }
  void DumpException(const std::string& type, const std::string& content) {
    Call([&] { return exp_->dump_exception(type, content); });
  }
  void Flush(bool durable) { Call([&] { return exp_->flush(durable); }); }
  std::string Properties() const { return exp_->properties(); }
  std::string TestName() const { return exp_->test_name(); }
  std::string ExpName() const { return exp_->exp_name(); }
  std::string InfoDir() { return Dir([&] { return exp_->info_dir(); }); }
  std::string BlobDir() { return Dir([&] { return exp_->blob_dir(); }); }
  std::string CacheDir() { return Dir([&] { return exp_->cache_dir(); }); }
  py::dict RootsOf() const { return RootsDict(exp_->roots()); }
  bool Started() const { return exp_->started(); }
  bool Ended() const { return exp_->ended(); }
  void AddBuiltinHook(const std::string& name) {
    if (name == "RecordAbort") {
      exp_->add_hook(std::make_shared<RecordAbort>());
    } else if (name == "LastCmd") {
      exp_->add_hook(std::make_shared<LastCmd>());
    } else if (name == "LockFile") {
      exp_->add_hook(std::make_shared<LockFile>());
    } else if (name == "GitCommit") {
      exp_->add_hook(std::make_shared<GitCommit>());
    } else {
      throw py::value_error("no built-in hook named " + name +
                            " (RecordAbort, LastCmd, LockFile, GitCommit)");
    }
  }
  void AddHook(const std::string& name, py::object dispatch) {
    exp_->add_hook(std::make_shared<PyHook>(name, std::move(dispatch)));
  }

 private:
  template <typename F>
  void Call(F&& f) {
    Status s;
    {
      py::gil_scoped_release nogil;
      s = f();
    }
    Check(s);
  }
  template <typename F>
  std::string Dir(F&& f) {
    std::string d = f();
    if (d.empty()) Check(exp_->status().ok() ? Status::IllegalState("no test_name yet") : exp_->status());
    return d;
  }
  const std::string& KeyText(const py::str& key) {
    for (auto& [obj, text] : keys_) {
      if (obj.ptr() == key.ptr()) return text;
    }
    // Up to 64 keys are kept (their objects held, so an address is never
    // another string's); more are converted at each call.
    if (keys_.size() < 64) {
      keys_.emplace_back(key, key.cast<std::string>());
      return keys_.back().second;
    }
    scratch_ = key.cast<std::string>();
    return scratch_;
  }

  std::unique_ptr<Experiment> exp_;
  std::deque<std::pair<py::object, std::string>> keys_;
  std::string scratch_;
  const std::string empty_;
};

// ---------------------------------------------------------------------------

Query QueryFrom(const std::vector<std::string>& filters, const std::string& exp_name,
                const std::string& status, const std::string& sort, size_t limit, size_t offset) {
  Query q;
  for (const auto& f : filters) {
    Filter parsed;
    Check(Filter::Parse(f, &parsed));
    q.filters.push_back(parsed);
  }
  q.exp_name = exp_name;
  q.status = status;
  if (sort.empty()) {
    q.sort_field = "exp_name";
  } else if (sort[0] == '-') {
    q.sort_field = sort.substr(1);
    q.descending = true;
  } else {
    q.sort_field = sort[0] == '+' ? sort.substr(1) : sort;
  }
  q.limit = limit;
  q.offset = offset;
  return q;
}

void IgnoreWarning(const std::string&) {}
void WarnToStderr(const std::string& m) { std::fprintf(stderr, "lumodb: %s\n", m.c_str()); }

class PyWatcher {
 public:
  PyWatcher(const py::object& roots, const std::string& db_path, bool read_only, bool quiet) {
    Roots r = RootsFrom(roots);
    WatcherOptions options;
    options.db_path = db_path;
    options.read_only = read_only;
    options.lazy_writer = true;
    options.release_writer = true;
    options.warn = quiet ? IgnoreWarning : WarnToStderr;
    Status s;
    {
      py::gil_scoped_release nogil;
      s = Watcher::Open(r, options, &w_);
    }
    Check(s);
    roots_ = r;
  }

  py::dict Load() {
    LoadStats st;
    Check(Engine([&] { return w_->load(&st); }));
    py::dict d;
    d["markers"] = st.markers;
    d["runs_read"] = st.runs_read;
    d["records_applied"] = st.records_applied;
    d["runs_killed"] = st.runs_killed;
    d["corrupt_records"] = st.corrupt_records;
    return d;
  }

  void Import(const std::vector<std::string>& paths) {
    ImportReport report;
    Check(Engine([&] { return w_->import_lumo(paths, "", &report); }));
  }

  // lumo's frame of the runs a query selects: (columns, cells), cells an
  // object array of columns x rows.
  // meanwhile (when not None) is called once the engine has begun reading:
  // the caller's own slow start (importing pandas) overlaps the read.
  py::tuple LumoFrame(const std::vector<std::string>& filters, const std::string& exp_name,
                      const std::string& status, const std::string& sort, size_t limit,
                      const py::object& meanwhile) {
    Query q = QueryFrom(filters, exp_name, status, sort, limit, 0);
    ReadOptions ro;
    ro.raw = true;
    GcPause pause;
    LumoRows rows;
    Stream(q, ro, AppendJson, meanwhile, [&](std::string_view json) { rows.Add(json); });
    return rows.Take();
  }

  // The same for named runs (exp_name, test_name), in the order given.
  py::tuple LumoFrameOf(const std::vector<std::pair<std::string, std::string>>& runs) {
    GcPause pause;
    LumoRows rows;
    std::string json;
    for (const auto& [exp, test] : runs) {
      Status s = Engine([&] { return w_->retrieve(test, exp, &json, nullptr, true); });
      if (s.IsNotFound()) continue;
      Check(s);
      rows.Add(json);
    }
    return rows.Take();
  }

  // Engine rows: whole runs (dicts) or the columns asked for.
  py::list Rows(const std::vector<std::string>& filters, const std::string& exp_name,
                const std::string& status, const std::string& sort, size_t limit, size_t offset,
                const std::vector<std::string>& columns, bool raw) {
    Query q = QueryFrom(filters, exp_name, status, sort, limit, offset);
    ReadOptions ro;
    ro.columns = columns;
    ro.raw = raw;
    GcPause pause;
    JsonToPython parser;
    py::list out;
    Stream(q, ro, AppendJson, py::none(),
           [&](std::string_view json) { out.append(parser.Parse(json)); });
    return out;
  }

  // Named columns of the runs a query selects, typed: (columns, {column:
  // cells}), exp_name and test_name first unless asked for.
  py::tuple Table(const std::vector<std::string>& filters, const std::string& exp_name,
                  const std::string& status, const std::string& sort, size_t limit, size_t offset,
                  const std::vector<std::string>& columns, const py::object& meanwhile) {
    Query q = QueryFrom(filters, exp_name, status, sort, limit, offset);
    ReadOptions ro;
    ro.columns = columns;
    const bool want_exp =
        std::find(columns.begin(), columns.end(), "exp_name") == columns.end();
    const bool want_test =
        std::find(columns.begin(), columns.end(), "test_name") == columns.end();
    GcPause pause;
    TypedColumns table(columns.size() + want_exp + want_test);
    const size_t n = columns.size();
    auto encode = [n, want_exp, want_test](const RunRow& row, std::string* out) {
      if (want_exp) TypedColumns::Encode(FieldValue{FieldValue::Type::kString, false, 0, 0,
                                                    row.exp_name()}, out);
      if (want_test) TypedColumns::Encode(FieldValue{FieldValue::Type::kString, false, 0, 0,
                                                     row.test_name()}, out);
      for (size_t i = 0; i < n; ++i) TypedColumns::Encode(row.column(i), out);
    };
    Stream(q, ro, encode, meanwhile, [&](std::string_view row) { table.Add(row); });
    py::list order;
    if (want_exp) order.append("exp_name");
    if (want_test) order.append("test_name");
    for (const auto& c : columns) order.append(c);
    return py::make_tuple(order, table.Take(order));
  }

  py::object Retrieve(const std::string& test_name, const std::string& exp_name, bool raw) {
    std::string json;
    std::vector<std::string> candidates;
    Status s = Engine([&] { return w_->retrieve(test_name, exp_name, &json, &candidates, raw); });
    if (s.IsNotFound()) return py::none();
    Check(s);
    JsonToPython parser;
    return parser.Parse(json);
  }

  py::tuple Changed(int64_t after) {
    std::vector<RunName> runs;
    int64_t latest = after;
    Check(Engine([&] { return w_->changed_runs(after, &runs, &latest); }));
    py::list out;
    for (const auto& r : runs) out.append(py::make_tuple(r.exp_name, r.test_name));
    return py::make_tuple(out, latest);
  }

  py::list Series(const std::vector<std::pair<std::string, std::string>>& runs,
                  const std::vector<std::string>& keys, size_t points) {
    SeriesRequest req;
    req.runs = runs;
    req.keys = keys;
    req.points = points;
    std::vector<MetricSeries> out;
    Check(Engine([&] { return w_->metric_series(req, &out); }));
    py::list result;
    for (auto& m : out) {
      py::dict d;
      d["exp_name"] = m.exp_name;
      d["test_name"] = m.test_name;
      d["key"] = m.key;
      d["step"] = m.steps;
      d["time_us"] = m.times_us;
      d["value"] = m.values;
      d["downsampled"] = m.downsampled;
      d["total_points"] = m.total_points;
      result.append(d);
    }
    return result;
  }

  uint64_t Sequence() {
    uint64_t seq = 0;
    Engine([&] {
      seq = w_->sequence();
      return Status::OK();
    });
    return seq;
  }
  std::string DbPath() const { return w_->db_path(); }
  py::dict RootsOf() const { return RootsDict(roots_); }

 private:
  static void AppendJson(const RunRow& row, std::string* out) { row.AppendJson(out); }

  // Calls f on the engine with the GIL released and the engine to itself:
  // Python threads may share a Watcher, the engine's Watcher is one
  // thread's at a time. The GIL goes first, so that a thread holding the
  // engine never waits for a thread holding the GIL.
  template <typename F>
  Status Engine(F&& f) {
    py::gil_scoped_release nogil;
    std::lock_guard<std::mutex> lock(engine_);
    return f();
  }

  // A read through a RowPipe: take(row bytes) runs here, under the GIL,
  // while the engine reads the next rows on its own thread; meanwhile()
  // first, when given, while the engine reads ahead.
  template <typename Take>
  void Stream(const Query& q, const ReadOptions& ro, RowPipe::Encode encode,
              const py::object& meanwhile, Take&& take) {
    std::unique_lock<std::mutex> lock(engine_, std::defer_lock);
    {
      py::gil_scoped_release nogil;
      lock.lock();
    }
    RowPipe pipe(w_.get(), q, ro, std::move(encode));
    if (!meanwhile.is_none()) meanwhile();
    std::string bytes;
    while (true) {
      bool more = false;
      {
        py::gil_scoped_release nogil;
        more = pipe.Next(&bytes);
      }
      if (!more) break;
      RowChunk chunk(std::move(bytes));
      std::string_view row;
      while (chunk.Next(&row)) take(row);
      pipe.Recycle(chunk.Release());
    }
    Status s;
    {
      py::gil_scoped_release nogil;
      s = pipe.Finish();
    }
    Check(s);
  }

  std::unique_ptr<Watcher> w_;
  std::mutex engine_;
  Roots roots_;
};

}  // namespace
}  // namespace lumodb::python

PYBIND11_MODULE(_core, m) {
  using namespace lumodb::python;
  m.doc() = "lumo-db's engine for Python (use the lumodb package, not this module)";
  m.attr("version") = LUMODB_VERSION;
  m.def("parse_json", [](const std::string& text) { return JsonToPython().Parse(text); },
        "JSON text to Python objects, as reads make them");
  m.def("noop", []() {}, "An empty call: the baseline of the per-call benchmarks");
  py::list lumo_columns;
  for (const char* c : kLumoColumns) lumo_columns.append(c);
  m.attr("lumo_columns") = lumo_columns;

  py::class_<PyExperiment>(m, "Experiment")
      .def(py::init<const std::string&, const py::object&, const py::object&, bool, bool>(),
           py::arg("exp_name"), py::arg("roots") = py::none(), py::arg("test_name") = py::none(),
           py::arg("default_hooks") = true, py::arg("git_snapshot") = true)
      .def("start", &PyExperiment::Start)
      .def("end", &PyExperiment::End, py::arg("code") = 0)
      .def("dump_info", &PyExperiment::DumpInfo)
      .def("dump_string", &PyExperiment::DumpString)
      .def("dump_note", &PyExperiment::DumpNote)
      .def("dump_tags", &PyExperiment::DumpTags)
      .def("dump_metric", &PyExperiment::DumpMetric, py::arg("key"), py::arg("value"),
           py::arg("cmp") = 0, py::arg("extras") = py::none(), py::arg("step") = py::none())
      .def("dump_metric_fast", &PyExperiment::DumpMetricFast)
      .def("dump_metrics", &PyExperiment::DumpMetrics, py::arg("values"), py::arg("cmp") = 0,
           py::arg("step") = py::none())
      .def("dump_progress", &PyExperiment::DumpProgress)
      .def("dump_exception", &PyExperiment::DumpException)
      .def("flush", &PyExperiment::Flush, py::arg("durable") = false)
      .def("properties", &PyExperiment::Properties)
      .def("test_name", &PyExperiment::TestName)
      .def("exp_name", &PyExperiment::ExpName)
      .def("info_dir", &PyExperiment::InfoDir)
      .def("blob_dir", &PyExperiment::BlobDir)
      .def("cache_dir", &PyExperiment::CacheDir)
      .def("roots", &PyExperiment::RootsOf)
      .def("started", &PyExperiment::Started)
      .def("ended", &PyExperiment::Ended)
      .def("add_hook", &PyExperiment::AddHook)
      .def("add_builtin_hook", &PyExperiment::AddBuiltinHook);

  py::class_<PyWatcher>(m, "Watcher")
      .def(py::init<const py::object&, const std::string&, bool, bool>(),
           py::arg("roots") = py::none(), py::arg("db_path") = "", py::arg("read_only") = false,
           py::arg("quiet") = false)
      .def("load", &PyWatcher::Load)
      .def("import_lumo", &PyWatcher::Import)
      .def("lumo_frame", &PyWatcher::LumoFrame, py::arg("filters") = std::vector<std::string>(),
           py::arg("exp_name") = "", py::arg("status") = "", py::arg("sort") = "",
           py::arg("limit") = 0, py::arg("meanwhile") = py::none())
      .def("lumo_frame_of", &PyWatcher::LumoFrameOf)
      .def("rows", &PyWatcher::Rows, py::arg("filters") = std::vector<std::string>(),
           py::arg("exp_name") = "", py::arg("status") = "", py::arg("sort") = "",
           py::arg("limit") = 0, py::arg("offset") = 0,
           py::arg("columns") = std::vector<std::string>(), py::arg("raw") = false)
      .def("table", &PyWatcher::Table, py::arg("filters") = std::vector<std::string>(),
           py::arg("exp_name") = "", py::arg("status") = "", py::arg("sort") = "",
           py::arg("limit") = 0, py::arg("offset") = 0,
           py::arg("columns") = std::vector<std::string>(), py::arg("meanwhile") = py::none())
      .def("retrieve", &PyWatcher::Retrieve, py::arg("test_name"), py::arg("exp_name") = "",
           py::arg("raw") = false)
      .def("changed", &PyWatcher::Changed)
      .def("series", &PyWatcher::Series, py::arg("runs"), py::arg("keys") = std::vector<std::string>(),
           py::arg("points") = 0)
      .def("sequence", &PyWatcher::Sequence)
      .def("db_path", &PyWatcher::DbPath)
      .def("roots", &PyWatcher::RootsOf);
}

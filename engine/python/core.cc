// lumodb._core: the engine for Python. Thin: each method converts its
// arguments, releases the GIL, calls the engine and converts the result.
// The Python package (engine/python/lumodb/) gives it lumo's API.
//
// Reads build Python objects straight from the engine's JSON text
// (JsonToPython) and shape them as lumo's Watcher rows (LumoRow), column by
// column, so that a DataFrame of 100,000 runs is made without a per-row
// dict pass in Python.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lumodb/lumodb.h"
#include "lumodb/version.h"
#include "util/json_text.h"

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

// ---------------------------------------------------------------------------
// JSON text (as the engine writes it: valid, compact or not) to Python
// objects. Object keys are interned through a small cache: rows share them.

class JsonToPython {
 public:
  py::object Parse(std::string_view text) {
    p_ = text.data();
    end_ = text.data() + text.size();
    py::object v = Value();
    Space();
    if (p_ != end_) Fail();
    return v;
  }

  // The top-level object of text without the members skip(key) names:
  // their values are scanned past, never built.
  template <typename Skip>
  py::object ParseObjectSkipping(std::string_view text, const Skip& skip) {
    p_ = text.data();
    end_ = text.data() + text.size();
    Space();
    if (p_ >= end_ || *p_ != '{') return Parse(text);
    py::object v = Object(skip);
    Space();
    if (p_ != end_) Fail();
    return v;
  }

 private:
  [[noreturn]] void Fail() {
    throw std::runtime_error("lumodb: malformed JSON from the engine");
  }
  void Space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  py::object Value() {
    Space();
    if (p_ >= end_) Fail();
    switch (*p_) {
      case '{':
        return Object([](std::string_view) { return false; });
      case '[':
        return Array();
      case '"': {
        std::string_view plain;
        if (PlainString(&plain)) return Str(plain);
        return Str(EscapedString());
      }
      case 't':
        Literal("true");
        return py::bool_(true);
      case 'f':
        Literal("false");
        return py::bool_(false);
      case 'n':
        Literal("null");
        return py::none();
      default:
        return Number();
    }
  }
  static py::object Str(std::string_view v) {
    PyObject* o = PyUnicode_DecodeUTF8(v.data(), static_cast<Py_ssize_t>(v.size()), "replace");
    if (o == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(o);
  }
  // A string without escapes, as a view of the text (p_ moves past it);
  // false, p_ unmoved, when it has one.
  bool PlainString(std::string_view* out) {
    const char* q = p_ + 1;
    while (q < end_ && *q != '"' && *q != '\\') ++q;
    if (q >= end_ || *q != '"') return false;
    *out = std::string_view(p_ + 1, static_cast<size_t>(q - p_ - 1));
    p_ = q + 1;
    return true;
  }
  void Literal(const char* word) {
    size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) Fail();
    p_ += n;
  }
  py::object Number() {
    const char* start = p_;
    bool is_float = false;
    if (p_ < end_ && *p_ == '-') ++p_;
    while (p_ < end_) {
      char c = *p_;
      if (c >= '0' && c <= '9') {
        ++p_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
        is_float = true;
        ++p_;
      } else {
        break;
      }
    }
    if (p_ == start) Fail();
    if (!is_float) {
      int64_t v = 0;
      auto r = std::from_chars(start, p_, v);
      if (r.ec == std::errc() && r.ptr == p_) {
        return py::reinterpret_steal<py::object>(PyLong_FromLongLong(v));
      }
      // Python ints are unbounded: big integers stay exact.
      std::string num(start, p_);
      PyObject* o = PyLong_FromString(num.c_str(), nullptr, 10);
      if (o == nullptr) throw py::error_already_set();
      return py::reinterpret_steal<py::object>(o);
    }
    double d = 0;
    auto r = std::from_chars(start, p_, d);
    if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) Fail();
    return py::reinterpret_steal<py::object>(PyFloat_FromDouble(d));
  }
  // A string with escapes (p_ at its quote; moves past it), unescaped
  // into buf_ by util/json_text, as the engine wrote it.
  const std::string& EscapedString() {
    const std::string_view rest(p_, static_cast<size_t>(end_ - p_));
    const size_t end = SkipJsonValue(rest, 0);
    buf_.clear();
    if (end == std::string_view::npos || !UnescapeJsonString(rest.substr(0, end), &buf_)) Fail();
    p_ += end;
    return buf_;
  }
  // An object key: plain keys come from (and go into) the cache.
  py::object Key(std::string_view plain) {
    auto it = keys_.find(plain);
    if (it != keys_.end()) return it->second;
    py::object o = Str(plain);
    if (keys_.size() < 4096) {
      key_store_.emplace_back(plain);
      keys_.emplace(std::string_view(key_store_.back()), o);
    }
    return o;
  }
  // An object (p_ at its brace) without the members skip(key) names.
  template <typename Skip>
  py::object Object(const Skip& skip) {
    ++p_;
    py::dict d;
    Space();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return std::move(d);
    }
    while (true) {
      Space();
      if (p_ >= end_ || *p_ != '"') Fail();
      std::string_view plain;
      const bool simple = PlainString(&plain);
      const bool skipped = simple && skip(plain);
      py::object k = skipped ? py::object() : simple ? Key(plain) : Str(EscapedString());
      Space();
      if (p_ >= end_ || *p_ != ':') Fail();
      ++p_;
      if (skipped) {
        Space();
        const size_t n =
            SkipJsonValue(std::string_view(p_, static_cast<size_t>(end_ - p_)), 0);
        if (n == std::string_view::npos) Fail();
        p_ += n;
      } else {
        py::object v = Value();
        if (PyDict_SetItem(d.ptr(), k.ptr(), v.ptr()) != 0) throw py::error_already_set();
      }
      Space();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return std::move(d);
      }
      Fail();
    }
  }
  py::object Array() {
    ++p_;
    py::list l;
    Space();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return std::move(l);
    }
    while (true) {
      py::object v = Value();
      if (PyList_Append(l.ptr(), v.ptr()) != 0) throw py::error_already_set();
      Space();
      if (p_ < end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ < end_ && *p_ == ']') {
        ++p_;
        return std::move(l);
      }
      Fail();
    }
  }

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::string buf_;
  std::deque<std::string> key_store_;  // what the views in keys_ point at
  std::unordered_map<std::string_view, py::object> keys_;
};

// ---------------------------------------------------------------------------
// A run as lumo's Watcher().load() shows it (../shared/LUMO.md): one
// column per info key, text key and metrics, lumo's raw values where an
// imported run kept them (the engine's "info"), else the engine's facts in
// lumo's shapes.

// lumo's columns in the order lumo's own frame has them; any other key
// (a user's dump_info key, a text key) comes after, in order of appearance.
const char* const kLumoColumns[] = {"exp_name", "test_name", "paths",    "note",  "info_dir",
                                    "pinfo",    "params",    "lock",     "roots", "hooks",
                                    "progress", "exception", "execute",  "tags",  "git",
                                    "summary",  "metrics",   "rerun"};

// Keys of the engine's JSON that are lumo-db's own, not lumo columns.
bool EngineOnlyKey(std::string_view k) {
  return k == "blob_dir" || k == "cache_dir" || k == "info" || k == "journal" ||
         k == "metrics_detail" || k == "status" || k == "text" || k == "lumodb_version" ||
         k == "hook_errors" || k == "lumo_markers" || k == "metric_other";  // importer bookkeeping
}

class LumoRows {
 public:
  LumoRows() {
    for (const char* c : kLumoColumns) Column(c);
  }

  // Adds the run (the engine's whole-run JSON with raw values).
  void Add(std::string_view run_json) {
    // lumo-db's own keys are not lumo columns: never built.
    py::object parsed = parser_.ParseObjectSkipping(run_json, [](std::string_view k) {
      return k != "info" && k != "text" && k != "journal" && EngineOnlyKey(k);
    });
    if (!PyDict_Check(parsed.ptr())) throw std::runtime_error("lumodb: a run is not an object");
    PyObject* run = parsed.ptr();
    Begin();
    PyObject* raw = PyDict_GetItemString(run, "info");  // borrowed, may be null
    if (raw != nullptr && !PyDict_Check(raw)) raw = nullptr;
    bool native = true;
    if (PyObject* journal = PyDict_GetItemString(run, "journal"); journal && PyDict_Check(journal)) {
      PyObject* source = PyDict_GetItemString(journal, "source");
      native = !(source && PyUnicode_Check(source) && PyUnicode_CompareWithASCIIString(source, "lumo") == 0);
    }
    auto item = [&](const char* k) -> PyObject* { return PyDict_GetItemString(run, k); };
    if (PyObject* v = item("exp_name")) Set("exp_name", v);
    if (PyObject* v = item("test_name")) Set("test_name", v);
    Set("paths", py::dict().ptr());
    PyObject* note = item("note");
    Set("note", note ? note : empty_.ptr());
    if (PyObject* v = item("info_dir")) Set("info_dir", v);
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(run, &pos, &k, &v)) {
      std::string_view key = View(k);
      if (EngineOnlyKey(key) || key == "exp_name" || key == "test_name" || key == "note" ||
          key == "info_dir") {
        continue;
      }
      PyObject* r = raw ? PyDict_GetItem(raw, k) : nullptr;
      if (r != nullptr) {
        Set(key, r);
      } else if (native && (key == "progress" || key == "pinfo" || key == "rerun")) {
        Set(key, NativeShape(std::string(key), py::reinterpret_borrow<py::object>(v),
                             py::reinterpret_borrow<py::dict>(run))
                     .ptr());
      } else if (key == "rerun" && PyDict_Check(v)) {
        Set(key, WithoutReruns(py::reinterpret_borrow<py::dict>(v)).ptr());
      } else {
        Set(key, v);
      }
    }
    // Raw values of keys the engine does not print at the top level.
    if (raw != nullptr) {
      pos = 0;
      while (PyDict_Next(raw, &pos, &k, &v)) {
        std::string_view key = View(k);
        if (key == "exp_name" || key == "test_name" || IsSet(key)) continue;
        Set(key, v);
      }
    }
    if (PyObject* text = item("text"); text && PyDict_Check(text)) {
      pos = 0;
      while (PyDict_Next(text, &pos, &k, &v)) Set(View(k), v);
    }
    End();
  }

  size_t rows() const { return rows_; }

  // {column: list of cells} and the column order; cells a run lacks are NaN
  // (as pandas makes them from lumo's dict rows).
  py::tuple Take() {
    py::dict data;
    py::list order;
    // lumo's columns in lumo's order, then the others by name, so that a
    // frame's columns do not depend on which run came first.
    const size_t n_lumo = sizeof(kLumoColumns) / sizeof(kLumoColumns[0]);
    std::vector<size_t> others;
    for (size_t i = 0; i < names_.size(); ++i) {
      // lumo's optional columns appear only when some run has them.
      if (filled_[i] == 0 && i >= 5) continue;
      if (i >= n_lumo) {
        others.push_back(i);
        continue;
      }
      order.append(names_[i]);
      data[names_[i]] = cols_[i];
    }
    std::sort(others.begin(), others.end(),
              [&](size_t a, size_t b) { return View(names_[a].ptr()) < View(names_[b].ptr()); });
    for (size_t i : others) {
      order.append(names_[i]);
      data[names_[i]] = cols_[i];
    }
    return py::make_tuple(order, data);
  }

 private:
  static std::string_view View(PyObject* str) {
    Py_ssize_t n = 0;
    const char* p = PyUnicode_Check(str) ? PyUnicode_AsUTF8AndSize(str, &n) : nullptr;
    if (p == nullptr) {
      PyErr_Clear();
      return std::string_view();
    }
    return std::string_view(p, static_cast<size_t>(n));
  }
  size_t Column(std::string_view name) {
    auto it = index_.find(name);
    if (it != index_.end()) return it->second;
    size_t i = names_.size();
    names_.push_back(py::reinterpret_steal<py::str>(
        PyUnicode_DecodeUTF8(name.data(), static_cast<Py_ssize_t>(name.size()), "replace")));
    py::list col;
    for (size_t r = 0; r < rows_; ++r) col.append(nan_);
    cols_.push_back(col);
    filled_.push_back(0);
    set_.push_back(false);
    index_.emplace(View(names_.back().ptr()), i);  // the str keeps the bytes
    return i;
  }
  void Begin() { std::fill(set_.begin(), set_.end(), false); }
  bool IsSet(std::string_view key) {
    auto it = index_.find(key);
    return it != index_.end() && set_[it->second];
  }
  void Set(std::string_view key, PyObject* value) {
    size_t i = Column(key);
    PyObject* col = cols_[i].ptr();
    if (set_[i]) {
      Py_INCREF(value);
      PyList_SetItem(col, static_cast<Py_ssize_t>(rows_), value);  // steals
      return;
    }
    if (PyList_Append(col, value) != 0) throw py::error_already_set();
    set_[i] = true;
    filled_[i]++;
  }
  void End() {
    for (size_t i = 0; i < cols_.size(); ++i) {
      if (!set_[i] && PyList_Append(cols_[i].ptr(), nan_.ptr()) != 0) throw py::error_already_set();
    }
    ++rows_;
  }

  static py::object WithoutReruns(py::dict rerun) {
    if (!rerun.contains("reruns")) return std::move(rerun);
    py::dict out;
    for (auto item : rerun) {
      if (py::str(item.first).cast<std::string>() != "reruns") out[item.first] = item.second;
    }
    return std::move(out);
  }

  // A lumo-db run's facts in the shapes lumo writes them.
  py::object NativeShape(const std::string& key, py::object value, const py::dict& run) {
    if (key == "progress" && py::isinstance<py::dict>(value)) {
      py::dict p = value.cast<py::dict>();
      auto get = [&](const char* k, py::object fallback) -> py::object {
        return p.contains(k) ? py::object(p[k]) : fallback;
      };
      py::dict out;
      if (p.contains("start")) out["start"] = p["start"];
      out["ratio"] = get("ratio", py::float_(0.0));
      out["last_edit_time"] = get("last_edit_time", get("end", get("start", py::none())));
      out["update_from"] = get("update_from", py::none());
      if (p.contains("end")) out["end"] = p["end"];
      if (p.contains("end_code")) out["end_code"] = p["end_code"];
      return std::move(out);
    }
    if (key == "pinfo" && py::isinstance<py::dict>(value)) {
      py::dict p = value.cast<py::dict>();
      py::dict obj;
      for (auto item : p) obj[item.first] = item.second;
      if (run.contains("execute") && py::isinstance<py::dict>(run["execute"])) {
        py::dict e = run["execute"].cast<py::dict>();
        py::list argv;
        if (e.contains("exec_bin")) argv.append(e["exec_bin"]);
        if (e.contains("exec_argv")) {
          for (auto a : e["exec_argv"]) argv.append(a);
        }
        obj["argv"] = argv;
      }
      py::dict out;
      out["pid"] = p.contains("pid") ? py::object(p["pid"]) : py::object(py::none());
      out["obj"] = obj;
      return std::move(out);
    }
    if (key == "rerun" && py::isinstance<py::dict>(value)) {
      // lumo's two directions: {"from", "repeat"} on the rerun and
      // {"rerun_at": {new: true}} on the run it came from.
      py::dict r = value.cast<py::dict>();
      py::dict out = WithoutReruns(r).cast<py::dict>();
      if (r.contains("reruns") && py::len(r["reruns"]) > 0) {
        py::dict at;
        for (auto t : r["reruns"]) {
          if (py::isinstance<py::dict>(t) && t.cast<py::dict>().contains("test_name")) {
            at[t["test_name"]] = py::bool_(true);
          } else if (py::isinstance<py::str>(t)) {
            at[t] = py::bool_(true);
          }
        }
        out["rerun_at"] = at;
      }
      return std::move(out);
    }
    return value;
  }

  JsonToPython parser_;
  std::vector<py::str> names_;
  std::vector<py::list> cols_;
  std::vector<size_t> filled_;
  std::vector<bool> set_;
  std::unordered_map<std::string_view, size_t> index_;
  size_t rows_ = 0;
  py::float_ nan_ = py::float_(std::nan(""));
  py::str empty_ = py::str("");
};

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
    Status s;
    {
      py::gil_scoped_release nogil;
      s = w_->load(&st);
    }
    Check(s);
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
    Status s;
    {
      py::gil_scoped_release nogil;
      s = w_->import_lumo(paths, "", &report);
    }
    Check(s);
  }

  // lumo's frame of the runs a query selects: (columns, {column: cells}).
  py::tuple LumoFrame(const std::vector<std::string>& filters, const std::string& exp_name,
                      const std::string& status, const std::string& sort, size_t limit) {
    Query q = QueryFrom(filters, exp_name, status, sort, limit, 0);
    ReadOptions ro;
    ro.raw = true;
    GcPause pause;
    LumoRows rows;
    // The engine streams rows under the GIL held: each becomes Python
    // objects at once (no copy of all runs as text).
    Status s = w_->read(q, ro, [&](const RunRow& row) {
      rows.Add(row.json());
      return Status::OK();
    });
    Check(s);
    return rows.Take();
  }

  // The same for named runs (exp_name, test_name), in the order given.
  py::tuple LumoFrameOf(const std::vector<std::pair<std::string, std::string>>& runs) {
    GcPause pause;
    LumoRows rows;
    std::string json;
    for (const auto& [exp, test] : runs) {
      Status s;
      {
        py::gil_scoped_release nogil;
        s = w_->retrieve(test, exp, &json, nullptr, true);
      }
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
    Status s = w_->read(q, ro, [&](const RunRow& row) {
      out.append(parser.Parse(row.json()));
      return Status::OK();
    });
    Check(s);
    return out;
  }

  // Named columns of the runs a query selects, typed: (columns, {column:
  // cells}), exp_name and test_name first unless asked for.
  py::tuple Table(const std::vector<std::string>& filters, const std::string& exp_name,
                  const std::string& status, const std::string& sort, size_t limit, size_t offset,
                  const std::vector<std::string>& columns) {
    Query q = QueryFrom(filters, exp_name, status, sort, limit, offset);
    ReadOptions ro;
    ro.columns = columns;
    const bool want_exp =
        std::find(columns.begin(), columns.end(), "exp_name") == columns.end();
    const bool want_test =
        std::find(columns.begin(), columns.end(), "test_name") == columns.end();
    GcPause pause;
    py::list exps, tests;
    std::vector<py::list> cells(columns.size());
    JsonToPython parser;
    Status s = w_->read(q, ro, [&](const RunRow& row) {
      if (want_exp) exps.append(py::str(row.exp_name()));
      if (want_test) tests.append(py::str(row.test_name()));
      for (size_t i = 0; i < columns.size(); ++i) {
        FieldValue v = row.column(i);
        py::object cell;
        switch (v.type) {
          case FieldValue::Type::kAbsent:
          case FieldValue::Type::kNull:
            cell = py::none();
            break;
          case FieldValue::Type::kBool:
            cell = py::bool_(v.boolean);
            break;
          case FieldValue::Type::kInt:
            cell = py::int_(v.integer);
            break;
          case FieldValue::Type::kDouble:
            cell = py::float_(v.number);
            break;
          case FieldValue::Type::kString:
            cell = py::reinterpret_steal<py::object>(PyUnicode_DecodeUTF8(
                v.text.data(), static_cast<Py_ssize_t>(v.text.size()), "replace"));
            break;
          case FieldValue::Type::kJson:
            cell = parser.Parse(v.text);
            break;
        }
        cells[i].append(cell);
      }
      return Status::OK();
    });
    Check(s);
    py::list order;
    py::dict data;
    if (want_exp) {
      order.append("exp_name");
      data["exp_name"] = exps;
    }
    if (want_test) {
      order.append("test_name");
      data["test_name"] = tests;
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      order.append(columns[i]);
      data[py::str(columns[i])] = cells[i];
    }
    return py::make_tuple(order, data);
  }

  py::object Retrieve(const std::string& test_name, const std::string& exp_name, bool raw) {
    std::string json;
    std::vector<std::string> candidates;
    Status s;
    {
      py::gil_scoped_release nogil;
      s = w_->retrieve(test_name, exp_name, &json, &candidates, raw);
    }
    if (s.IsNotFound()) return py::none();
    Check(s);
    JsonToPython parser;
    return parser.Parse(json);
  }

  py::tuple Changed(int64_t after) {
    std::vector<RunName> runs;
    int64_t latest = after;
    Status s;
    {
      py::gil_scoped_release nogil;
      s = w_->changed_runs(after, &runs, &latest);
    }
    Check(s);
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
    Status s;
    {
      py::gil_scoped_release nogil;
      s = w_->metric_series(req, &out);
    }
    Check(s);
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

  uint64_t Sequence() const { return w_->sequence(); }
  std::string DbPath() const { return w_->db_path(); }
  py::dict RootsOf() const { return RootsDict(roots_); }

 private:
  std::unique_ptr<Watcher> w_;
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
           py::arg("limit") = 0)
      .def("lumo_frame_of", &PyWatcher::LumoFrameOf)
      .def("rows", &PyWatcher::Rows, py::arg("filters") = std::vector<std::string>(),
           py::arg("exp_name") = "", py::arg("status") = "", py::arg("sort") = "",
           py::arg("limit") = 0, py::arg("offset") = 0,
           py::arg("columns") = std::vector<std::string>(), py::arg("raw") = false)
      .def("table", &PyWatcher::Table, py::arg("filters") = std::vector<std::string>(),
           py::arg("exp_name") = "", py::arg("status") = "", py::arg("sort") = "",
           py::arg("limit") = 0, py::arg("offset") = 0,
           py::arg("columns") = std::vector<std::string>())
      .def("retrieve", &PyWatcher::Retrieve, py::arg("test_name"), py::arg("exp_name") = "",
           py::arg("raw") = false)
      .def("changed", &PyWatcher::Changed)
      .def("series", &PyWatcher::Series, py::arg("runs"), py::arg("keys") = std::vector<std::string>(),
           py::arg("points") = 0)
      .def("sequence", &PyWatcher::Sequence)
      .def("db_path", &PyWatcher::DbPath)
      .def("roots", &PyWatcher::RootsOf);
}

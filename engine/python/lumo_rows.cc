#include "lumo_rows.h"

#include <pybind11/numpy.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lumodb::python {

const char* const kLumoColumns[18] = {"exp_name", "test_name", "paths",    "note",  "info_dir",
                                      "pinfo",    "params",    "lock",     "roots", "hooks",
                                      "progress", "exception", "execute",  "tags",  "git",
                                      "summary",  "metrics",   "rerun"};

namespace {

constexpr size_t kLumoCount = sizeof(kLumoColumns) / sizeof(kLumoColumns[0]);
// lumo's first five columns are in every frame; the others only when some
// run has them.
constexpr size_t kAlwaysShown = 5;

// Keys of the engine's JSON that are lumo-db's own, not lumo columns.
bool EngineOnlyKey(std::string_view k) {
  return k == "blob_dir" || k == "cache_dir" || k == "info" || k == "journal" ||
         k == "metrics_detail" || k == "status" || k == "text" || k == "lumodb_version" ||
         k == "hook_errors" || k == "lumo_markers" || k == "metric_other";  // importer bookkeeping
}

std::string_view View(PyObject* str) {
  Py_ssize_t n = 0;
  const char* p = PyUnicode_Check(str) ? PyUnicode_AsUTF8AndSize(str, &n) : nullptr;
  if (p == nullptr) {
    PyErr_Clear();
    return std::string_view();
  }
  return std::string_view(p, static_cast<size_t>(n));
}

// The keys the shaping looks up, made once (interned, their hashes kept):
// a lookup is then one probe, with no string made for it.
struct Names {
  PyObject* info = Intern("info");
  PyObject* journal = Intern("journal");
  PyObject* source = Intern("source");
  PyObject* text = Intern("text");
  PyObject* exp_name = Intern("exp_name");
  PyObject* test_name = Intern("test_name");
  PyObject* note = Intern("note");
  PyObject* info_dir = Intern("info_dir");
  PyObject* reruns = Intern("reruns");
  PyObject* rerun_at = Intern("rerun_at");
  PyObject* start = Intern("start");
  PyObject* ratio = Intern("ratio");
  PyObject* last_edit_time = Intern("last_edit_time");
  PyObject* update_from = Intern("update_from");
  PyObject* end = Intern("end");
  PyObject* end_code = Intern("end_code");
  PyObject* pid = Intern("pid");
  PyObject* obj = Intern("obj");
  PyObject* argv = Intern("argv");
  PyObject* execute = Intern("execute");
  PyObject* exec_bin = Intern("exec_bin");
  PyObject* exec_argv = Intern("exec_argv");
  PyObject* empty = Intern("");
  PyObject* lumo = Intern("lumo");

  static PyObject* Intern(const char* s) {
    PyObject* o = PyUnicode_InternFromString(s);
    if (o == nullptr) throw py::error_already_set();
    return o;  // kept for the module's life
  }
};

const Names& N() {
  static const Names* names = new Names();
  return *names;
}

// Owned references, as the C API hands them.
py::object Own(PyObject* o) {
  if (o == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(o);
}

void Put(PyObject* dict, PyObject* key, PyObject* value) {
  if (PyDict_SetItem(dict, key, value) != 0) throw py::error_already_set();
}

// dict[key], or fallback (borrowed either way).
PyObject* Get(PyObject* dict, PyObject* key, PyObject* fallback) {
  PyObject* v = PyDict_GetItemWithError(dict, key);
  if (v == nullptr && PyErr_Occurred()) throw py::error_already_set();
  return v != nullptr ? v : fallback;
}

// The rerun dict without its "reruns" (lumo has no such key): itself when
// it has none.
py::object WithoutReruns(PyObject* rerun) {
  if (PyDict_GetItemWithError(rerun, N().reruns) == nullptr) {
    if (PyErr_Occurred()) throw py::error_already_set();
    return py::reinterpret_borrow<py::object>(rerun);
  }
  py::object out = Own(PyDict_Copy(rerun));
  if (PyDict_DelItem(out.ptr(), N().reruns) != 0) throw py::error_already_set();
  return out;
}

}  // namespace

LumoRows::LumoRows() : nan_(Own(PyFloat_FromDouble(std::nan("")))) {
  for (const char* c : kLumoColumns) Column(std::string_view(c));
}

LumoRows::~LumoRows() {
  for (auto& column : cells_) {
    for (PyObject* o : column) Py_DECREF(o);
  }
}

size_t LumoRows::Column(std::string_view name) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return it->second;
  const size_t i = names_.size();
  names_.push_back(py::reinterpret_borrow<py::str>(
      Own(PyUnicode_DecodeUTF8(name.data(), static_cast<Py_ssize_t>(name.size()), "replace"))));
  cells_.emplace_back();
  cells_.back().reserve(rows_ + 1024);
  for (size_t r = 0; r < rows_; ++r) {
    Py_INCREF(nan_.ptr());
    cells_.back().push_back(nan_.ptr());
  }
  filled_.push_back(0);
  set_.push_back(0);
  Kind kind = Kind::kPlain;
  // exp_name, test_name, note and info_dir are set before the loop over
  // a run's keys.
  if (EngineOnlyKey(name) || (i < kAlwaysShown && name != "paths")) {
    kind = Kind::kEngineOnly;
  } else if (name == "progress") {
    kind = Kind::kProgress;
  } else if (name == "pinfo") {
    kind = Kind::kPinfo;
  } else if (name == "rerun") {
    kind = Kind::kRerun;
  }
  kinds_.push_back(kind);
  by_name_.emplace(View(names_.back().ptr()), i);  // the str keeps the bytes
  return i;
}

size_t LumoRows::Column(PyObject* name) {
  auto it = by_object_.find(name);
  if (it != by_object_.end()) return it->second;
  const size_t i = Column(View(name));
  // The parser shares key objects from run to run: the next lookup is by
  // address (the object is held, so the address stays its own).
  if (held_keys_.size() < 4096) {
    held_keys_.push_back(py::reinterpret_borrow<py::object>(name));
    by_object_.emplace(name, i);
  }
  return i;
}

void LumoRows::Set(size_t i, PyObject* value) {
  Py_INCREF(value);
  std::vector<PyObject*>& column = cells_[i];
  if (set_[i]) {
    Py_DECREF(column.back());
    column.back() = value;
    return;
  }
  column.push_back(value);
  set_[i] = 1;
  filled_[i]++;
}

void LumoRows::End() {
  for (size_t i = 0; i < cells_.size(); ++i) {
    if (set_[i]) {
      set_[i] = 0;
      continue;
    }
    Py_INCREF(nan_.ptr());
    cells_[i].push_back(nan_.ptr());
  }
  ++rows_;
}

void LumoRows::Add(std::string_view run_json) {
  const Names& n = N();
  // lumo-db's own keys are not lumo columns: never built.
  py::object parsed = parser_.ParseObjectSkipping(run_json, [](std::string_view k) {
    return k != "info" && k != "text" && k != "journal" && EngineOnlyKey(k);
  });
  PyObject* run = parsed.ptr();
  if (!PyDict_Check(run)) throw std::runtime_error("lumodb: a run is not an object");
  PyObject* raw = Get(run, n.info, nullptr);
  if (raw != nullptr && !PyDict_Check(raw)) raw = nullptr;
  bool native = true;
  if (PyObject* journal = Get(run, n.journal, nullptr); journal && PyDict_Check(journal)) {
    PyObject* source = Get(journal, n.source, nullptr);
    native = !(source && PyUnicode_Check(source) &&
               PyUnicode_Compare(source, n.lumo) == 0);
  }
  // Columns 0..4 are exp_name, test_name, paths, note, info_dir.
  if (PyObject* v = Get(run, n.exp_name, nullptr)) Set(0, v);
  if (PyObject* v = Get(run, n.test_name, nullptr)) Set(1, v);
  Set(2, Own(PyDict_New()).ptr());
  Set(3, Get(run, n.note, n.empty));
  if (PyObject* v = Get(run, n.info_dir, nullptr)) Set(4, v);
  Py_ssize_t pos = 0;
  PyObject *k, *v;
  while (PyDict_Next(run, &pos, &k, &v)) {
    // Engine-only keys get a column too (never filled, so never shown),
    // so that what a key is takes one lookup by address.
    const size_t column = Column(k);
    const Kind kind = kinds_[column];
    if (kind == Kind::kEngineOnly) continue;
    PyObject* r = raw ? Get(raw, k, nullptr) : nullptr;
    if (r != nullptr) {
      Set(column, r);
    } else if (native && kind != Kind::kPlain) {
      SetNative(column, kind, v, run);
    } else if (kind == Kind::kRerun && PyDict_Check(v)) {
      Set(column, WithoutReruns(v).ptr());
    } else {
      Set(column, v);
    }
  }
  // Raw values of keys the engine does not print at the top level.
  if (raw != nullptr) {
    pos = 0;
    while (PyDict_Next(raw, &pos, &k, &v)) {
      const size_t column = Column(k);
      if (column < 2 || set_[column]) continue;
      Set(column, v);
    }
  }
  if (PyObject* text = Get(run, n.text, nullptr); text && PyDict_Check(text)) {
    pos = 0;
    while (PyDict_Next(text, &pos, &k, &v)) SetByName(k, v);
  }
  End();
}

// A lumo-db run's facts in the shapes lumo writes them.
void LumoRows::SetNative(size_t column, Kind kind, PyObject* value, PyObject* run) {
  if (!PyDict_Check(value)) {
    Set(column, value);
  } else if (kind == Kind::kProgress) {
    Set(column, Own(Progress(value)).ptr());
  } else if (kind == Kind::kPinfo) {
    Set(column, Own(Pinfo(value, run)).ptr());
  } else {
    Set(column, Own(Rerun(value)).ptr());
  }
}

PyObject* LumoRows::Progress(PyObject* p) {
  const Names& n = N();
  py::object out = Own(PyDict_New());
  PyObject* start = Get(p, n.start, nullptr);
  PyObject* end = Get(p, n.end, nullptr);
  if (start) Put(out.ptr(), n.start, start);
  PyObject* zero = nullptr;
  PyObject* ratio = Get(p, n.ratio, nullptr);
  if (ratio == nullptr) ratio = zero = PyFloat_FromDouble(0.0);
  Put(out.ptr(), n.ratio, ratio);
  Py_XDECREF(zero);
  PyObject* edit = Get(p, n.last_edit_time, end ? end : start ? start : Py_None);
  Put(out.ptr(), n.last_edit_time, edit);
  Put(out.ptr(), n.update_from, Get(p, n.update_from, Py_None));
  if (end) Put(out.ptr(), n.end, end);
  if (PyObject* code = Get(p, n.end_code, nullptr)) Put(out.ptr(), n.end_code, code);
  return out.release().ptr();
}

PyObject* LumoRows::Pinfo(PyObject* p, PyObject* run) {
  const Names& n = N();
  py::object obj = Own(PyDict_Copy(p));
  PyObject* e = Get(run, n.execute, nullptr);
  if (e != nullptr && PyDict_Check(e)) {
    py::object argv = Own(PyList_New(0));
    if (PyObject* bin = Get(e, n.exec_bin, nullptr)) {
      if (PyList_Append(argv.ptr(), bin) != 0) throw py::error_already_set();
    }
    if (PyObject* args = Get(e, n.exec_argv, nullptr); args && PyList_Check(args)) {
      for (Py_ssize_t i = 0; i < PyList_GET_SIZE(args); ++i) {
        if (PyList_Append(argv.ptr(), PyList_GET_ITEM(args, i)) != 0) {
          throw py::error_already_set();
        }
      }
    }
    Put(obj.ptr(), n.argv, argv.ptr());
  }
  py::object out = Own(PyDict_New());
  Put(out.ptr(), n.pid, Get(p, n.pid, Py_None));
  Put(out.ptr(), n.obj, obj.ptr());
  return out.release().ptr();
}

// lumo's two directions: {"from", "repeat"} on the rerun and
// {"rerun_at": {new: true}} on the run it came from.
PyObject* LumoRows::Rerun(PyObject* r) {
  const Names& n = N();
  py::object out = WithoutReruns(r);  // a copy when it has reruns
  PyObject* reruns = Get(r, n.reruns, nullptr);
  if (reruns != nullptr && PyList_Check(reruns) && PyList_GET_SIZE(reruns) > 0) {
    py::object at = Own(PyDict_New());
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(reruns); ++i) {
      PyObject* t = PyList_GET_ITEM(reruns, i);
      PyObject* name = nullptr;
      if (PyDict_Check(t)) {
        name = Get(t, n.test_name, nullptr);
      } else if (PyUnicode_Check(t)) {
        name = t;
      }
      if (name != nullptr) Put(at.ptr(), name, Py_True);
    }
    Put(out.ptr(), n.rerun_at, at.ptr());
  }
  return out.release().ptr();
}

py::tuple LumoRows::Take() {
  // lumo's columns in lumo's order, then the others by name, so that a
  // frame's columns do not depend on which run came first.
  std::vector<size_t> shown;
  std::vector<size_t> others;
  for (size_t i = 0; i < names_.size(); ++i) {
    if (filled_[i] == 0 && i >= kAlwaysShown) continue;
    (i < kLumoCount ? shown : others).push_back(i);
  }
  std::sort(others.begin(), others.end(),
            [&](size_t a, size_t b) { return View(names_[a].ptr()) < View(names_[b].ptr()); });
  shown.insert(shown.end(), others.begin(), others.end());

  py::list order;
  for (size_t i : shown) order.append(names_[i]);
  py::array cells = py::module_::import("numpy").attr("empty")(
      py::make_tuple(shown.size(), rows_), py::arg("dtype") = "object");
  auto** data = static_cast<PyObject**>(cells.mutable_data());
  for (size_t c = 0; c < shown.size(); ++c) {
    std::vector<PyObject*>& column = cells_[shown[c]];
    for (size_t r = 0; r < rows_; ++r) {
      PyObject*& slot = data[c * rows_ + r];
      Py_XDECREF(slot);  // numpy filled it with None
      slot = column[r];  // the reference moves to the array
    }
    column.clear();
  }
  // Columns not shown still own their cells.
  for (auto& column : cells_) {
    for (PyObject* o : column) Py_DECREF(o);
    column.clear();
  }
  std::fill(filled_.begin(), filled_.end(), 0);
  rows_ = 0;
  return py::make_tuple(order, cells);
}

}  // namespace lumodb::python

// LumoRows: runs as lumo's Watcher().load() shows them (../shared/LUMO.md),
// built column by column from the engine's whole-run JSON: one column per
// info key, text key and metrics; lumo's raw values where an imported run
// kept them (the engine's "info"), else the engine's facts in lumo's shapes.
// The cells end as one object array, columns by rows, which pandas takes
// as its block without a copy or a per-cell look.
#ifndef LUMODB_PYTHON_LUMO_ROWS_H_
#define LUMODB_PYTHON_LUMO_ROWS_H_

#include <pybind11/pybind11.h>

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "json_to_python.h"

namespace lumodb::python {

// lumo's columns in the order lumo's own frame has them; any other key
// (a user's dump_info key, a text key) comes after, by name.
extern const char* const kLumoColumns[18];

class LumoRows {
 public:
  LumoRows();
  ~LumoRows();
  LumoRows(const LumoRows&) = delete;
  LumoRows& operator=(const LumoRows&) = delete;

  // Adds the run (the engine's whole-run JSON, with raw values).
  void Add(std::string_view run_json);
  size_t rows() const { return rows_; }
  // (columns, cells): cells is a numpy object array of columns x rows; a
  // cell a run lacks is NaN (as pandas makes it from lumo's dict rows).
  // Leaves this empty.
  py::tuple Take();

 private:
  size_t Column(std::string_view name);
  size_t Column(PyObject* name);
  void Set(size_t column, PyObject* value);  // a new reference to value is kept
  void SetByName(PyObject* name, PyObject* value) { Set(Column(name), value); }
  void End();
  // What a column's key asks of a native run's value.
  enum class Kind : uint8_t { kPlain, kEngineOnly, kProgress, kPinfo, kRerun };
  void SetNative(size_t column, Kind kind, PyObject* value, PyObject* run);
  // New references.
  PyObject* Progress(PyObject* progress);
  PyObject* Pinfo(PyObject* pinfo, PyObject* run);
  PyObject* Rerun(PyObject* rerun);

  JsonToPython parser_;
  std::vector<py::str> names_;
  std::vector<std::vector<PyObject*>> cells_;  // owned references
  std::vector<size_t> filled_;
  std::vector<char> set_;  // set in the row being built
  std::vector<Kind> kinds_;
  std::unordered_map<std::string_view, size_t> by_name_;
  std::unordered_map<PyObject*, size_t> by_object_;  // keys held in held_keys_
  std::vector<py::object> held_keys_;
  size_t rows_ = 0;
  py::object nan_;
};

}  // namespace lumodb::python

#endif  // LUMODB_PYTHON_LUMO_ROWS_H_

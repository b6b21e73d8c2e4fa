// TypedColumns: named columns of a read (FieldValues), carried through a
// RowPipe as bytes and made Python cells on the GIL's side: None for a
// field a run lacks, bool, int, float, str, or the list or dict of a JSON
// value.
#ifndef LUMODB_PYTHON_TYPED_COLUMNS_H_
#define LUMODB_PYTHON_TYPED_COLUMNS_H_

#include <pybind11/pybind11.h>

#include <string>
#include <string_view>
#include <vector>

#include "json_to_python.h"
#include "lumodb/lumodb.h"

namespace lumodb::python {

class TypedColumns {
 public:
  explicit TypedColumns(size_t columns) : cells_(columns) {}

  // Appends v as bytes (the reading thread's side).
  static void Encode(const FieldValue& v, std::string* out);
  // Adds one row: the bytes of its columns, in order.
  void Add(std::string_view row);
  // {name: list of cells}, names in order, one per column.
  py::dict Take(const py::list& names);

 private:
  [[noreturn]] static void Malformed();
  JsonToPython parser_;
  std::vector<py::list> cells_;
};

}  // namespace lumodb::python

#endif  // LUMODB_PYTHON_TYPED_COLUMNS_H_

// TypedColumns: named columns of a read (FieldValues), carried through a
// RowPipe as bytes and made Python cells on the GIL's side: None for a
// field a run lacks, bool, int, float, str, or the list or dict of a JSON
// value. A column of numbers only becomes a numpy array at once, of the
// dtype pandas would infer from those cells (int64; float64, absent as NaN).
#ifndef LUMODB_PYTHON_TYPED_COLUMNS_H_
#define LUMODB_PYTHON_TYPED_COLUMNS_H_

#include <pybind11/pybind11.h>

#include <cstdint>
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
  // {name: list of cells or numpy array}, names in order, one per column.
  py::dict Take(const py::list& names);

 private:
  // A column keeps numbers as numbers until a cell of another type comes;
  // then they become Python objects, and so does every later cell.
  struct Column {
    std::vector<double> numbers;  // NaN for an absent cell
    bool all_int = true;          // every cell an int (none absent)
    std::vector<int64_t> ints;
    std::vector<char> absent;
    py::list objects;             // once not numbers only
    bool numeric = true;
  };
  [[noreturn]] static void Malformed();
  static void ToObjects(Column* column);
  JsonToPython parser_;
  std::vector<Column> cells_;
};

}  // namespace lumodb::python

#endif  // LUMODB_PYTHON_TYPED_COLUMNS_H_

#include "typed_columns.h"

#include <pybind11/numpy.h>

#include <cstdint>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace lumodb::python {
namespace {

template <typename T>
void AppendRaw(const T& v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

template <typename T>
T TakeRaw(std::string_view* in) {
  T v{};
  if (in->size() < sizeof(v)) throw std::runtime_error("lumodb: a typed row is cut short");
  std::memcpy(&v, in->data(), sizeof(v));
  in->remove_prefix(sizeof(v));
  return v;
}

}  // namespace

void TypedColumns::Malformed() { throw std::runtime_error("lumodb: a typed row is malformed"); }

void TypedColumns::Encode(const FieldValue& v, std::string* out) {
  out->push_back(static_cast<char>(v.type));
  switch (v.type) {
    case FieldValue::Type::kAbsent:
    case FieldValue::Type::kNull:
      break;
    case FieldValue::Type::kBool:
      out->push_back(v.boolean ? 1 : 0);
      break;
    case FieldValue::Type::kInt:
      AppendRaw(v.integer, out);
      break;
    case FieldValue::Type::kDouble:
      AppendRaw(v.number, out);
      break;
    case FieldValue::Type::kString:
    case FieldValue::Type::kJson:
      AppendRaw(static_cast<uint32_t>(v.text.size()), out);
      out->append(v.text.data(), v.text.size());
      break;
  }
}

void TypedColumns::ToObjects(Column* c) {
  c->numeric = false;
  for (size_t i = 0; i < c->numbers.size(); ++i) {
    PyObject* cell = c->absent[i] ? Py_NewRef(Py_None)
                     : c->all_int  ? PyLong_FromLongLong(c->ints[i])
                                   : PyFloat_FromDouble(c->numbers[i]);
    if (cell == nullptr) throw py::error_already_set();
    const int rc = PyList_Append(c->objects.ptr(), cell);
    Py_DECREF(cell);
    if (rc != 0) throw py::error_already_set();
  }
  c->numbers.clear();
  c->ints.clear();
  c->absent.clear();
}

void TypedColumns::Add(std::string_view row) {
  for (Column& column : cells_) {
    if (row.empty()) Malformed();
    const auto type = static_cast<FieldValue::Type>(row.front());
    row.remove_prefix(1);
    if (column.numeric) {
      if (type == FieldValue::Type::kDouble) {
        column.numbers.push_back(TakeRaw<double>(&row));
        column.absent.push_back(0);
        column.all_int = false;
        continue;
      }
      if (type == FieldValue::Type::kInt) {
        const int64_t v = TakeRaw<int64_t>(&row);
        column.numbers.push_back(static_cast<double>(v));
        column.absent.push_back(0);
        if (column.all_int) column.ints.push_back(v);
        continue;
      }
      if (type == FieldValue::Type::kAbsent || type == FieldValue::Type::kNull) {
        column.numbers.push_back(std::nan(""));
        column.absent.push_back(1);
        column.all_int = false;
        continue;
      }
      ToObjects(&column);
    }
    PyObject* cell = nullptr;
    switch (type) {
      case FieldValue::Type::kAbsent:
      case FieldValue::Type::kNull:
        cell = Py_NewRef(Py_None);
        break;
      case FieldValue::Type::kBool:
        cell = Py_NewRef(TakeRaw<char>(&row) != 0 ? Py_True : Py_False);
        break;
      case FieldValue::Type::kInt:
        cell = PyLong_FromLongLong(TakeRaw<int64_t>(&row));
        break;
      case FieldValue::Type::kDouble:
        cell = PyFloat_FromDouble(TakeRaw<double>(&row));
        break;
      case FieldValue::Type::kString:
      case FieldValue::Type::kJson: {
        const uint32_t n = TakeRaw<uint32_t>(&row);
        if (row.size() < n) Malformed();
        const std::string_view text = row.substr(0, n);
        row.remove_prefix(n);
        cell = (type == FieldValue::Type::kString ? parser_.Text(text) : parser_.Parse(text))
                   .release()
                   .ptr();
        break;
      }
      default:
        Malformed();
    }
    if (cell == nullptr) throw py::error_already_set();
    const int rc = PyList_Append(column.objects.ptr(), cell);
    Py_DECREF(cell);
    if (rc != 0) throw py::error_already_set();
  }
  if (!row.empty()) Malformed();
}

py::dict TypedColumns::Take(const py::list& names) {
  py::dict data;
  for (size_t i = 0; i < cells_.size(); ++i) {
    Column& c = cells_[i];
    if (c.numbers.empty()) ToObjects(&c);  // no rows: pandas' object column
    if (!c.numeric) {
      data[names[i]] = c.objects;
    } else if (c.all_int) {
      data[names[i]] = py::array_t<int64_t>(static_cast<py::ssize_t>(c.ints.size()), c.ints.data());
    } else {
      data[names[i]] =
          py::array_t<double>(static_cast<py::ssize_t>(c.numbers.size()), c.numbers.data());
    }
  }
  cells_.assign(cells_.size(), Column());
  return data;
}

}  // namespace lumodb::python

#include "typed_columns.h"

#include <cstdint>
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

void TypedColumns::Add(std::string_view row) {
  for (py::list& column : cells_) {
    if (row.empty()) Malformed();
    const auto type = static_cast<FieldValue::Type>(row.front());
    row.remove_prefix(1);
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
        cell = type == FieldValue::Type::kString
                   ? PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(n), "replace")
                   : parser_.Parse(text).release().ptr();
        break;
      }
      default:
        Malformed();
    }
    if (cell == nullptr) throw py::error_already_set();
    const int rc = PyList_Append(column.ptr(), cell);
    Py_DECREF(cell);
    if (rc != 0) throw py::error_already_set();
  }
  if (!row.empty()) Malformed();
}

py::dict TypedColumns::Take(const py::list& names) {
  py::dict data;
  for (size_t i = 0; i < cells_.size(); ++i) data[names[i]] = cells_[i];
  cells_.assign(cells_.size(), py::list());
  return data;
}

}  // namespace lumodb::python

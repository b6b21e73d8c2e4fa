// JsonToPython: JSON text, as the engine writes it (valid, compact or not),
// to Python objects. Strings repeat from run to run (object keys, roots,
// the command, hook names): short ones are shared through small caches,
// which Python's strings, being immutable, allow.
#ifndef LUMODB_PYTHON_JSON_TO_PYTHON_H_
#define LUMODB_PYTHON_JSON_TO_PYTHON_H_

#include <pybind11/pybind11.h>

#include <charconv>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/json_text.h"

namespace lumodb::python {

namespace py = pybind11;

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

  // A string value through a direct-mapped cache: a short value seen
  // before (in this run or an earlier one) is the same object again; a new
  // one takes its slot.
  py::object Text(std::string_view v) {
    if (v.size() > kSharedMax) return Str(v);
    Slot& slot = slots_[std::hash<std::string_view>()(v) & (kSlots - 1)];
    if (slot.object && slot.text == v) return slot.object;
    slot.object = Str(v);
    slot.text.assign(v.data(), v.size());
    return slot.object;
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
        if (PlainString(&plain)) return Text(plain);
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

  static constexpr size_t kSharedMax = 96;
  static constexpr size_t kSlots = 4096;  // a power of two
  struct Slot {
    std::string text;
    py::object object;
  };

  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::vector<Slot> slots_ = std::vector<Slot>(kSlots);
  std::string buf_;
  std::deque<std::string> key_store_;  // what the views in keys_ point at
  std::unordered_map<std::string_view, py::object> keys_;
};

}  // namespace lumodb::python

#endif  // LUMODB_PYTHON_JSON_TO_PYTHON_H_

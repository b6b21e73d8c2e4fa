// Filters over runs: parsing "FIELD OP VALUE", walking dotted paths in a
// run's JSON, and the comparison rules each operator follows.

// GCC 12 and later report a false -Wmaybe-uninitialized inside libstdc++'s
// <regex> when building with -fsanitize=address (GCC bug 105616). Only this
// file builds a std::regex, so the warning is silenced here alone.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "index/filter.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <regex>
#include <utility>

namespace lumodb {

struct CompiledFilter::Regex {
  std::regex regex;
};

namespace {

using nlohmann::json;

constexpr char kUsage[] = "use FIELD OP VALUE, OP one of == != < <= > >= ~";
constexpr char kOperatorChars[] = "=!<>~";
constexpr const char* kOperators[] = {"==", "!=", "<=", ">=", "<", ">", "~"};

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

bool IsOperatorChar(char c) {
  return std::string_view(kOperatorChars).find(c) != std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsOperator(std::string_view op) {
  for (const char* known : kOperators) {
    if (op == known) return true;
  }
  return false;
}

// Dumps never throw on invalid UTF-8 in a run; such bytes become U+FFFD.
std::string CompactJson(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

Status ParseError(const std::string& text, const std::string& what) {
  return Status::InvalidArgument("filter '" + text + "' " + what);
}

// `"..."` -> its contents, with \" and \\ unescaped. Other backslashes stay,
// so a quoted regex such as "\d+" keeps its meaning.
Status Unquote(const std::string& text, std::string_view quoted,
               std::string* out) {
  out->clear();
  for (size_t i = 1; i < quoted.size(); i++) {
    char c = quoted[i];
    if (c == '\\' && i + 1 < quoted.size() &&
        (quoted[i + 1] == '"' || quoted[i + 1] == '\\')) {
      out->push_back(quoted[++i]);
    } else if (c == '"') {
      if (i + 1 != quoted.size()) {
        return ParseError(text,
                          "has text after the closing quote of its value: "
                          "quote the whole VALUE, e.g. note == \"two words\"");
      }
      return Status::OK();
    } else {
      out->push_back(c);
    }
  }
  return ParseError(text,
                    "has a value with no closing quote: write \\\" for a "
                    "quote inside, e.g. note == \"say \\\"hi\\\"\"");
}

// Exact when both are integers; otherwise as doubles, NaN first.
int CompareNumbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool a_neg = a.is_number_unsigned() ? false : a.get<int64_t>() < 0;
    bool b_neg = b.is_number_unsigned() ? false : b.get<int64_t>() < 0;
    if (a_neg != b_neg) return a_neg ? -1 : 1;
    if (a_neg) {
      int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  double x = a.get<double>(), y = b.get<double>();
  if (std::isnan(x) || std::isnan(y)) {
    return std::isnan(x) == std::isnan(y) ? 0 : (std::isnan(x) ? -1 : 1);
  }
  return x < y ? -1 : (x > y ? 1 : 0);
}

// A string field holding a number ("0.1" written by a shell script) is
// compared as that number.
bool ParseNumber(const std::string& text, json* out) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_number()) return false;
  *out = std::move(parsed);
  return true;
}

int TypeRank(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return 0;
    case json::value_t::boolean:
      return 1;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return 2;
    case json::value_t::string:
      return 3;
    case json::value_t::array:
      return 4;
    case json::value_t::object:
      return 5;
    case json::value_t::binary:
      return 6;
    case json::value_t::discarded:
      return 7;
  }
  return 7;
}

const json* Walk(const json& node, std::string_view path) {
  if (node.is_object()) {
    // Longest prefix first: the whole path, then up to each dot from the
    // right, backing off when the rest of the path is not found below.
    size_t end = path.size();
    while (true) {
      auto it = node.find(std::string(path.substr(0, end)));
      if (it != node.end()) {
        if (end == path.size()) return &*it;
        if (end + 1 < path.size()) {
          const json* found = Walk(*it, path.substr(end + 1));
          if (found != nullptr) return found;
        }
      }
      if (end == 0) return nullptr;
      end = path.rfind('.', end - 1);
      if (end == std::string_view::npos) return nullptr;
    }
  }
  if (node.is_array()) {
    size_t dot = path.find('.');
    std::string_view index_text = path.substr(0, dot);
    size_t index = 0;
    auto [ptr, ec] = std::from_chars(
        index_text.data(), index_text.data() + index_text.size(), index);
    if (index_text.empty() || ec != std::errc() ||
        ptr != index_text.data() + index_text.size() || index >= node.size()) {
      return nullptr;
    }
    if (dot == std::string_view::npos) return &node[index];
    if (dot + 1 == path.size()) return nullptr;
    return Walk(node[index], path.substr(dot + 1));
  }
  return nullptr;
}

}  // namespace

Status Filter::Parse(const std::string& text, Filter* out) {
  std::string_view t = Trim(text);
  if (t.empty()) {
    return ParseError(
        text, "is empty: " + std::string(kUsage) + ", e.g. params.lr>=0.1");
  }
  size_t op_begin = 0;
  while (op_begin < t.size() && !IsOperatorChar(t[op_begin])) op_begin++;
  if (op_begin == t.size()) {
    return ParseError(text, "has no operator: " + std::string(kUsage));
  }
  size_t op_end = op_begin;
  while (op_end < t.size() && IsOperatorChar(t[op_end])) op_end++;
  std::string_view op = t.substr(op_begin, op_end - op_begin);
  // A run of operator characters must be exactly one operator, so typos such
  // as "=>" or "===" are reported rather than read as part of the value.
  if (!IsOperator(op)) {
    return ParseError(text, "has unknown operator '" + std::string(op) +
                                "': " + kUsage +
                                " (put a space after OP when VALUE starts "
                                "with one of = ! < > ~)");
  }
  std::string_view field = Trim(t.substr(0, op_begin));
  if (field.empty()) {
    return ParseError(text, "has no field before '" + std::string(op) +
                                "': " + kUsage + ", e.g. metrics.acc > 0.9");
  }
  for (char c : field) {
    if (IsSpace(c)) {
      return ParseError(text, "has a space in its field '" +
                                  std::string(field) +
                                  "': FIELD is a dotted path such as "
                                  "params.lr or metrics.acc");
    }
  }
  std::string_view value = Trim(t.substr(op_end));
  std::string value_text(value);
  if (!value.empty() && value.front() == '"') {
    std::string unquoted;
    Status s = Unquote(text, value, &unquoted);
    if (!s.ok()) return s;
    // Kept as JSON string text so that Compile sees a string even when the
    // contents look like a number ("1").
    value_text = CompactJson(json(unquoted));
  } else if (value.empty() && op != "==" && op != "!=") {
    return ParseError(text, "has no value after '" + std::string(op) + "': " +
                                kUsage + ", e.g. " + std::string(field) + " " +
                                std::string(op) + " 1");
  }
  out->field = std::string(field);
  out->op = std::string(op);
  out->value = std::move(value_text);
  return Status::OK();
}

const json* LookupPath(const json& run, std::string_view dotted) {
  if (dotted.empty()) return nullptr;
  return Walk(run, dotted);
}

int CompareJson(const json& a, const json& b) {
  int ra = TypeRank(a), rb = TypeRank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return static_cast<int>(a.get<bool>()) - static_cast<int>(b.get<bool>());
    case 2:
      return CompareNumbers(a, b);
    case 3: {
      int c = a.get_ref<const std::string&>().compare(
          b.get_ref<const std::string&>());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    default: {
      int c = CompactJson(a).compare(CompactJson(b));
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
  }
}

std::string JsonCellText(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return v.get_ref<const std::string&>();
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::null:
      return "";
    case json::value_t::number_integer:
      return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned:
      return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float: {
      // Shortest text that reads back as the same double: 0.1, 3, 1e-05.
      char buf[64];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v.get<double>());
      if (ec != std::errc()) return CompactJson(v);
      return std::string(buf, ptr);
    }
    default:
      return CompactJson(v);
  }
}

Status CompiledFilter::Compile(const Filter& f, CompiledFilter* out) {
  std::string text = f.field + " " + f.op + " " + f.value;
  static const std::pair<const char*, Op> kOps[] = {
      {"==", Op::kEq}, {"!=", Op::kNe}, {"<", Op::kLt},    {"<=", Op::kLe},
      {">", Op::kGt},  {">=", Op::kGe}, {"~", Op::kRegex},
  };
  bool known = false;
  Op op = Op::kEq;
  for (const auto& [name, code] : kOps) {
    if (f.op == name) {
      known = true;
      op = code;
    }
  }
  if (!known) {
    return ParseError(text, "has unknown operator '" + f.op + "': " + kUsage);
  }
  if (f.field.empty()) {
    return ParseError(text, "has no field: " + std::string(kUsage));
  }

  json value = json::parse(f.value, nullptr, /*allow_exceptions=*/false);
  if (!(value.is_number() || value.is_boolean() || value.is_null() ||
        value.is_string())) {
    value = f.value;  // a bare word, or JSON we only compare as text
  }

  std::shared_ptr<const Regex> regex;
  if (op == Op::kRegex) {
    // `x ~ 1.50` searches for the text as written, not the number 1.5.
    std::string pattern =
        value.is_string() ? value.get<std::string>() : f.value;
    try {
      regex = std::make_shared<const Regex>(
          Regex{std::regex(pattern, std::regex::ECMAScript)});
    } catch (const std::regex_error& e) {
      return ParseError(text, "has a bad regex '" + pattern + "': " + e.what() +
                                  " (the pattern is ECMAScript, e.g. "
                                  "^mnist\\.)");
    }
  }

  out->filter_ = f;
  out->op_ = op;
  out->value_ = std::move(value);
  out->regex_ = std::move(regex);
  return Status::OK();
}

bool CompiledFilter::Matches(const json& run) const {
  return MatchesValue(LookupPath(run, filter_.field));
}

bool CompiledFilter::MatchesValue(const json* field) const {
  if (field == nullptr) return op_ == Op::kNe;
  switch (op_) {
    case Op::kEq:
      return Equal(*field);
    case Op::kNe:
      return !Equal(*field);
    case Op::kRegex:
      return Search(*field);
    default:
      return Ordered(*field);
  }
}

bool CompiledFilter::Equal(const json& field) const {
  if (value_.is_number()) {
    if (field.is_number()) return CompareNumbers(field, value_) == 0;
    json number;
    return field.is_string() &&
           ParseNumber(field.get_ref<const std::string&>(), &number) &&
           CompareNumbers(number, value_) == 0;
  }
  if (value_.is_string()) {
    // A number field against "0.1" compares as text, so only the exact
    // spelling matches; null reads as "" so `note ==` finds empty notes.
    return JsonCellText(field) == value_.get_ref<const std::string&>();
  }
  if (value_.is_boolean()) {
    return field.is_boolean() && field.get<bool>() == value_.get<bool>();
  }
  return field.is_null() && value_.is_null();
}

bool CompiledFilter::Ordered(const json& field) const {
  int c = 0;
  if (value_.is_number()) {
    json number;
    if (field.is_number()) {
      c = CompareNumbers(field, value_);
    } else if (field.is_string() &&
               ParseNumber(field.get_ref<const std::string&>(), &number)) {
      c = CompareNumbers(number, value_);
    } else {
      return false;
    }
  } else if (value_.is_string() && field.is_string()) {
    c = field.get_ref<const std::string&>().compare(
        value_.get_ref<const std::string&>());
  } else {
    return false;
  }
  switch (op_) {
    case Op::kLt:
      return c < 0;
    case Op::kLe:
      return c <= 0;
    case Op::kGt:
      return c > 0;
    case Op::kGe:
      return c >= 0;
    default:
      return false;
  }
}

bool CompiledFilter::Search(const json& field) const {
  if (regex_ == nullptr) return false;
  if (field.is_array()) {
    for (const json& element : field) {
      if (Search(element)) return true;
    }
    return false;
  }
  // std::regex may throw while matching (error_complexity, error_stack on
  // huge inputs); such a run simply does not match.
  try {
    return std::regex_search(JsonCellText(field), regex_->regex);
  } catch (const std::regex_error&) {
    return false;
  }
}

}  // namespace lumodb

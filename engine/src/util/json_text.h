// JSON text without a tree: appending strings and numbers exactly as
// nlohmann::json dumps them, re-indenting compact text as dump(2) does, and
// walking the members of an object or the elements of an array in place.
// The streamed read path (index/run_text.cc) writes whole runs with these,
// never building a per-run nlohmann::json.
#ifndef LUMODB_UTIL_JSON_TEXT_H_
#define LUMODB_UTIL_JSON_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lumodb {

// "text" with JSON escapes as nlohmann::json writes them (\" \\ \b \f \n
// \r \t, other control characters as \u00xx); bytes that are not UTF-8
// become U+FFFD.
void AppendJsonString(std::string_view s, std::string* out);
// A double as nlohmann::json writes it: the shortest text that reads back
// as the same value, with ".0" on integral values (1.0, 0.1, 1e-05);
// NaN and infinities as null.
void AppendJsonDouble(double d, std::string* out);
void AppendJsonInt(int64_t i, std::string* out);

// Compact JSON text (no whitespace outside strings, as nlohmann::json's
// dump() writes it) re-indented as dump(indent) writes the same value:
// members and elements one per line, "key": value, {} and [] when empty.
// level is the indentation level the text starts at.
void AppendPrettyJson(std::string_view compact, int indent, int level, std::string* out);

// The kind of a JSON value from its first character.
enum class JsonKind { kInvalid, kNull, kBool, kNumber, kString, kArray, kObject };
JsonKind KindOf(std::string_view value);

// The end of the JSON value that starts at text[pos] (compact or not):
// the index just past it, or std::string_view::npos if it is cut short.
size_t SkipJsonValue(std::string_view text, size_t pos);

// Calls fn(key, value) for each member of the object in text, in order;
// key is unescaped (a view valid during the call), value is the member's
// JSON text. Returns false, having called fn for the members
// before, if text is not a well-formed object. fn returns false to stop.
template <typename Fn>
bool ForEachMember(std::string_view object, Fn fn);
// Calls fn(index, value) for each element of the array in text.
template <typename Fn>
bool ForEachElement(std::string_view array, Fn fn);

// The string a JSON string literal holds, unescaped (appended to out).
// False if literal is not a well-formed string literal.
bool UnescapeJsonString(std::string_view literal, std::string* out);

// The value at a dotted path inside a JSON value, found as LookupPath
// (index/filter.h) finds it in a tree: at each object, the longest member
// name that is the path or a prefix of it followed by a dot wins, falling
// back to shorter ones; array elements are named by their index. Empty
// path: the value itself. False when the path leads nowhere.
bool FindJsonPath(std::string_view value, std::string_view path, std::string_view* found);

// ---- implementation of the templates ----

namespace json_text_internal {
size_t SkipSpace(std::string_view t, size_t pos);
}  // namespace json_text_internal

template <typename Fn>
bool ForEachMember(std::string_view t, Fn fn) {
  using json_text_internal::SkipSpace;
  size_t pos = SkipSpace(t, 0);
  if (pos >= t.size() || t[pos] != '{') return false;
  pos = SkipSpace(t, pos + 1);
  if (pos < t.size() && t[pos] == '}') return true;
  std::string key;
  while (pos < t.size()) {
    if (t[pos] != '"') return false;
    size_t key_end = SkipJsonValue(t, pos);
    if (key_end == std::string_view::npos) return false;
    // Most names hold no escape: their bytes are the name.
    std::string_view name = t.substr(pos + 1, key_end - pos - 2);
    if (name.find('\\') != std::string_view::npos) {
      key.clear();
      if (!UnescapeJsonString(t.substr(pos, key_end - pos), &key)) return false;
      name = key;
    }
    pos = SkipSpace(t, key_end);
    if (pos >= t.size() || t[pos] != ':') return false;
    pos = SkipSpace(t, pos + 1);
    size_t value_end = SkipJsonValue(t, pos);
    if (value_end == std::string_view::npos) return false;
    if (!fn(name, t.substr(pos, value_end - pos))) return true;
    pos = SkipSpace(t, value_end);
    if (pos >= t.size()) return false;
    if (t[pos] == '}') return true;
    if (t[pos] != ',') return false;
    pos = SkipSpace(t, pos + 1);
  }
  return false;
}

template <typename Fn>
bool ForEachElement(std::string_view t, Fn fn) {
  using json_text_internal::SkipSpace;
  size_t pos = SkipSpace(t, 0);
  if (pos >= t.size() || t[pos] != '[') return false;
  pos = SkipSpace(t, pos + 1);
  if (pos < t.size() && t[pos] == ']') return true;
  for (size_t index = 0; pos < t.size(); ++index) {
    size_t end = SkipJsonValue(t, pos);
    if (end == std::string_view::npos) return false;
    if (!fn(index, t.substr(pos, end - pos))) return true;
    pos = SkipSpace(t, end);
    if (pos >= t.size()) return false;
    if (t[pos] == ']') return true;
    if (t[pos] != ',') return false;
    pos = SkipSpace(t, pos + 1);
  }
  return false;
}

}  // namespace lumodb

#endif  // LUMODB_UTIL_JSON_TEXT_H_

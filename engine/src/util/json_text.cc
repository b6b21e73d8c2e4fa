// JSON text without a tree (see json_text.h).
#include "util/json_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <nlohmann/detail/conversions/to_chars.hpp>

namespace lumodb {

namespace json_text_internal {

size_t SkipSpace(std::string_view t, size_t pos) {
  while (pos < t.size() && (t[pos] == ' ' || t[pos] == '\n' || t[pos] == '\r' || t[pos] == '\t')) {
    ++pos;
  }
  return pos;
}

}  // namespace json_text_internal

using json_text_internal::SkipSpace;

namespace {

// Length of the UTF-8 sequence at s[i] if it is well-formed, else 0.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  // No overlong forms, surrogates or code points past U+10FFFF.
  if (c == 0xE0 && b(1) < 0xA0) return 0;
  if (c == 0xED && b(1) >= 0xA0) return 0;
  if (c == 0xF0 && b(1) < 0x90) return 0;
  if (c == 0xF4 && b(1) >= 0x90) return 0;
  return n;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

namespace {

// Bytes a JSON string can hold as they are: printable ASCII but " and \.
struct PlainBytes {
  bool plain[256];
  constexpr PlainBytes() : plain() {
    for (int c = 0x20; c < 0x80; ++c) plain[c] = c != '"' && c != '\\';
  }
};
constexpr PlainBytes kPlain;

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && kPlain.plain[p[run]]) ++run;
    out->append(s.data() + i, run - i);
    i = run;
    if (i == n) break;
    const unsigned char c = p[i];
    switch (c) {
      case '"':
        out->append("\\\"");
        ++i;
        continue;
      case '\\':
        out->append("\\\\");
        ++i;
        continue;
      case '\b':
        out->append("\\b");
        ++i;
        continue;
      case '\f':
        out->append("\\f");
        ++i;
        continue;
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out->append(esc, 6);
      ++i;
    } else if (size_t len = Utf8Length(s, i); len > 0) {
      out->append(s.data() + i, len);
      i += len;
    } else {
      out->append("\xEF\xBF\xBD");  // U+FFFD for a byte that is not UTF-8
      ++i;
    }
  }
  out->push_back('"');
}

void AppendJsonDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  char buf[64];
  char* end = nlohmann::detail::to_chars(buf, buf + sizeof(buf), d);
  out->append(buf, static_cast<size_t>(end - buf));
}

void AppendJsonInt(int64_t i, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), i);
  out->append(buf, static_cast<size_t>(end - buf));
}

void AppendPrettyJson(std::string_view t, int indent, int level, std::string* out) {
  auto newline = [&](int at) {
    out->push_back('\n');
    out->append(static_cast<size_t>(indent * at), ' ');
  };
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    switch (c) {
      case '"': {
        size_t end = SkipJsonValue(t, i);
        if (end == std::string_view::npos) end = t.size();
        out->append(t.data() + i, end - i);
        i = end - 1;
        break;
      }
      case '{':
      case '[': {
        const char close = c == '{' ? '}' : ']';
        if (i + 1 < t.size() && t[i + 1] == close) {
          out->push_back(c);
          out->push_back(close);
          ++i;
        } else {
          out->push_back(c);
          newline(++level);
        }
        break;
      }
      case '}':
      case ']':
        newline(--level);
        out->push_back(c);
        break;
      case ',':
        out->push_back(',');
        newline(level);
        break;
      case ':':
        out->append(": ");
        break;
      default:
        out->push_back(c);
    }
  }
}

JsonKind KindOf(std::string_view v) {
  size_t pos = SkipSpace(v, 0);
  if (pos >= v.size()) return JsonKind::kInvalid;
  switch (v[pos]) {
    case 'n':
      return JsonKind::kNull;
    case 't':
    case 'f':
      return JsonKind::kBool;
    case '"':
      return JsonKind::kString;
    case '[':
      return JsonKind::kArray;
    case '{':
      return JsonKind::kObject;
    default:
      return (v[pos] == '-' || (v[pos] >= '0' && v[pos] <= '9')) ? JsonKind::kNumber
                                                                 : JsonKind::kInvalid;
  }
}

size_t SkipJsonValue(std::string_view t, size_t pos) {
  if (pos >= t.size()) return std::string_view::npos;
  const char c = t[pos];
  if (c == '"') {
    for (size_t i = pos + 1; i < t.size(); ++i) {
      if (t[i] == '\\') {
        ++i;
      } else if (t[i] == '"') {
        return i + 1;
      }
    }
    return std::string_view::npos;
  }
  if (c == '{' || c == '[') {
    int depth = 0;
    for (size_t i = pos; i < t.size(); ++i) {
      const char d = t[i];
      if (d == '"') {
        size_t end = SkipJsonValue(t, i);
        if (end == std::string_view::npos) return end;
        i = end - 1;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return std::string_view::npos;
  }
  // A number, true, false or null: up to the next delimiter.
  size_t i = pos;
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' &&
         t[i] != '\r' && t[i] != '\t' && t[i] != ':') {
    ++i;
  }
  return i == pos ? std::string_view::npos : i;
}

bool UnescapeJsonString(std::string_view lit, std::string* out) {
  if (lit.size() < 2 || lit.front() != '"' || lit.back() != '"') return false;
  for (size_t i = 1; i + 1 < lit.size(); ++i) {
    const char c = lit[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i + 2 >= lit.size()) return false;
    const char e = lit[++i];
    switch (e) {
      case '"':
        out->push_back('"');
        break;
      case '\\':
        out->push_back('\\');
        break;
      case '/':
        out->push_back('/');
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        auto hex4 = [&](size_t at, uint32_t* v) {
          if (at + 4 > lit.size() - 1) return false;
          *v = 0;
          for (size_t k = at; k < at + 4; ++k) {
            int h = HexValue(lit[k]);
            if (h < 0) return false;
            *v = *v * 16 + static_cast<uint32_t>(h);
          }
          return true;
        };
        uint32_t cp = 0;
        if (!hex4(i + 1, &cp)) return false;
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
          uint32_t low = 0;
          if (i + 2 < lit.size() && lit[i + 1] == '\\' && lit[i + 2] == 'u' && hex4(i + 3, &low) &&
              low >= 0xDC00 && low < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

bool FindJsonPath(std::string_view value, std::string_view path, std::string_view* found) {
  while (!path.empty()) {
    const JsonKind kind = KindOf(value);
    std::string_view next;
    size_t best = 0;  // length of the longest member name that matches
    bool matched = false;
    if (kind == JsonKind::kObject) {
      // The longest name wins; a shorter one is tried only if the longer
      // one leads nowhere, as LookupPath does.
      std::string_view candidates_path = path;
      bool ok = false;
      ForEachMember(value, [&](std::string_view key, std::string_view v) {
        if (key.size() > candidates_path.size()) return true;
        if (candidates_path.compare(0, key.size(), key) != 0) return true;
        if (key.size() != candidates_path.size() &&
            (candidates_path[key.size()] != '.' || key.size() + 1 == candidates_path.size())) {
          return true;  // not followed by a dot and more path
        }
        std::string_view rest =
            key.size() == candidates_path.size() ? "" : candidates_path.substr(key.size() + 1);
        std::string_view sub;
        if ((!matched || key.size() > best) && FindJsonPath(v, rest, &sub)) {
          matched = true;
          best = key.size();
          next = sub;
          ok = true;
        }
        return true;
      });
      if (!ok) return false;
      *found = next;
      return true;
    }
    if (kind == JsonKind::kArray) {
      size_t dot = path.find('.');
      std::string_view head = path.substr(0, dot);
      if (head.empty() || head.size() > 9) return false;
      size_t index = 0;
      for (char c : head) {
        if (c < '0' || c > '9') return false;
        index = index * 10 + static_cast<size_t>(c - '0');
      }
      std::string_view element;
      bool have = false;
      ForEachElement(value, [&](size_t i, std::string_view v) {
        if (i != index) return true;
        element = v;
        have = true;
        return false;
      });
      if (!have || (dot != std::string_view::npos && dot + 1 == path.size())) return false;
      value = element;
      path = dot == std::string_view::npos ? "" : path.substr(dot + 1);
      continue;
    }
    return false;
  }
  *found = value;
  return true;
}

}  // namespace lumodb

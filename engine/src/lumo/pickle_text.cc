// Byte and text conversions for DecodePickle; see pickle_text.h.
#include "lumo/pickle_text.h"

#include <cmath>
#include <vector>

namespace lumodb::pickle {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at in[pos], or 0.
size_t ValidSequenceLength(std::string_view in, size_t pos) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(in[pos + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (pos + n > in.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((byte(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(k) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return n;
}

}  // namespace

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;  // lone surrogates are not UTF-8
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string SanitizeUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t n = ValidSequenceLength(in, pos);
    if (n == 0) {
      AppendUtf8(0xfffd, &out);
      pos++;
    } else {
      out.append(in.substr(pos, n));
      pos += n;
    }
  }
  return out;
}

std::string Latin1ToUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) AppendUtf8(static_cast<unsigned char>(c), &out);
  return out;
}

bool Utf8ToLatin1(std::string_view in, std::string* out) {
  out->clear();
  size_t pos = 0;
  while (pos < in.size()) {
    const size_t n = ValidSequenceLength(in, pos);
    if (n == 1) {
      out->push_back(in[pos]);
    } else if (n == 2 && static_cast<unsigned char>(in[pos]) <= 0xc3) {
      out->push_back(static_cast<char>(((in[pos] & 0x03) << 6) | (in[pos + 1] & 0x3f)));
    } else {
      return false;
    }
    pos += n;
  }
  return true;
}

bool DecodeStringEscapes(std::string_view in, std::string* out) {
  out->clear();
  for (size_t pos = 0; pos < in.size(); pos++) {
    if (in[pos] != '\\') {
      out->push_back(in[pos]);
      continue;
    }
    if (++pos == in.size()) return false;  // Python: "Trailing \ in string"
    const char c = in[pos];
    switch (c) {
      case '\n': break;
      case '\\': out->push_back('\\'); break;
      case '\'': out->push_back('\''); break;
      case '"': out->push_back('"'); break;
      case 'a': out->push_back('\a'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case 'x': {
        if (pos + 2 >= in.size()) return false;  // needs exactly two hex digits
        const int hi = HexValue(in[pos + 1]);
        const int lo = HexValue(in[pos + 2]);
        if (hi < 0 || lo < 0) return false;
        out->push_back(static_cast<char>(hi * 16 + lo));
        pos += 2;
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int value = c - '0';
          for (int k = 0; k < 2 && pos + 1 < in.size() && in[pos + 1] >= '0' && in[pos + 1] <= '7';
               k++) {
            value = value * 8 + (in[++pos] - '0');
          }
          out->push_back(static_cast<char>(value & 0xff));
        } else {
          out->push_back('\\');  // Python keeps unknown escapes as written
          out->push_back(c);
        }
    }
  }
  return true;
}

bool DecodeRawUnicodeEscape(std::string_view in, std::string* out) {
  out->clear();
  for (size_t pos = 0; pos < in.size(); pos++) {
    const unsigned char c = static_cast<unsigned char>(in[pos]);
    if (c == '\\' && pos + 1 < in.size() && (in[pos + 1] == 'u' || in[pos + 1] == 'U')) {
      const size_t digits = in[pos + 1] == 'u' ? 4 : 8;
      if (pos + 2 + digits > in.size()) return false;
      uint32_t cp = 0;
      for (size_t k = 0; k < digits; k++) {
        const int h = HexValue(in[pos + 2 + k]);
        if (h < 0) return false;
        cp = cp * 16 + static_cast<uint32_t>(h);
      }
      if (cp > 0x10ffff) return false;
      AppendUtf8(cp, out);
      pos += 1 + digits;
    } else {
      AppendUtf8(c, out);
    }
  }
  return true;
}

std::string TwosComplementToDecimal(std::string_view le) {
  if (le.empty()) return "0";
  const bool negative = (static_cast<unsigned char>(le.back()) & 0x80) != 0;
  // Magnitude as base-2^32 limbs, least significant first.
  std::vector<uint32_t> limbs((le.size() + 3) / 4, 0);
  for (size_t k = 0; k < le.size(); k++) {
    uint32_t b = static_cast<unsigned char>(le[k]);
    if (negative) b = ~b & 0xff;
    limbs[k / 4] |= b << (8 * (k % 4));
  }
  if (negative) {  // -x = ~x + 1 over the stored width
    for (uint32_t& limb : limbs) {
      if (++limb != 0) break;
    }
    // Carry beyond the width can only happen for an all-zero input, which
    // is not negative, so the limbs now hold the magnitude.
  }
  // Bits above the stored width must be zero for the magnitude.
  if (le.size() % 4 != 0) limbs.back() &= (1u << (8 * (le.size() % 4))) - 1;
  std::string digits;
  while (!limbs.empty()) {
    uint64_t rem = 0;
    for (size_t k = limbs.size(); k-- > 0;) {
      const uint64_t cur = (rem << 32) | limbs[k];
      limbs[k] = static_cast<uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
    for (int k = 0; k < 9; k++) {
      digits.push_back(static_cast<char>('0' + rem % 10));
      rem /= 10;
      if (limbs.empty() && rem == 0) break;
    }
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  if (digits.empty()) digits = "0";
  if (negative && digits != "0") digits.push_back('-');
  return std::string(digits.rbegin(), digits.rend());
}

std::string Base64(std::string_view in) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t pos = 0;
  for (; pos + 3 <= in.size(); pos += 3) {
    const uint32_t v = (static_cast<unsigned char>(in[pos]) << 16) |
                       (static_cast<unsigned char>(in[pos + 1]) << 8) |
                       static_cast<unsigned char>(in[pos + 2]);
    for (int k = 3; k >= 0; k--) out.push_back(kAlphabet[(v >> (6 * k)) & 0x3f]);
  }
  const size_t rest = in.size() - pos;
  if (rest > 0) {
    uint32_t v = static_cast<unsigned char>(in[pos]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(in[pos + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 0x3f] : '=');
    out.push_back('=');
  }
  return out;
}

double HalfToDouble(uint16_t half) {
  const bool negative = (half & 0x8000) != 0;
  const int exponent = (half >> 10) & 0x1f;
  const int mantissa = half & 0x3ff;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);  // subnormal
  } else if (exponent == 31) {
    value = mantissa == 0 ? HUGE_VAL : std::nan("");
  } else {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return negative ? -value : value;
}

}  // namespace lumodb::pickle

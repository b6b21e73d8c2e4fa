// Byte and text conversions DecodePickle needs: UTF-8 repair, Python string
// escapes, big integers, base64 and half-precision floats.
#ifndef LUMODB_ENGINE_PICKLE_TEXT_H_
#define LUMODB_ENGINE_PICKLE_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace lumodb::pickle {

// in as UTF-8, each byte that is not part of a valid sequence (and each
// encoded surrogate, which Python's "surrogatepass" lets through) replaced
// by U+FFFD, so the JSON can always be written.
std::string SanitizeUtf8(std::string_view in);
void AppendUtf8(uint32_t code_point, std::string* out);
// Each byte is the code point of the same number.
std::string Latin1ToUtf8(std::string_view in);
// False when a code point is above U+00FF or the input is not UTF-8.
bool Utf8ToLatin1(std::string_view in, std::string* out);

// The argument of protocol 0's STRING without its quotes, with Python's
// backslash escapes undone. False on a bad \x escape or a lone backslash.
bool DecodeStringEscapes(std::string_view in, std::string* out);
// The argument of protocol 0's UNICODE (raw-unicode-escape) as UTF-8.
bool DecodeRawUnicodeEscape(std::string_view in, std::string* out);

// A little-endian two's-complement integer, as LONG1 and LONG4 store it, in
// decimal ("-123"). Quadratic in the length: callers bound it.
std::string TwosComplementToDecimal(std::string_view little_endian);

std::string Base64(std::string_view in);
double HalfToDouble(uint16_t half);

}  // namespace lumodb::pickle

#endif  // LUMODB_ENGINE_PICKLE_TEXT_H_

// TEMPORARY: EncodePickleFloatDict (declared in pickle.h) until the real
// pickle encoder lands; then delete this file. Writes what Python's
// pickle.dumps(d, protocol=4) writes for a dict str -> float: PROTO 4,
// FRAME (when the body is at least 4 bytes, as Python), EMPTY_DICT,
// MEMOIZE, then per batch of up to 1000 items MARK (key MEMOIZE BINFLOAT)*
// SETITEMS, or key MEMOIZE BINFLOAT SETITEM for a batch of one, and STOP.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "pickle.h"

namespace lumodb {

namespace {

void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string EncodePickleFloatDict(const std::vector<std::pair<std::string, double>>& items) {
  std::string body;
  body.push_back('}');     // EMPTY_DICT
  body.push_back('\x94');  // MEMOIZE
  const size_t kBatch = 1000;  // pickle's _BATCHSIZE
  for (size_t begin = 0; begin < items.size(); begin += kBatch) {
    const size_t end = std::min(items.size(), begin + kBatch);
    const bool many = end - begin > 1;
    if (many) body.push_back('(');  // MARK
    for (size_t i = begin; i < end; ++i) {
      const std::string& key = items[i].first;
      if (key.size() < 256) {
        body.push_back('\x8c');  // SHORT_BINUNICODE
        body.push_back(static_cast<char>(key.size()));
      } else {
        body.push_back('X');  // BINUNICODE
        PutLE(&body, key.size(), 4);
      }
      body += key;
      body.push_back('\x94');  // MEMOIZE
      body.push_back('G');     // BINFLOAT, big-endian
      double d = items[i].second;
      uint64_t bits;
      if (std::isnan(d)) {
        bits = 0x7ff8000000000000ULL;  // Python's float('nan')
      } else {
        std::memcpy(&bits, &d, sizeof(bits));
      }
      for (int b = 7; b >= 0; --b) body.push_back(static_cast<char>((bits >> (8 * b)) & 0xff));
    }
    body.push_back(many ? 'u' : 's');  // SETITEMS or SETITEM
  }
  body.push_back('.');  // STOP
  std::string out = "\x80\x04";  // PROTO 4
  if (body.size() >= 4) {
    out.push_back('\x95');  // FRAME
    PutLE(&out, body.size(), 8);
  }
  return out + body;
}

}  // namespace lumodb

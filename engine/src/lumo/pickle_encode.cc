// EncodePickleFloatDict: writes metric.pkl the way CPython's C pickler does,
// so lumo reads what lumo-db writes.
#include <cstdint>
#include <cstring>
#include <string>

#include "lumo/pickle.h"

namespace lumodb {

namespace {

constexpr size_t kBatchSize = 1000;  // CPython's BATCHSIZE for SETITEMS
constexpr size_t kFrameSizeMin = 4;  // CPython writes no FRAME below this

void PutLittleEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutItem(std::string* body, const std::string& key, double value) {
  if (key.size() < 256) {
    body->push_back('\x8c');  // SHORT_BINUNICODE
    body->push_back(static_cast<char>(key.size()));
  } else {
    body->push_back('X');  // BINUNICODE
    PutLittleEndian(body, key.size(), 4);
  }
  body->append(key);
  body->push_back('\x94');  // MEMOIZE: the C pickler memoizes every str
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  body->push_back('G');  // BINFLOAT, big-endian
  for (int i = 7; i >= 0; i--) body->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

}  // namespace

std::string EncodePickleFloatDict(const std::vector<std::pair<std::string, double>>& items) {
  std::string body;
  body.push_back('}');     // EMPTY_DICT
  body.push_back('\x94');  // MEMOIZE
  if (items.size() == 1) {
    PutItem(&body, items[0].first, items[0].second);
    body.push_back('s');  // SETITEM
  } else if (items.size() > 1) {
    // Like CPython's batch_dict_exact: a full last batch is followed by an
    // empty MARK/SETITEMS pair.
    size_t i = 0;
    size_t in_batch;
    do {
      body.push_back('(');  // MARK
      in_batch = 0;
      while (i < items.size() && in_batch < kBatchSize) {
        PutItem(&body, items[i].first, items[i].second);
        i++;
        in_batch++;
      }
      body.push_back('u');  // SETITEMS
    } while (in_batch == kBatchSize);
  }
  body.push_back('.');  // STOP

  std::string out("\x80\x04", 2);  // PROTO 4
  if (body.size() >= kFrameSizeMin) {
    out.push_back('\x95');  // FRAME
    PutLittleEndian(&out, body.size(), 8);
  }
  out += body;
  return out;
}

}  // namespace lumodb

// The values DecodePickle builds before it writes JSON: a graph, because a
// pickle's memo lets one object appear in several places (even inside itself).
#ifndef LUMODB_ENGINE_PICKLE_VALUE_H_
#define LUMODB_ENGINE_PICKLE_VALUE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lumodb::pickle {

enum class Kind : uint8_t {
  kNone,
  kBool,
  kInt,
  kUInt,      // above int64's range, within uint64's
  kBigInt,    // s: decimal digits with an optional '-'
  kFloat,
  kStr,       // s: UTF-8
  kPy2Str,    // s: the raw bytes of a Python 2 str, read as latin-1
  kBytes,     // s: raw bytes
  kList,      // items
  kTuple,     // items
  kSet,       // items
  kDict,      // items: key, value, key, value ...
  kGlobal,    // s: "<module>.<name>"; global: which one, if understood
  kDtype,     // s: "f8", "i4", ...; byte_order: '<' '>' '|' '='
  kUnsupported,  // s: the global (or opcode) that would have been called
};

// The globals DecodePickle understands. It still never calls them: it
// recognises their arguments and builds the value they stand for.
enum class Global : uint8_t {
  kOther,
  kNumpyScalar,  // numpy.core.multiarray.scalar(dtype, bytes)
  kNumpyDtype,   // numpy.dtype("f8", False, True) + BUILD state
  kOrderedDict,  // collections.OrderedDict()
  kSet,          // builtins.set(iterable)
  kFrozenSet,    // builtins.frozenset(iterable)
  kBytes,        // builtins.bytes() or bytearray(), protocol 2's b''
  kCodecsEncode,  // _codecs.encode(str, "latin1"), protocol 2's bytes
};

// Nodes live in the decoder's arena and point at each other with raw
// pointers, so cycles neither leak nor need reference counts.
struct Node {
  Kind kind = Kind::kNone;
  Global global = Global::kOther;
  char byte_order = '=';
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  std::string s;
  std::vector<Node*> items;
};

}  // namespace lumodb::pickle

#endif  // LUMODB_ENGINE_PICKLE_VALUE_H_

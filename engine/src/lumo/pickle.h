// Reading lumo's metric.pkl as data only, and writing one the way Python does.
//
// lumo stores a run's metrics as a Python pickle. Unpickling in Python runs
// whatever callables the file names, so an untrusted backup can run code.
// DecodePickle interprets the opcodes itself and never calls or imports
// anything: only a short list of globals is understood (numpy scalars and
// dtypes, OrderedDict, set, frozenset, _codecs.encode for latin-1 bytes);
// any other global becomes {"__unsupported__": "<module>.<name>"} plus a
// warning, and decoding goes on.
//
// Mapping to JSON:
//   None, bool, int, float, str   -> null, bool, number, number, string
//   int outside int64 and uint64  -> string of decimal digits (exact); ints
//                                    longer than 1024 bytes are unsupported
//   bytes, bytearray              -> {"__bytes__": "<base64>"}
//   Python 2 str (STRING, BINSTRING, SHORT_BINSTRING) -> string, latin-1
//   list, tuple, set, frozenset   -> array
//   dict, OrderedDict             -> object; keys that are not strings are
//                                    written as Python would print them
//                                    (1 -> "1", True -> "True", None ->
//                                    "None"), other keys as their JSON text
//   numpy scalar of dtype f2 f4 f8 i1..i8 u1..u8 b1 -> number or bool
//   invalid UTF-8 in a str        -> U+FFFD for each bad byte
#ifndef LUMODB_ENGINE_PICKLE_H_
#define LUMODB_ENGINE_PICKLE_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lumodb/status.h"

namespace lumodb {

// A value that was kept as {"__unsupported__": ...} instead of being loaded.
struct PickleWarning {
  std::string path;  // dict key path, "acc" or "layers.0"; "" for the top
  std::string what;  // names the global: "torch._utils._rebuild_tensor_v2 ..."
};

// Limits that keep a hostile pickle from exhausting the stack or memory.
constexpr int kPickleMaxDepth = 100;                   // nested containers
constexpr size_t kPickleMaxMemo = 1000000;             // memo entries
constexpr size_t kPickleMaxContainer = 16u << 20;      // items in one container

// Decodes protocols 0 to 5. Returns OK with the value in *out; Corruption
// naming what is wrong and its byte offset for truncated or malformed input
// and for input that breaks a limit. On Corruption, when the top level is a
// dict, *out holds the keys completed before the damage (best effort);
// otherwise it is null. warnings may be null.
Status DecodePickle(std::string_view bytes, nlohmann::json* out,
                    std::vector<PickleWarning>* warnings);

// A protocol 4 pickle of a dict str -> float, byte for byte what Python's
// pickle.dumps(d, protocol=4) writes for up to 64 KiB (Python starts a new
// frame past 64 KiB; this writes one frame, which Python reads the same).
// Keys in the order given.
std::string EncodePickleFloatDict(const std::vector<std::pair<std::string, double>>& items);

}  // namespace lumodb

#endif  // LUMODB_ENGINE_PICKLE_H_

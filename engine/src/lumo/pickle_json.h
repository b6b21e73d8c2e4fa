// Writes the value graph DecodePickle built as JSON (the mapping is in
// pickle.h), within a depth limit and a size budget.
#ifndef LUMODB_ENGINE_PICKLE_JSON_H_
#define LUMODB_ENGINE_PICKLE_JSON_H_

#include <cstddef>
#include <nlohmann/json.hpp>
#include <vector>

#include "lumo/pickle.h"
#include "lumo/pickle_value.h"
#include "lumodb/status.h"

namespace lumodb::pickle {

// budget: bytes the JSON may take, roughly; shared references (and cycles,
// which only the depth limit ends) are copied each time they appear, so the
// output can be far larger than the graph. On error *out holds what was
// written before it: for a dict, the keys before the one at fault.
Status NodeToJson(const Node* node, size_t budget, nlohmann::json* out,
                  std::vector<PickleWarning>* warnings);

}  // namespace lumodb::pickle

#endif  // LUMODB_ENGINE_PICKLE_JSON_H_

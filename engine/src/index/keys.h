// Key layouts of the index's column families (exp_name \0 test_name [\0
// name], the fields family's field \0 value \0 exp_name \0 test_name) and
// the order-preserving encoding of JSON values in the fields family.
#ifndef LUMODB_INDEX_KEYS_H_
#define LUMODB_INDEX_KEYS_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lumodb {

std::string RunKey(std::string_view exp, std::string_view test);
std::string SubKey(std::string_view exp, std::string_view test, std::string_view name);
// Splits exp \0 test [\0 name].
bool SplitKey(std::string_view key, std::string_view* exp, std::string_view* test,
              std::string_view* name);

// Order-preserving encodings of JSON values for the fields family, in
// CompareJson's order: 'A' null, 'B'/'C' false/true, 'N' + 8 bytes for
// numbers, 'S' + bytes for strings, 'V'/'W' + compact JSON for arrays and
// objects. Strings and JSON texts keep their first kMaxIndexedValue bytes
// (longer values that share those bytes sort among themselves by run key).
// Returns false, leaving *out alone, only for values JSON cannot hold.
constexpr size_t kMaxIndexedValue = 4096;
constexpr size_t kMaxIndexedParams = 512;
bool EncodeFieldValue(const nlohmann::json& value, std::string* out);
// The fields entry of the change feed: "_changed" \0 stamp \0 exp \0 test,
// one per run, its stamp replaced whenever the run is written.
inline constexpr const char* kChangedField = "_changed";
nlohmann::json DecodeFieldValue(std::string_view encoded);
std::string FieldKey(std::string_view field, std::string_view encoded_value, std::string_view exp,
                     std::string_view test);
bool ParseFieldKey(std::string_view key, std::string_view* field, std::string_view* encoded_value,
                   std::string_view* exp, std::string_view* test);
// The fields a run indexes for its params: every path, dotted, objects
// and their members alike.
void FlattenParams(const nlohmann::json& params, const std::string& prefix,
                   std::vector<std::pair<std::string, nlohmann::json>>* out);

// The name a RunRecord.status value has in queries and output: running,
// finished, failed, killed, not_started.
const char* StatusName(int status);

}  // namespace lumodb

#endif  // LUMODB_INDEX_KEYS_H_

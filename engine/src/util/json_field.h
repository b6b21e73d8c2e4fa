// Reading optional fields of JSON records written by others (lumo's info
// files, run JSON): a missing or mistyped field reads as empty.
#ifndef LUMODB_JSON_FIELD_H_
#define LUMODB_JSON_FIELD_H_

#include <string>

#include <nlohmann/json.hpp>

namespace lumodb {

// j[key] when it is a string, else "".
inline std::string StringField(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace lumodb

#endif  // LUMODB_JSON_FIELD_H_

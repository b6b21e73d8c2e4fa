// The reference model of a run's JSON (see reference_run_json.cc): one run
// from the index as a nlohmann::json tree, lumo's raw values of derived
// keys under "info", as the engine built it before the streamed read path.
#ifndef LUMODB_TESTS_REFERENCE_RUN_JSON_H_
#define LUMODB_TESTS_REFERENCE_RUN_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "index/index.h"

namespace lumodb::testing {

// NotFound when the index has no such run.
Status BuildRunJson(Index* index, const std::string& exp_name, const std::string& test_name,
                    const std::string& timezone, nlohmann::json* out);

}  // namespace lumodb::testing

#endif  // LUMODB_TESTS_REFERENCE_RUN_JSON_H_

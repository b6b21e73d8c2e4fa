// BuildRunJson: one run from the index as a JSON object with lumo's keys.
#ifndef LUMODB_RUN_JSON_H_
#define LUMODB_RUN_JSON_H_

#include <string>

#include <nlohmann/json.hpp>

#include "index/index.h"
#include "index/metrics_json.h"

namespace lumodb {

// NotFound when the index has no such run.
Status BuildRunJson(Index* index, const std::string& exp_name,
                    const std::string& test_name, const std::string& timezone,
                    nlohmann::json* out);

// Every metric's best value and extras as the index holds them.
void ReadMetricValues(Index* index, const std::string& exp, const std::string& test,
                      std::map<std::string, MetricValue>* out);

}  // namespace lumodb

#endif  // LUMODB_RUN_JSON_H_

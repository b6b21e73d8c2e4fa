// lumo's metric dict: each metric's best value, plus the extra values kept
// beside the best ones. Built the same way for the index and for output.
#ifndef LUMODB_METRICS_JSON_H_
#define LUMODB_METRICS_JSON_H_

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "index/index.h"

namespace lumodb {

struct MetricValue {
  double best = 0;
  std::string best_extras;  // JSON object text or empty
};

// Extras of later metrics (in name order) win over earlier ones; a metric's
// own name wins over an extra of the same name.
inline nlohmann::json MergeMetrics(const std::map<std::string, MetricValue>& metrics) {
  nlohmann::json out = nlohmann::json::object();
  nlohmann::json extras = nlohmann::json::object();
  for (const auto& [name, m] : metrics) {
    out[name] = m.best;
    if (m.best_extras.empty()) continue;
    nlohmann::json e = nlohmann::json::parse(m.best_extras, nullptr, false);
    if (!e.is_object()) continue;
    for (auto& [k, v] : e.items()) extras[k] = v;
  }
  for (auto& [k, v] : extras.items()) {
    if (!out.contains(k)) out[k] = v;
  }
  return out;
}

// Every metric's best value and extras as the index holds them (verified
// MetricRecords only).
void ReadMetricValues(Index* index, const std::string& exp, const std::string& test,
                      std::map<std::string, MetricValue>* out);

}  // namespace lumodb

#endif  // LUMODB_METRICS_JSON_H_

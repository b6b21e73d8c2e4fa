// Reading the metrics family into lumo's metric dict (see metrics_json.h).
#include "index/metrics_json.h"

#include "index_generated.h"
#include "util/aligned.h"

namespace lumodb {

void ReadMetricValues(Index* index, const std::string& exp, const std::string& test,
                      std::map<std::string, MetricValue>* out) {
  Aligned aligned;
  ForEachSubKey(index, kMetrics, exp, test, [&](const std::string& name, const rocksdb::Slice& v) {
    const uint8_t* bytes = aligned.Get(std::string_view(v.data(), v.size()));
    flatbuffers::Verifier verifier(bytes, v.size());
    if (!verifier.VerifyBuffer<fbs::MetricRecord>(nullptr)) return;
    const auto* m = flatbuffers::GetRoot<fbs::MetricRecord>(bytes);
    (*out)[name] = {m->best(), m->best_extras() != nullptr ? m->best_extras()->str() : ""};
  });
}

}  // namespace lumodb

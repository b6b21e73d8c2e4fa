// RunText: a run of the index as JSON text, written straight from its
// RunView (FlatBuffers record, JSON texts of info values, metric records)
// with no JSON tree in between. The object has lumo's keys in sorted order,
// each fact once (docs/format.md, "A run as JSON"):
//
//   derived keys   exp_name, test_name, status, progress, execute, pinfo,
//                  roots, info_dir, blob_dir, cache_dir, lumodb_version,
//                  tags, note, exception, metrics, metrics_detail, rerun,
//                  text, journal (those the run has)
//   info keys      every other dump_info key (params, git, lock, hooks, ...)
//
// An info key named like a derived key the run has (lumo's own exp_name,
// progress, pinfo, ... of an imported run) is a raw value: left out, unless
// raw is asked for, when such values appear under "info". "note" and
// "tags" info values stand for the derived ones, and "rerun" is merged with
// the rerun links of the index.
#ifndef LUMODB_INDEX_RUN_TEXT_H_
#define LUMODB_INDEX_RUN_TEXT_H_

#include <string>
#include <string_view>
#include <vector>

#include "index/run_view.h"
#include "util/time_util.h"

namespace lumodb {

class RunText {
 public:
  // timezone: lumo's zone, for progress time strings.
  explicit RunText(const std::string& timezone) : times_(timezone) {}

  // The whole run as one compact JSON object.
  void AppendRun(const RunView& view, bool raw, std::string* out);
  // The JSON text of one top-level key as AppendRun writes it ("info": the
  // raw values, whether or not AppendRun shows them). False when the run
  // has no such key.
  bool AppendKey(const RunView& view, std::string_view key, std::string* out);
  // The value at a dotted path (a column or filter field, LookupPath's
  // rules): its JSON text, in *scratch or in the view. False when absent.
  bool Resolve(const RunView& view, std::string_view path, std::string* scratch,
               std::string_view* value);

 private:
  // Where each top-level key of the run comes from.
  struct Plan {
    uint32_t derived = 0;                   // bit per Derived the run has
    std::vector<size_t> visible;            // info entries shown as they are
    std::vector<size_t> hidden;             // raw values, shown under "info"
    const RunView::Entry* rerun = nullptr;  // the "rerun" info value
  };
  void MakePlan(const RunView& view, Plan* plan) const;
  // The commonest columns (exp_name, test_name, status, progress.<leaf>,
  // metrics.<name>) written straight, without the whole derived object.
  // False when the general way must answer; else *out holds the value's
  // JSON text, empty when the run has none.
  bool ResolveLeaf(const RunView& view, std::string_view path, std::string* out);
  void AppendDerived(const RunView& view, int which, std::string* out);
  void AppendMetrics(const RunView& view, std::string* out);
  void AppendMetricsDetail(const RunView& view, std::string* out);
  void AppendRerun(const RunView& view, std::string* out);
  void AppendRaw(const RunView& view, const Plan& plan, std::string* out);

  TimeStrings times_;
  Plan plan_;  // reused from run to run
  // Scratch reused from run to run.
  std::vector<std::string> keys_;
  std::vector<std::pair<size_t, std::string_view>> extras_;
  std::vector<std::pair<std::string_view, std::string_view>> members_;
  std::vector<const fbs::MetricRecord*> records_;
  std::vector<size_t> ends_;
  std::string number_;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_RUN_TEXT_H_

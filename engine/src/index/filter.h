// Filters over runs: "FIELD OP VALUE" parsed into a Filter (watcher.h),
// compiled once, then matched against each run's JSON.
#ifndef LUMODB_SRC_FILTER_H_
#define LUMODB_SRC_FILTER_H_

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lumodb/status.h"
#include "lumodb/watcher.h"

namespace lumodb {

// The value at a dotted path such as "params.opt.name" or "tags.0", or
// nullptr. Keys may themselves hold dots ("val.acc"), so at each level the
// longest key that matches a prefix of the path wins, falling back to shorter
// ones. Array elements are named by their index.
const nlohmann::json* LookupPath(const nlohmann::json& run,
                                 std::string_view dotted);

// A total order for sorting mixed values:
// null < bool < number < string < array < object.
// Numbers compare by value (1 == 1.0), strings bytewise, arrays and objects
// by their compact JSON text. Returns <0, 0 or >0.
int CompareJson(const nlohmann::json& a, const nlohmann::json& b);

// A value as one cell of text: strings raw, numbers in their shortest
// round-trip form ("0.1", "3", "1e-05"), true/false, null as "", arrays and
// objects as compact JSON.
std::string JsonCellText(const nlohmann::json& v);

// A Filter ready to match: its value parsed and its regex built once.
//
// The value text is a JSON number, true, false or null when it parses as one,
// else a string; Filter::Parse turns a quoted VALUE into JSON string text, so
// `params.seed == "1"` means the string "1" while `params.seed == 1` means
// the number.
//
// Matching: an absent field fails every operator except != .
//   == !=  numbers by value; a number field against a string value compares
//          the field's text; a string field against a number value is parsed
//          as a number first; bool and null by equality; arrays and objects
//          by their compact JSON text.
//   < <= > >=  numbers by value (a string field is parsed as a number as
//          above), strings bytewise; any other pairing fails.
//   ~      ECMAScript regex search in the field's text (JsonCellText); an
//          array matches when any element does.
class CompiledFilter {
 public:
  CompiledFilter() = default;

  static Status Compile(const Filter& f, CompiledFilter* out);

  bool Matches(const nlohmann::json& run) const;
  // The same for the field's value itself (null: the run has no such field).
  bool MatchesValue(const nlohmann::json* field) const;
  const Filter& filter() const { return filter_; }

 private:
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kRegex };

  bool Equal(const nlohmann::json& field) const;
  bool Ordered(const nlohmann::json& field) const;
  bool Search(const nlohmann::json& field) const;

  Filter filter_;
  Op op_ = Op::kEq;
  nlohmann::json value_;
  // A std::regex, kept out of this header (see filter.cc). Shared so that
  // copies of a CompiledFilter do not rebuild the automaton.
  struct Regex;
  std::shared_ptr<const Regex> regex_;
};

}  // namespace lumodb

#endif  // LUMODB_SRC_FILTER_H_

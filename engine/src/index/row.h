// The RunRows a bulk read hands to its visitor: ViewRow over a run being
// read (the JSON and the columns are made only when asked for), TextRow
// over a row kept as text (a sorted read's spilled rows), and FieldValueOf,
// a column's JSON text as a typed value.
#ifndef LUMODB_INDEX_ROW_H_
#define LUMODB_INDEX_ROW_H_

#include <string>
#include <string_view>
#include <vector>

#include "index/run_text.h"
#include "index/run_view.h"
#include "lumodb/watcher.h"

namespace lumodb {

// A column's JSON text as a FieldValue; strings are unescaped into
// *scratch. Empty text: absent.
FieldValue FieldValueOf(std::string_view json, std::string* scratch);

class ViewRow : public RunRow {
 public:
  // columns empty: json() is the whole run.
  ViewRow(RunText* text, const std::vector<std::string>* columns, bool raw)
      : text_(text), columns_(columns), raw_(raw) {}

  // Points the row at a run (the view must outlive the visit).
  void Reset(const RunView* view);
  // The row as TextRow reads it back, appended to out.
  void AppendText(std::string* out) const;

  const std::string& exp_name() const override { return view_->exp; }
  const std::string& test_name() const override { return view_->test; }
  std::string_view json() const override;
  void AppendJson(std::string* out) const override;
  FieldValue column(size_t i) const override;
  std::string_view column_json(size_t i) const override;

 private:
  void Resolve(size_t i) const;

  RunText* text_;
  const std::vector<std::string>* columns_;
  bool raw_;
  const RunView* view_ = nullptr;
  // Made on demand, once per run.
  mutable bool have_json_ = false;
  mutable std::string json_;
  mutable std::vector<char> resolved_;
  mutable std::vector<std::string> scratch_, strings_;
  mutable std::vector<std::string_view> values_;  // empty: absent
};

// A row kept as "exp_name \0 test_name \0 absent \0 json": json is the
// whole run or the {column: value} object of the read's columns, absent one
// '1' or '0' per column (a column the run lacks is null in json).
class TextRow : public RunRow {
 public:
  explicit TextRow(size_t columns) : columns_(columns) {}
  // False if text is not such a row.
  bool Reset(std::string_view text);

  const std::string& exp_name() const override { return exp_; }
  const std::string& test_name() const override { return test_; }
  std::string_view json() const override { return json_; }
  FieldValue column(size_t i) const override;
  std::string_view column_json(size_t i) const override;

 private:
  void Split() const;

  size_t columns_;
  std::string exp_, test_;
  std::string_view absent_, json_;
  mutable bool split_ = false;
  mutable std::vector<std::string_view> values_;
  mutable std::vector<std::string> strings_;
};

}  // namespace lumodb

#endif  // LUMODB_INDEX_ROW_H_

// Rows of a bulk read (see row.h).
#include "index/row.h"

#include <charconv>
#include <cstdlib>

#include "util/json_text.h"

namespace lumodb {

FieldValue FieldValueOf(std::string_view json, std::string* scratch) {
  FieldValue v;
  switch (KindOf(json)) {
    case JsonKind::kInvalid:
      return v;  // absent
    case JsonKind::kNull:
      v.type = FieldValue::Type::kNull;
      return v;
    case JsonKind::kBool:
      v.type = FieldValue::Type::kBool;
      v.boolean = json.front() == 't';
      return v;
    case JsonKind::kNumber: {
      if (json.find_first_of(".eE") == std::string_view::npos) {
        int64_t i = 0;
        auto [ptr, ec] = std::from_chars(json.data(), json.data() + json.size(), i);
        if (ec == std::errc() && ptr == json.data() + json.size()) {
          v.type = FieldValue::Type::kInt;
          v.integer = i;
          v.number = static_cast<double>(i);
          return v;
        }
      }
      // A double, or an integer past int64 (as nlohmann reads 2^64 - 1).
      v.type = FieldValue::Type::kDouble;
      auto [ptr, ec] = std::from_chars(json.data(), json.data() + json.size(), v.number);
      if (ec != std::errc() || ptr != json.data() + json.size()) {
        const std::string copy(json);  // out of range: strtod's infinity
        v.number = std::strtod(copy.c_str(), nullptr);
      }
      return v;
    }
    case JsonKind::kString:
      scratch->clear();
      if (!UnescapeJsonString(json, scratch)) return v;
      v.type = FieldValue::Type::kString;
      v.text = *scratch;
      return v;
    case JsonKind::kArray:
    case JsonKind::kObject:
      v.type = FieldValue::Type::kJson;
      v.text = json;
      return v;
  }
  return v;
}

// ---- ViewRow ----

void ViewRow::Reset(const RunView* view) {
  view_ = view;
  have_json_ = false;
  const size_t n = columns_->size();
  resolved_.assign(n, 0);
  if (scratch_.size() < n) scratch_.resize(n);
  if (strings_.size() < n) strings_.resize(n);
  values_.resize(n);
}

void ViewRow::Resolve(size_t i) const {
  if (resolved_[i]) return;
  resolved_[i] = 1;
  std::string_view value;
  values_[i] =
      text_->Resolve(*view_, (*columns_)[i], &scratch_[i], &value) ? value : std::string_view();
}

std::string_view ViewRow::json() const {
  if (have_json_) return json_;
  json_.clear();
  if (columns_->empty()) {
    text_->AppendRun(*view_, raw_, &json_);
  } else {
    json_.push_back('{');
    for (size_t i = 0; i < columns_->size(); ++i) {
      if (i > 0) json_.push_back(',');
      AppendJsonString((*columns_)[i], &json_);
      json_.push_back(':');
      json_.append(column_json(i));
    }
    json_.push_back('}');
  }
  have_json_ = true;
  return json_;
}

void ViewRow::AppendJson(std::string* out) const {
  if (have_json_ || !columns_->empty()) {
    out->append(json());
  } else {
    text_->AppendRun(*view_, raw_, out);
  }
}

FieldValue ViewRow::column(size_t i) const {
  if (i >= columns_->size()) return FieldValue();
  Resolve(i);
  return FieldValueOf(values_[i], &strings_[i]);
}

std::string_view ViewRow::column_json(size_t i) const {
  if (i >= columns_->size()) return "null";
  Resolve(i);
  return values_[i].empty() ? std::string_view("null") : values_[i];
}

void ViewRow::AppendText(std::string* out) const {
  out->append(view_->exp).push_back('\0');
  out->append(view_->test).push_back('\0');
  for (size_t i = 0; i < columns_->size(); ++i) {
    Resolve(i);
    out->push_back(values_[i].empty() ? '1' : '0');
  }
  out->push_back('\0');
  out->append(json());
}

// ---- TextRow ----

bool TextRow::Reset(std::string_view text) {
  size_t a = text.find('\0');
  if (a == std::string_view::npos) return false;
  size_t b = text.find('\0', a + 1);
  if (b == std::string_view::npos) return false;
  size_t c = text.find('\0', b + 1);
  if (c == std::string_view::npos) return false;
  exp_.assign(text.substr(0, a));
  test_.assign(text.substr(a + 1, b - a - 1));
  absent_ = text.substr(b + 1, c - b - 1);
  json_ = text.substr(c + 1);
  split_ = false;
  return true;
}

void TextRow::Split() const {
  if (split_) return;
  split_ = true;
  values_.assign(columns_, std::string_view());
  if (strings_.size() < columns_) strings_.resize(columns_);
  size_t i = 0;
  // The object's members are the columns, in order.
  ForEachMember(json_, [&](std::string_view, std::string_view value) {
    if (i < columns_) {
      values_[i] = i < absent_.size() && absent_[i] == '1' ? std::string_view() : value;
      ++i;
    }
    return i < columns_;
  });
}

FieldValue TextRow::column(size_t i) const {
  if (i >= columns_) return FieldValue();
  Split();
  return FieldValueOf(values_[i], &strings_[i]);
}

std::string_view TextRow::column_json(size_t i) const {
  if (i >= columns_) return "null";
  Split();
  return values_[i].empty() ? std::string_view("null") : values_[i];
}

}  // namespace lumodb

// Writing runs as a table, JSON, JSON Lines or CSV.
#include "index/output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "index/filter.h"
#include "index/row.h"
#include "util/json_text.h"

namespace lumodb {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Dumps never throw on invalid UTF-8 in a run; such bytes become U+FFFD.
std::string Dump(const ordered_json& v, int indent) {
  return v.dump(indent, ' ', false, ordered_json::error_handler_t::replace);
}

std::string Dump(const json& v, int indent) {
  return v.dump(indent, ' ', false, json::error_handler_t::replace);
}

// Columns of a table line up in a terminal only if width counts characters,
// not bytes: count UTF-8 lead bytes. (East Asian wide characters still take
// two cells; that is not handled.)
size_t DisplayWidth(const std::string& s) {
  size_t width = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) width++;
  }
  return width;
}

// One table line must stay one line.
std::string EscapeForTable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

// A float as a person reads it in a table: integer-valued floats without a
// fraction (1.0 -> "1"), others with at most 6 significant digits, as
// pandas displays them (0.9906442466474564 -> "0.990644", 1e-05 -> "1e-05").
std::string ShortFloat(double d) {
  char buf[64];
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15) {
    std::snprintf(buf, sizeof(buf), "%.0f", d);
    if (buf[0] == '-' && buf[1] == '0' && buf[2] == '\0') return "0";  // -0.0
  } else {
    std::snprintf(buf, sizeof(buf), "%.6g", d);
  }
  return buf;
}

namespace {

// Compact JSON text with every float shortened as ShortFloat does.
void AppendShortJson(const json& v, std::string* out) {
  switch (v.type()) {
    case json::value_t::number_float:
      out->append(std::isfinite(v.get<double>()) ? ShortFloat(v.get<double>()) : "null");
      return;
    case json::value_t::array: {
      out->push_back('[');
      bool first = true;
      for (const json& e : v) {
        if (!first) out->push_back(',');
        first = false;
        AppendShortJson(e, out);
      }
      out->push_back(']');
      return;
    }
    case json::value_t::object: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, e] : v.items()) {
        if (!first) out->push_back(',');
        first = false;
        out->append(Dump(json(key), -1)).push_back(':');
        AppendShortJson(e, out);
      }
      out->push_back('}');
      return;
    }
    default:
      out->append(Dump(v, -1));
  }
}

// A table cell: as JsonCellText, but floats shortened (JSON, JSON Lines and
// CSV keep the exact shortest round-trip value).
std::string TableCellText(const json& v) {
  if (v.is_number_float()) return ShortFloat(v.get<double>());
  if (!v.is_array() && !v.is_object()) return JsonCellText(v);
  std::string out;
  AppendShortJson(v, &out);
  return out;
}

struct Cell {
  std::string text;
  bool right_aligned = false;
};

void WriteTableLine(std::string* out, const std::vector<Cell>& cells,
                    const std::vector<size_t>& widths) {
  for (size_t i = 0; i < cells.size(); i++) {
    if (i > 0) out->append("  ");
    size_t width = DisplayWidth(cells[i].text);
    size_t pad = widths[i] > width ? widths[i] - width : 0;
    if (cells[i].right_aligned) {
      out->append(pad, ' ');
      out->append(cells[i].text);
    } else {
      out->append(cells[i].text);
      // No trailing blanks after the last column.
      if (i + 1 < cells.size()) out->append(pad, ' ');
    }
  }
  out->push_back('\n');
}

}  // namespace

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

namespace {

// A value as one cell of text (JsonCellText's rules): strings raw, numbers
// in their shortest round-trip form, null and absent as "", lists and
// objects as compact JSON.
std::string CellText(const FieldValue& v) {
  switch (v.type) {
    case FieldValue::Type::kAbsent:
    case FieldValue::Type::kNull:
      return "";
    case FieldValue::Type::kBool:
      return v.boolean ? "true" : "false";
    case FieldValue::Type::kInt:
      return std::to_string(v.integer);
    case FieldValue::Type::kDouble:
      return JsonCellText(json(v.number));
    case FieldValue::Type::kString:
    case FieldValue::Type::kJson:
      return std::string(v.text);
  }
  return "";
}

Cell TableCell(const FieldValue& v) {
  switch (v.type) {
    case FieldValue::Type::kDouble:
      return {ShortFloat(v.number), true};
    case FieldValue::Type::kInt:
      return {std::to_string(v.integer), true};
    case FieldValue::Type::kJson: {
      json parsed = json::parse(v.text, nullptr, false);
      return {EscapeForTable(parsed.is_discarded() ? std::string(v.text) : TableCellText(parsed)),
              false};
    }
    default:
      return {EscapeForTable(CellText(v)), false};
  }
}

// Output is gathered and handed to the stream in large pieces.
class Buffered {
 public:
  explicit Buffered(std::ostream& out) : out_(out) {}
  std::string* buffer() { return &buffer_; }
  Status MaybeFlush() { return buffer_.size() >= (1 << 20) ? Flush() : Status::OK(); }
  Status Flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
    out_.flush();
    return out_ ? Status::OK() : Status::IOError("write the output: the stream failed");
  }

 private:
  std::ostream& out_;
  std::string buffer_;
};

class TableWriter : public RowWriter {
 public:
  TableWriter(const std::vector<std::string>& columns, std::ostream& out)
      : columns_(columns), out_(out), widths_(columns.size(), 0) {
    std::vector<Cell> header;
    for (const std::string& c : columns) header.push_back({EscapeForTable(c), false});
    rows_.push_back(std::move(header));
  }
  Status Write(const RunRow& row) override {
    std::vector<Cell> cells;
    cells.reserve(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) cells.push_back(TableCell(row.column(i)));
    if (fixed_) {
      WriteTableLine(out_.buffer(), cells, widths_);
      return out_.MaybeFlush();
    }
    rows_.push_back(std::move(cells));
    return rows_.size() > kBufferedRows ? Fix() : Status::OK();
  }
  Status Finish() override {
    Status s = fixed_ ? Status::OK() : Fix();
    return s.ok() ? out_.Flush() : s;
  }

 private:
  static constexpr size_t kBufferedRows = 10000;

  // Widths from the rows so far; they and the dashes are written.
  Status Fix() {
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size(); i++) {
        widths_[i] = std::max(widths_[i], DisplayWidth(row[i].text));
      }
    }
    WriteTableLine(out_.buffer(), rows_[0], widths_);
    std::vector<Cell> dashes;
    for (size_t width : widths_) dashes.push_back({std::string(width, '-'), false});
    WriteTableLine(out_.buffer(), dashes, widths_);
    for (size_t r = 1; r < rows_.size(); r++) WriteTableLine(out_.buffer(), rows_[r], widths_);
    std::vector<std::vector<Cell>>().swap(rows_);
    fixed_ = true;
    return out_.MaybeFlush();
  }

  std::vector<std::string> columns_;
  Buffered out_;
  std::vector<size_t> widths_;
  std::vector<std::vector<Cell>> rows_;
  bool fixed_ = false;
};

class CsvWriter : public RowWriter {
 public:
  CsvWriter(const std::vector<std::string>& columns, std::ostream& out)
      : columns_(columns.size()), out_(out) {
    std::string* b = out_.buffer();
    for (size_t i = 0; i < columns.size(); i++) {
      if (i > 0) b->push_back(',');
      b->append(CsvField(columns[i]));
    }
    b->push_back('\n');
  }
  Status Write(const RunRow& row) override {
    std::string* b = out_.buffer();
    for (size_t i = 0; i < columns_; i++) {
      if (i > 0) b->push_back(',');
      b->append(CsvField(CellText(row.column(i))));
    }
    b->push_back('\n');
    return out_.MaybeFlush();
  }
  Status Finish() override { return out_.Flush(); }

 private:
  size_t columns_;
  Buffered out_;
};

class JsonlWriter : public RowWriter {
 public:
  explicit JsonlWriter(std::ostream& out) : out_(out) {}
  Status Write(const RunRow& row) override {
    row.AppendJson(out_.buffer());
    out_.buffer()->push_back('\n');
    return out_.MaybeFlush();
  }
  Status Finish() override { return out_.Flush(); }

 private:
  Buffered out_;
};

class JsonWriter : public RowWriter {
 public:
  explicit JsonWriter(std::ostream& out) : out_(out) {}
  Status Write(const RunRow& row) override {
    std::string* b = out_.buffer();
    b->append(first_ ? "[\n  " : ",\n  ");
    first_ = false;
    AppendPrettyJson(row.json(), 2, 1, b);
    return out_.MaybeFlush();
  }
  Status Finish() override {
    out_.buffer()->append(first_ ? "[]\n" : "\n]\n");
    return out_.Flush();
  }

 private:
  Buffered out_;
  bool first_ = true;
};

// A run held as a JSON tree, as a RunRow.
class TreeRow : public RunRow {
 public:
  TreeRow(const nlohmann::json& run, const std::vector<std::string>& columns)
      : run_(run), columns_(columns), values_(columns.size()), strings_(columns.size()) {
    auto name = [&run](const char* key) {
      auto it = run.find(key);
      return it != run.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (run.is_object()) {
      exp_ = name("exp_name");
      test_ = name("test_name");
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      const nlohmann::json* v = LookupPath(run, columns[i]);
      values_[i] = v != nullptr ? Dump(*v, -1) : "";
    }
  }
  const std::string& exp_name() const override { return exp_; }
  const std::string& test_name() const override { return test_; }
  std::string_view json() const override {
    if (text_.empty()) {
      if (columns_.empty()) {
        text_ = Dump(run_, -1);
      } else {
        ordered_json object = ordered_json::object();
        for (size_t i = 0; i < columns_.size(); ++i) {
          object[columns_[i]] =
              values_[i].empty() ? ordered_json() : ordered_json::parse(values_[i]);
        }
        text_ = Dump(object, -1);
      }
    }
    return text_;
  }
  FieldValue column(size_t i) const override { return FieldValueOf(values_[i], &strings_[i]); }
  std::string_view column_json(size_t i) const override {
    return values_[i].empty() ? std::string_view("null") : std::string_view(values_[i]);
  }

 private:
  const nlohmann::json& run_;
  const std::vector<std::string>& columns_;
  std::string exp_, test_;
  std::vector<std::string> values_;
  mutable std::vector<std::string> strings_;
  mutable std::string text_;
};

}  // namespace

const std::vector<std::string>& DefaultColumns() {
  static const std::vector<std::string> kColumns = {"exp_name", "test_name", "status",
                                                    "progress.ratio", "progress.start"};
  return kColumns;
}

std::unique_ptr<RowWriter> RowWriter::Make(OutputFormat format,
                                           const std::vector<std::string>& columns,
                                           std::ostream& out) {
  const std::vector<std::string>& shown = columns.empty() ? DefaultColumns() : columns;
  switch (format) {
    case OutputFormat::kTable:
      return std::make_unique<TableWriter>(shown, out);
    case OutputFormat::kCsv:
      return std::make_unique<CsvWriter>(shown, out);
    case OutputFormat::kJson:
      return std::make_unique<JsonWriter>(out);
    case OutputFormat::kJsonl:
      break;
  }
  return std::make_unique<JsonlWriter>(out);
}

void WriteRuns(std::ostream& out, const std::vector<json>& runs,
               const std::vector<std::string>& columns, OutputFormat format) {
  const bool table = format == OutputFormat::kTable || format == OutputFormat::kCsv;
  const std::vector<std::string>& read = columns.empty() && table ? DefaultColumns() : columns;
  std::unique_ptr<RowWriter> writer = RowWriter::Make(format, read, out);
  for (const json& run : runs) writer->Write(TreeRow(run, read));
  writer->Finish();
}

Status ParseOutputFormat(const std::string& name, OutputFormat* out) {
  static const std::pair<const char*, OutputFormat> kFormats[] = {
      {"table", OutputFormat::kTable},
      {"json", OutputFormat::kJson},
      {"jsonl", OutputFormat::kJsonl},
      {"csv", OutputFormat::kCsv},
  };
  for (const auto& [known, format] : kFormats) {
    if (name == known) {
      *out = format;
      return Status::OK();
    }
  }
  return Status::InvalidArgument("output format '" + name +
                                 "' is unknown: use one of table, json, "
                                 "jsonl, csv");
}

Status ParseColumns(const std::string& csv, std::vector<std::string>* columns) {
  std::vector<std::string> parsed;
  size_t begin = 0;
  while (true) {
    size_t comma = csv.find(',', begin);
    std::string entry =
        csv.substr(begin, comma == std::string::npos ? std::string::npos : comma - begin);
    size_t first = entry.find_first_not_of(" \t");
    if (first == std::string::npos) {
      return Status::InvalidArgument(
          "columns '" + csv + "' have an empty entry (number " + std::to_string(parsed.size() + 1) +
          "): use comma-separated paths, e.g. exp_name,params.lr,metrics.acc");
    }
    size_t last = entry.find_last_not_of(" \t");
    parsed.push_back(entry.substr(first, last - first + 1));
    if (comma == std::string::npos) break;
    begin = comma + 1;
  }
  *columns = std::move(parsed);
  return Status::OK();
}

}  // namespace lumodb

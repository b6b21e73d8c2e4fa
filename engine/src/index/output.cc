// Writing runs as a table, JSON, JSON Lines or CSV.
#include "index/output.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "index/filter.h"

namespace lumodb {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

const std::vector<std::string>& DefaultColumns() {
  static const std::vector<std::string> kColumns = {
      "exp_name", "test_name", "status", "progress.ratio", "progress.start"};
  return kColumns;
}

// Dumps never throw on invalid UTF-8 in a run; such bytes become U+FFFD.
std::string Dump(const ordered_json& v, int indent) {
  return v.dump(indent, ' ', false, ordered_json::error_handler_t::replace);
}

std::string Dump(const json& v, int indent) {
  return v.dump(indent, ' ', false, json::error_handler_t::replace);
}

// {path: value} in column order; the json type sorts its keys, so the
// projection is built as ordered_json.
ordered_json Project(const json& run, const std::vector<std::string>& columns) {
  ordered_json object = ordered_json::object();
  for (const std::string& column : columns) {
    const json* value = LookupPath(run, column);
    object[column] = value != nullptr ? ordered_json(*value) : ordered_json();
  }
  return object;
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

void WriteTableLine(std::ostream& out, const std::vector<Cell>& cells,
                    const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < cells.size(); i++) {
    if (i > 0) line += "  ";
    size_t pad = widths[i] - DisplayWidth(cells[i].text);
    if (cells[i].right_aligned) {
      line.append(pad, ' ');
      line += cells[i].text;
    } else {
      line += cells[i].text;
      // No trailing blanks after the last column.
      if (i + 1 < cells.size()) line.append(pad, ' ');
    }
  }
  out << line << '\n';
}

void WriteTable(std::ostream& out, const std::vector<json>& runs,
                const std::vector<std::string>& columns) {
  std::vector<std::vector<Cell>> rows;
  rows.reserve(runs.size() + 1);
  std::vector<Cell> header;
  for (const std::string& column : columns) {
    header.push_back({EscapeForTable(column), false});
  }
  rows.push_back(std::move(header));
  for (const json& run : runs) {
    std::vector<Cell> row;
    for (const std::string& column : columns) {
      const json* value = LookupPath(run, column);
      if (value == nullptr) {
        row.push_back({"", false});
      } else {
        row.push_back(
            {EscapeForTable(TableCellText(*value)), value->is_number()});
      }
    }
    rows.push_back(std::move(row));
  }

  std::vector<size_t> widths(columns.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); i++) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i].text));
    }
  }

  WriteTableLine(out, rows[0], widths);
  std::vector<Cell> dashes;
  for (size_t width : widths)
    dashes.push_back({std::string(width, '-'), false});
  WriteTableLine(out, dashes, widths);
  for (size_t r = 1; r < rows.size(); r++) WriteTableLine(out, rows[r], widths);
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

void WriteCsv(std::ostream& out, const std::vector<json>& runs,
              const std::vector<std::string>& columns) {
  for (size_t i = 0; i < columns.size(); i++) {
    out << (i > 0 ? "," : "") << CsvField(columns[i]);
  }
  out << '\n';
  for (const json& run : runs) {
    for (size_t i = 0; i < columns.size(); i++) {
      const json* value = LookupPath(run, columns[i]);
      out << (i > 0 ? "," : "")
          << (value != nullptr ? CsvField(JsonCellText(*value)) : "");
    }
    out << '\n';
  }
}

}  // namespace

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
    std::string entry = csv.substr(
        begin, comma == std::string::npos ? std::string::npos : comma - begin);
    size_t first = entry.find_first_not_of(" \t");
    if (first == std::string::npos) {
      return Status::InvalidArgument(
          "columns '" + csv + "' have an empty entry (number " +
          std::to_string(parsed.size() + 1) +
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

void WriteRuns(std::ostream& out, const std::vector<json>& runs,
               const std::vector<std::string>& columns, OutputFormat format) {
  const std::vector<std::string>& shown =
      columns.empty() ? DefaultColumns() : columns;
  switch (format) {
    case OutputFormat::kTable:
      WriteTable(out, runs, shown);
      break;
    case OutputFormat::kCsv:
      WriteCsv(out, runs, shown);
      break;
    case OutputFormat::kJson:
      if (columns.empty()) {
        out << Dump(json(runs), 2) << '\n';
      } else {
        ordered_json array = ordered_json::array();
        for (const json& run : runs) array.push_back(Project(run, columns));
        out << Dump(array, 2) << '\n';
      }
      break;
    case OutputFormat::kJsonl:
      for (const json& run : runs) {
        out << (columns.empty() ? Dump(run, -1)
                                : Dump(Project(run, columns), -1))
            << '\n';
      }
      break;
  }
}

}  // namespace lumodb

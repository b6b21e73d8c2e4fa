// Writing runs for people and programs: an aligned table, JSON, JSON Lines
// or CSV, with optional column projection by dotted path.
#ifndef LUMODB_SRC_OUTPUT_H_
#define LUMODB_SRC_OUTPUT_H_

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lumodb/status.h"

namespace lumodb {

enum class OutputFormat { kTable, kJson, kJsonl, kCsv };

// "table", "json", "jsonl" or "csv"; any other name is InvalidArgument
// listing the valid ones.
Status ParseOutputFormat(const std::string& name, OutputFormat* out);

// "a,b, c" -> {"a", "b", "c"}. An empty entry ("a,,b", "", "a,") is
// InvalidArgument.
Status ParseColumns(const std::string& csv, std::vector<std::string>* columns);

// Writes runs in the given format.
//
// columns empty: table and csv show exp_name, test_name, status,
// progress.ratio and progress.start; json and jsonl write whole runs.
// columns given: table and csv show one column per path (header = the path,
// cell = JsonCellText of the value, empty when absent); json and jsonl write
// objects {path: value} holding only those paths, in column order, with null
// for an absent path.
//
// table: like `sqlite3 -column`: a header line, a line of dashes under each
//        header, columns two spaces apart, numbers right-aligned, newlines in
//        cells shown as \n. Floats (also inside lists and objects) show at
//        most 6 significant digits, as pandas displays them (0.990644),
//        integer-valued floats without a fraction (1); json, jsonl and csv
//        keep the exact shortest round-trip value.
// json:  one array, indented by 2.
// jsonl: one compact object per line.
// csv:   RFC 4180 with a header row and "\n" line ends.
void WriteRuns(std::ostream& out, const std::vector<nlohmann::json>& runs,
               const std::vector<std::string>& columns, OutputFormat format);

// A float as the table shows it: integer-valued without a fraction, else at
// most 6 significant digits.
std::string ShortFloat(double d);
// s as one RFC 4180 field (quoted when it holds a comma, quote or newline).
std::string CsvField(const std::string& s);

}  // namespace lumodb

#endif  // LUMODB_SRC_OUTPUT_H_

// Writing runs for people and programs: an aligned table, JSON, JSON Lines
// or CSV, with optional column projection by dotted path.
#ifndef LUMODB_SRC_OUTPUT_H_
#define LUMODB_SRC_OUTPUT_H_

#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "lumodb/status.h"
#include "lumodb/watcher.h"

namespace lumodb {

enum class OutputFormat { kTable, kJson, kJsonl, kCsv };

// "table", "json", "jsonl" or "csv"; any other name is InvalidArgument
// listing the valid ones.
Status ParseOutputFormat(const std::string& name, OutputFormat* out);

// "a,b, c" -> {"a", "b", "c"}. An empty entry ("a,,b", "", "a,") is
// InvalidArgument.
Status ParseColumns(const std::string& csv, std::vector<std::string>* columns);

// Writes rows one at a time, as a read hands them over (RunRow, watcher.h):
//
// columns empty: table and csv show exp_name, test_name, status,
// progress.ratio and progress.start; json and jsonl write whole runs.
// columns given: table and csv show one column per path (header = the path,
// cell = the value as text, empty when absent); json and jsonl write objects
// {path: value} holding only those paths, in column order, with null for an
// absent path. The rows' own columns must be the ones given (the read's).
//
// table: like `sqlite3 -column`: a header line, a line of dashes under each
//        header, columns two spaces apart, numbers right-aligned, newlines in
//        cells shown as \n. Floats (also inside lists and objects) show at
//        most 6 significant digits, as pandas displays them (0.990644),
//        integer-valued floats without a fraction (1); json, jsonl and csv
//        keep the exact shortest round-trip value. The widths come from the
//        first 10,000 rows, so a table of any length takes bounded memory;
//        a longer cell further down widens only its own line.
// json:  one array, indented by 2.
// jsonl: one compact object per line.
// csv:   RFC 4180 with a header row and "\n" line ends.
class RowWriter {
 public:
  static std::unique_ptr<RowWriter> Make(OutputFormat format,
                                         const std::vector<std::string>& columns,
                                         std::ostream& out);
  virtual ~RowWriter() = default;
  // IOError when out fails (a closed pipe, a full disk).
  virtual Status Write(const RunRow& row) = 0;
  virtual Status Finish() = 0;
};

// The columns a table or csv shows when none are given.
const std::vector<std::string>& DefaultColumns();

// Writes runs held as JSON trees (whole runs; columns are looked up with
// LookupPath) through the same writers.
void WriteRuns(std::ostream& out, const std::vector<nlohmann::json>& runs,
               const std::vector<std::string>& columns, OutputFormat format);

// A float as the table shows it: integer-valued without a fraction, else at
// most 6 significant digits.
std::string ShortFloat(double d);
// s as one RFC 4180 field (quoted when it holds a comma, quote or newline).
std::string CsvField(const std::string& s);

}  // namespace lumodb

#endif  // LUMODB_SRC_OUTPUT_H_

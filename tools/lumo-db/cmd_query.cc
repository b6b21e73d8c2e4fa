// lumo-db query: the runs matching filters, sorted and limited, as a
// table, JSON, JSON Lines or CSV (Watcher::query does the work).
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli.h"
#include "index/output.h"

namespace lumodb::cli {

namespace {

struct QueryArgs {
  std::vector<std::string> filter_words;
  Query query;
  std::string sort, format = "table", columns;
  bool desc = false, raw = false;
};

int RunQuery(const Common& common, QueryArgs& a) {
  Query& q = a.query;
  OutputFormat format;
  Status s = ParseOutputFormat(a.format, &format);
  if (!s.ok()) return Fail(s);
  std::vector<std::string> columns;
  if (!a.columns.empty()) {
    s = ParseColumns(a.columns, &columns);
    if (!s.ok()) return Fail(s);
  }
  for (const std::string& text : JoinFilterWords(a.filter_words)) {
    Filter f;
    s = Filter::Parse(text, &f);
    if (!s.ok()) return Fail(s);
    q.filters.push_back(f);
  }
  if (!a.sort.empty() && a.sort[0] == '-') {
    q.sort_field = a.sort.substr(1);
    q.descending = true;
  } else {
    q.sort_field = a.sort;
    q.descending = a.desc;
  }
  if (columns.empty() && (format == OutputFormat::kTable || format == OutputFormat::kCsv)) {
    columns = {"exp_name", "test_name", "status", "progress.start", "progress.ratio"};
    std::set<std::string> have(columns.begin(), columns.end());
    for (const auto& f : q.filters) {
      if (have.insert(f.field).second) columns.push_back(f.field);
    }
    if (!q.sort_field.empty() && have.insert(q.sort_field).second) {
      columns.push_back(q.sort_field);
    }
  }
  std::unique_ptr<Watcher> watcher;
  s = OpenWatcher(common, true, &watcher);
  if (!s.ok()) return Fail(s);
  // Rows go from the index to stdout one at a time.
  ReadOptions options;
  options.columns = columns;
  options.raw = a.raw;
  std::unique_ptr<RowWriter> writer = RowWriter::Make(format, columns, std::cout);
  s = watcher->read(q, options, [&writer](const RunRow& row) { return writer->Write(row); });
  if (s.ok()) s = writer->Finish();
  return s.ok() ? kExitOk : Fail(s);
}

}  // namespace

Command AddQuery(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "query",
      "List runs matching filters, e.g. lumo-db query 'params.lr<0.1' --sort=-metrics.acc "
      "--limit 10");
  auto args = std::make_shared<QueryArgs>();
  cmd->add_option("filters", args->filter_words,
                  "FIELD OP VALUE, OP one of == != < <= > >= ~ (regex); all must hold");
  cmd->add_option("--exp", args->query.exp_name, "Only runs of this exp_name");
  cmd->add_option("--status", args->query.status,
                  "running, finished, failed, killed or not_started");
  cmd->add_option("--sort", args->sort,
                  "Field to sort by; a leading '-' (or --desc) sorts descending. "
                  "Default: start time, newest first");
  cmd->add_flag("--desc", args->desc, "Sort descending");
  cmd->add_option("--limit", args->query.limit, "At most N runs (0: all)");
  cmd->add_option("--offset", args->query.offset,
                  "Skip the first N matching runs (with --limit: pages)");
  cmd->add_option("--columns", args->columns, "Comma-separated fields to print");
  cmd->add_option("--format", args->format, "table, json, jsonl or csv")
      ->check(CLI::IsMember({"table", "json", "jsonl", "csv"}));
  cmd->add_flag("--raw", args->raw,
                "json, jsonl: whole runs also carry, under \"info\", the raw values a run "
                "imported from lumo recorded for keys lumo-db derives itself");
  return {cmd, [&common, args] { return RunQuery(common, *args); }};
}

}  // namespace lumodb::cli

// lumo-db: the command-line tool. Each command parses its options, calls one
// library function and turns the result into output and an exit code:
// 0 ok, 1 not found or failed, 2 usage (bad flag, bad value, ambiguous name).
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lumodb/lumodb.h"
#include "cli.h"
#include "output.h"

namespace {

using lumodb::cli::AddArchive;
using lumodb::cli::AddDiff;
using lumodb::cli::Command;
using lumodb::cli::Common;
using lumodb::cli::Fail;
using lumodb::cli::kExitFailed;
using lumodb::cli::kExitOk;
using lumodb::cli::kExitUsage;
using lumodb::cli::OpenWatcher;

// Joins "status", "==", "running" given as three words into one filter.
std::vector<std::string> JoinFilterWords(const std::vector<std::string>& words) {
  static const std::set<std::string> kOps = {"==", "!=", "<", "<=", ">", ">=", "~"};
  std::vector<std::string> out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i + 2 < words.size() && kOps.count(words[i + 1]) != 0) {
      out.push_back(words[i] + " " + words[i + 1] + " " + words[i + 2]);
      i += 2;
    } else {
      out.push_back(words[i]);
    }
  }
  return out;
}

int WriteJsonRuns(const std::vector<std::string>& runs,
                  const std::vector<std::string>& columns,
                  lumodb::OutputFormat format) {
  std::vector<nlohmann::json> parsed;
  parsed.reserve(runs.size());
  for (const auto& r : runs) parsed.push_back(nlohmann::json::parse(r));
  lumodb::WriteRuns(std::cout, parsed, columns, format);
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailed;
}

// dump --format lumo-dir OUT [TEST_NAME...]: writes the runs in lumo's
// layout. Every named run must exist; nothing is written otherwise.
int DumpLumoDir(const Common& common, const std::string& exp,
                const std::vector<std::string>& words) {
  if (words.empty()) {
    std::cerr << "lumo-db: dump --format lumo-dir needs the output folder: "
                 "lumo-db dump --format lumo-dir OUT [TEST_NAME...]\n";
    return kExitUsage;
  }
  const std::string out = words[0];
  std::unique_ptr<lumodb::Watcher> watcher;
  lumodb::Status s = OpenWatcher(common, true, &watcher);
  if (!s.ok()) return Fail(s);
  lumodb::Query selection;
  selection.exp_name = exp;
  if (words.size() > 1) {
    // One regex filter for all the names: ^(?:a|b)$, names escaped.
    std::string pattern;
    for (size_t i = 1; i < words.size(); ++i) {
      std::string json;
      s = watcher->retrieve(words[i], exp, &json, nullptr);
      if (!s.ok() && s.code() != lumodb::Status::Code::kAmbiguous) return Fail(s);
      pattern += pattern.empty() ? "" : "|";
      for (char c : words[i]) {
        if (!std::isalnum(static_cast<unsigned char>(c))) pattern += '\\';
        pattern += c;
      }
    }
    selection.filters.push_back({"test_name", "~", "^(?:" + pattern + ")$"});
  }
  size_t exported = 0;
  s = watcher->export_lumo(selection, out, &exported);
  if (!s.ok()) {
    std::cerr << "lumo-db: " << s.ToString() << " (" << exported << " runs written to "
              << out << ")\n";
    return kExitFailed;
  }
  std::cout << "exported " << exported << " runs to " << out << "\n";
  return std::cout ? kExitOk : kExitFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lumo-db: durable, indexed records of machine-learning runs.\n"
               "Lists, filters and shows the runs that lumo-db trainers (and "
               "imported lumo trees) recorded.",
               "lumo-db"};
  // At most one command; a missing one is reported after parsing, so that
  // an unknown word or flag is named rather than "A subcommand is required".
  app.require_subcommand(0, 1);
  // The shared options below may also follow the command: query --no-load.
  app.fallthrough();
  app.set_version_flag("--version", std::string("lumo-db ") + lumodb::Version());
  Common common;
  app.add_option("--db", common.db,
                 "Index directory (default: $LUMODB_DB, else <cache_root>/lumodb/index)");
  app.add_option("--info-root", common.info_root,
                 "lumo's info_root (exp_root); default from lumo's config");
  app.add_option("--cache-root", common.cache_root,
                 "lumo's cache root; default from lumo's config");
  app.add_flag("--no-load", common.no_load,
               "Answer from the index as it is, without loading new journal records first");

  // query
  CLI::App* query = app.add_subcommand(
      "query", "List runs matching filters, e.g. lumo-db query 'params.lr<0.1' --sort=-metrics.acc --limit 10");
  std::vector<std::string> filter_words;
  lumodb::Query q;
  std::string sort, format_name = "table", columns_csv;
  bool desc = false;
  query->add_option("filters", filter_words,
                    "FIELD OP VALUE, OP one of == != < <= > >= ~ (regex); all must hold");
  query->add_option("--exp", q.exp_name, "Only runs of this exp_name");
  query->add_option("--status", q.status, "running, finished, failed, killed or not_started");
  query->add_option("--sort", sort,
                    "Field to sort by; a leading '-' (or --desc) sorts descending. "
                    "Default: start time, newest first");
  query->add_flag("--desc", desc, "Sort descending");
  query->add_option("--limit", q.limit, "At most N runs (0: all)");
  query->add_option("--columns", columns_csv, "Comma-separated fields to print");
  query->add_option("--format", format_name, "table, json, jsonl or csv")
      ->check(CLI::IsMember({"table", "json", "jsonl", "csv"}));

  // show
  CLI::App* show = app.add_subcommand("show", "Show one run, whole");
  std::string show_test, show_exp, show_format = "json";
  show->add_option("test_name", show_test, "The run's test_name")->required();
  show->add_option("--exp", show_exp, "exp_name, when the test_name is ambiguous");
  show->add_option("--format", show_format, "json (pretty) or jsonl (one line)")
      ->check(CLI::IsMember({"json", "jsonl"}));

  // dump
  CLI::App* dump = app.add_subcommand(
      "dump",
      "Print runs as JSON lines, one run a line; or, with --format lumo-dir OUT, "
      "write them in lumo's own layout under OUT");
  std::string dump_exp, dump_format = "jsonl";
  std::vector<std::string> dump_tests;
  dump->add_option("test_names", dump_tests,
                   "Only these runs (default: all); with --format lumo-dir the "
                   "first word is OUT");
  dump->add_option("--exp", dump_exp, "Only runs of this exp_name");
  dump->add_option("--format", dump_format,
                   "jsonl (default) or lumo-dir: OUT/<exp_name>/<test_name>/ "
                   "with info/*.json, text/*.str, note.md, metric.pkl")
      ->check(CLI::IsMember({"jsonl", "lumo-dir"}));

  // load
  CLI::App* load = app.add_subcommand(
      "load", "Bring the index up to date with the journals and print what changed");
  // reindex
  CLI::App* reindex = app.add_subcommand(
      "reindex", "Rebuild the index from the journals alone");

  // import
  CLI::App* import = app.add_subcommand(
      "import",
      "Import existing lumo trees (read-only), e.g. lumo-db import ~/.lumo");
  std::vector<std::string> import_paths;
  std::string import_format = "text", import_cache;
  import->add_option("paths", import_paths,
                     "lumo homes, info_roots, exp_name folders or run folders "
                     "(default: the roots of lumo's config)");
  import->add_option("--lumo-cache", import_cache,
                     "lumo's cache root for the imported trees (holds heartbeat/ "
                     "and pid/); default: the configured cache root when importing "
                     "the configured tree");
  bool import_full = false;
  import->add_flag("--full", import_full,
                   "Compare every file's size and time to find changed runs. "
                   "Without it a run whose lumo pid marker and folders are as at "
                   "the last import is unchanged (edits made outside lumo, in "
                   "place, need --full)");
  import->add_option("--format", import_format, "text or json (the report)")
      ->check(CLI::IsMember({"text", "json"}));

  // Commands that live in their own files (cmd_*.cc).
  std::vector<Command> commands;
  commands.push_back(AddArchive(app, common));
  commands.push_back(AddDiff(app, common));
  commands.push_back(AddRerun(app, common));
  commands.push_back(AddLineage(app, common));

  std::vector<CLI::App*> all = {query, show, dump, load, reindex, import};
  for (const Command& c : commands) all.push_back(c.app);
  for (CLI::App* command : all) {
    command->footer(
        "Shared options (see lumo-db --help) may come before or after the "
        "command:\n  --db DIR, --info-root DIR, --cache-root DIR, --no-load");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (app.get_subcommands().empty()) {
    std::string names;
    for (size_t i = 0; i < all.size(); ++i) {
      names += (i == 0 ? "" : i + 1 == all.size() ? " or " : ", ") + all[i]->get_name();
    }
    std::cerr << "lumo-db: a command is required: " << names
              << "\nRun with --help for more information.\n";
    return kExitUsage;
  }
  for (const Command& c : commands) {
    if (*c.app) return c.run();
  }

  std::unique_ptr<lumodb::Watcher> watcher;
  lumodb::Status s;

  if (*query) {
    lumodb::OutputFormat format;
    s = lumodb::ParseOutputFormat(format_name, &format);
    if (!s.ok()) return Fail(s);
    std::vector<std::string> columns;
    if (!columns_csv.empty()) {
      s = lumodb::ParseColumns(columns_csv, &columns);
      if (!s.ok()) return Fail(s);
    }
    for (const std::string& text : JoinFilterWords(filter_words)) {
      lumodb::Filter f;
      s = lumodb::Filter::Parse(text, &f);
      if (!s.ok()) return Fail(s);
      q.filters.push_back(f);
    }
    if (!sort.empty() && sort[0] == '-') {
      q.sort_field = sort.substr(1);
      q.descending = true;
    } else {
      q.sort_field = sort;
      q.descending = desc;
    }
    if (columns.empty() && (format == lumodb::OutputFormat::kTable ||
                            format == lumodb::OutputFormat::kCsv)) {
      columns = {"exp_name", "test_name", "status", "progress.start", "progress.ratio"};
      std::set<std::string> have(columns.begin(), columns.end());
      for (const auto& f : q.filters) {
        if (have.insert(f.field).second) columns.push_back(f.field);
      }
      if (!q.sort_field.empty() && have.insert(q.sort_field).second) {
        columns.push_back(q.sort_field);
      }
    }
    s = OpenWatcher(common, true, &watcher);
    if (!s.ok()) return Fail(s);
    std::vector<std::string> runs;
    s = watcher->query(q, &runs);
    if (!s.ok()) return Fail(s);
    return WriteJsonRuns(runs, columns, format);
  }

  if (*show) {
    s = OpenWatcher(common, true, &watcher);
    if (!s.ok()) return Fail(s);
    std::string json;
    std::vector<std::string> candidates;
    s = watcher->retrieve(show_test, show_exp, &json, &candidates);
    if (s.code() == lumodb::Status::Code::kAmbiguous) {
      std::cerr << "lumo-db: " << s.ToString() << "\n";
      for (const auto& c : candidates) std::cout << c << "\n";
      return kExitUsage;
    }
    if (!s.ok()) return Fail(s);
    nlohmann::json run = nlohmann::json::parse(json);
    std::cout << (show_format == "json" ? run.dump(2) : run.dump()) << "\n";
    return kExitOk;
  }

  if (*dump && dump_format == "lumo-dir") return DumpLumoDir(common, dump_exp, dump_tests);

  if (*dump) {
    s = OpenWatcher(common, true, &watcher);
    if (!s.ok()) return Fail(s);
    if (dump_tests.empty()) {
      lumodb::Query all;
      all.exp_name = dump_exp;
      std::vector<std::string> runs;
      s = watcher->query(all, &runs);
      if (!s.ok()) return Fail(s);
      for (const auto& r : runs) std::cout << r << "\n";
      return std::cout ? kExitOk : kExitFailed;
    }
    int code = kExitOk;
    for (const auto& test : dump_tests) {
      std::string json;
      s = watcher->retrieve(test, dump_exp, &json, nullptr);
      if (!s.ok()) {
        code = std::max(code, Fail(s));
        continue;
      }
      std::cout << json << "\n";
    }
    return code;
  }

  if (*import) {
    s = OpenWatcher(common, false, &watcher);
    if (!s.ok()) return Fail(s);
    lumodb::ImportReport report;
    const bool tty = isatty(STDERR_FILENO) != 0;
    auto progress = [tty](size_t done, size_t total) {
      if (tty) std::cerr << "\rimporting: " << done << "/" << total << " runs" << std::flush;
    };
    lumodb::ImportOptions options;
    options.cache_root = import_cache;
    options.full_check = import_full;
    options.progress = progress;
    s = watcher->import_lumo(import_paths, options, &report);
    if (tty) std::cerr << "\r\033[K";
    if (!s.ok()) return Fail(s);
    if (import_format == "json") {
      auto list = [](const std::vector<lumodb::ImportProblem>& problems) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& p : problems) out.push_back({{"path", p.path}, {"what", p.what}});
        return out;
      };
      nlohmann::json j = {{"imported", report.imported}, {"updated", report.updated},
                          {"unchanged", report.unchanged}, {"partial", report.partial},
                          {"skipped", report.skipped},
                          {"skipped_paths", list(report.skipped_paths)},
                          {"problems", list(report.problems)}};
      std::cout << j.dump(2) << "\n";
    } else {
      for (const auto& p : report.skipped_paths) {
        std::cout << "skipped " << p.path << ": " << p.what << "\n";
      }
      for (const auto& p : report.problems) {
        std::cout << "problem " << p.path << ": " << p.what << "\n";
      }
      std::cout << "runs: " << report.imported << " imported, " << report.updated
                << " updated, " << report.unchanged << " unchanged, " << report.partial
                << " partial, " << report.skipped << " skipped (index "
                << watcher->db_path() << ")\n";
    }
    return std::cout ? kExitOk : kExitFailed;
  }

  if (*load || *reindex) {
    s = OpenWatcher(common, false, &watcher);
    if (!s.ok()) return Fail(s);
    lumodb::LoadStats stats;
    s = *load ? watcher->load(&stats) : watcher->reindex(&stats);
    if (!s.ok()) return Fail(s);
    std::cout << (*load ? "loaded" : "reindexed") << ": " << stats.runs_read
              << " journals read, " << stats.records_applied << " records applied, "
              << stats.corrupt_records << " corrupt skipped, " << stats.runs_failed
              << " runs unreadable, " << stats.runs_killed
              << " runs found killed, " << stats.markers << " active markers, "
              << stats.markers_retired << " retired (index " << watcher->db_path()
              << ")\n";
    return kExitOk;
  }
  return kExitUsage;
}

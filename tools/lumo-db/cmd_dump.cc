// lumo-db dump: runs as JSON Lines, or written in lumo's own layout with
// --format lumo-dir OUT (Watcher::query, retrieve and export_lumo).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "index/output.h"
#include "progress.h"

namespace lumodb::cli {

namespace {

struct DumpArgs {
  std::string exp, format = "jsonl";
  bool raw = false;
  std::vector<std::string> words;  // test_names; with lumo-dir, OUT first
};

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
  std::unique_ptr<Watcher> watcher;
  Status s = OpenWatcher(common, true, &watcher);
  if (!s.ok()) return Fail(s);
  Query selection;
  selection.exp_name = exp;
  if (words.size() > 1) {
    // One regex filter for all the names: ^(?:a|b)$, names escaped.
    std::string pattern;
    for (size_t i = 1; i < words.size(); ++i) {
      std::string json;
      s = watcher->retrieve(words[i], exp, &json, nullptr);
      if (!s.ok() && s.code() != Status::Code::kAmbiguous) return Fail(s);
      pattern += pattern.empty() ? "" : "|";
      for (char c : words[i]) {
        if (!std::isalnum(static_cast<unsigned char>(c))) pattern += '\\';
        pattern += c;
      }
    }
    selection.filters.push_back({"test_name", "~", "^(?:" + pattern + ")$"});
  }
  size_t exported = 0;
  ProgressLine progress("exporting", "exported", "runs");
  s = watcher->export_lumo(selection, out, &exported, progress.Callback());
  if (!s.ok()) {
    std::cerr << "lumo-db: " << s.ToString() << " (" << exported << " runs written to " << out
              << ")\n";
    return kExitFailed;
  }
  progress.Finish();
  std::cout << "exported " << exported << " runs to " << out << "\n";
  return std::cout ? kExitOk : kExitFailed;
}

int DumpJsonl(const Common& common, const DumpArgs& a) {
  std::unique_ptr<Watcher> watcher;
  Status s = OpenWatcher(common, true, &watcher);
  if (!s.ok()) return Fail(s);
  if (a.words.empty()) {
    Query all;
    all.exp_name = a.exp;
    all.sort_field = "exp_name";  // the index's own order: streamed, nothing sorted
    ReadOptions options;
    options.raw = a.raw;
    std::unique_ptr<RowWriter> writer = RowWriter::Make(OutputFormat::kJsonl, {}, std::cout);
    s = watcher->read(all, options, [&writer](const RunRow& row) { return writer->Write(row); });
    if (s.ok()) s = writer->Finish();
    return s.ok() ? kExitOk : Fail(s);
  }
  int code = kExitOk;
  for (const auto& test : a.words) {
    std::string json;
    s = watcher->retrieve(test, a.exp, &json, nullptr, a.raw);
    if (!s.ok()) {
      code = std::max(code, Fail(s));
      continue;
    }
    std::cout << json << "\n";
  }
  return code;
}

}  // namespace

Command AddDump(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "dump",
      "Print runs as JSON lines, one run a line; or, with --format lumo-dir OUT, "
      "write them in lumo's own layout under OUT");
  auto args = std::make_shared<DumpArgs>();
  cmd->add_option("test_names", args->words,
                  "Only these runs (default: all); with --format lumo-dir the "
                  "first word is OUT");
  cmd->add_option("--exp", args->exp, "Only runs of this exp_name");
  cmd->add_option("--format", args->format,
                  "jsonl (default) or lumo-dir: OUT/<exp_name>/<test_name>/ "
                  "with info/*.json, text/*.str, note.md, metric.pkl")
      ->check(CLI::IsMember({"jsonl", "lumo-dir"}));
  cmd->add_flag("--raw", args->raw,
                "jsonl: also write, under \"info\", the raw values a run imported from "
                "lumo recorded for keys lumo-db derives itself");
  return {cmd, [&common, args] {
            if (args->format == "lumo-dir") return DumpLumoDir(common, args->exp, args->words);
            return DumpJsonl(common, *args);
          }};
}

}  // namespace lumodb::cli

// lumo-db show: one run, whole, as JSON (Watcher::retrieve does the work).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "util/json_text.h"

namespace lumodb::cli {

Command AddShow(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand("show", "Show one run, whole");
  struct Args {
    std::string test, exp, format = "json";
    bool raw = false;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("test_name", args->test, "The run's test_name")->required();
  AddExpOption(cmd, &args->exp);
  cmd->add_option("--format", args->format, "json (pretty) or jsonl (one line)")
      ->check(CLI::IsMember({"json", "jsonl"}));
  cmd->add_flag("--raw", args->raw,
                "Also show, under \"info\", the raw values a run imported from lumo "
                "recorded for keys lumo-db derives itself (progress, pinfo, ...)");
  return {cmd, [&common, args] {
            std::unique_ptr<Watcher> watcher;
            Status s = OpenWatcher(common, true, &watcher);
            if (!s.ok()) return Fail(s);
            std::string json;
            std::vector<std::string> candidates;
            s = watcher->retrieve(args->test, args->exp, &json, &candidates, args->raw);
            if (s.code() == Status::Code::kAmbiguous) {
              std::cerr << "lumo-db: " << s.ToString() << "\n";
              for (const auto& c : candidates) std::cout << c << "\n";
              return kExitUsage;
            }
            if (!s.ok()) return Fail(s);
            std::string out;
            if (args->format == "json") {
              AppendPrettyJson(json, 2, 0, &out);
            } else {
              out = std::move(json);
            }
            std::cout << out << "\n";
            return std::cout ? kExitOk : kExitFailed;
          }};
}

}  // namespace lumodb::cli

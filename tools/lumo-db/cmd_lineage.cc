// lumo-db lineage: draws the whole tree of reruns around a run.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"

namespace lumodb::cli {

namespace {

struct LineageArgs {
  std::string test_name;
  std::string exp_name;
  std::string format = "text";
};

std::string Line(const RerunNode& node, const std::string& parent_exp, const std::string& asked) {
  std::string line = node.test_name;
  if (node.status.empty()) return line + "  (not in the index)";
  if (node.exp_name != parent_exp) line += "  " + node.exp_name;
  line += "  " + node.status;
  if (!node.start.empty()) line += "  " + node.start;
  if (node.repeat > 0) line += "  repeat " + std::to_string(node.repeat);
  if (!node.changes.empty()) line += "  " + node.changes;
  if (node.test_name == asked) line += "  <- this run";
  return line;
}

void Draw(const RerunNode& node, const std::string& prefix, const std::string& asked) {
  for (size_t i = 0; i < node.reruns.size(); ++i) {
    const bool last = i + 1 == node.reruns.size();
    const RerunNode& child = node.reruns[i];
    std::cout << prefix << (last ? "└── " : "├── ") << Line(child, node.exp_name, asked) << "\n";
    Draw(child, prefix + (last ? "    " : "│   "), asked);
  }
}

}  // namespace

nlohmann::json LineageJson(const RerunNode& node) {
  nlohmann::json j = {{"exp_name", node.exp_name},
                      {"test_name", node.test_name},
                      {"status", node.status},
                      {"start", node.start},
                      {"repeat", node.repeat},
                      {"changes", node.changes},
                      {"reruns", nlohmann::json::array()}};
  for (const RerunNode& child : node.reruns) j["reruns"].push_back(LineageJson(child));
  return j;
}

Command AddLineage(CLI::App& app, const Common& common) {
  CLI::App* lineage = app.add_subcommand(
      "lineage", "Draw the whole tree of reruns around a run, e.g. lumo-db lineage 261128.004.7et");
  auto args = std::make_shared<LineageArgs>();
  lineage->add_option("test_name", args->test_name, "Any run of the tree")->required();
  AddExpOption(lineage, &args->exp_name);
  lineage
      ->add_option("--format", args->format,
                   "text (a tree: test_name, status, start, repeat, changed params) "
                   "or json (nested: reruns)")
      ->check(CLI::IsMember({"text", "json"}));
  return {lineage, [&common, args] {
            std::unique_ptr<Watcher> watcher;
            Status s = OpenWatcher(common, true, &watcher);
            if (!s.ok()) return Fail(s);
            RerunNode root;
            s = RerunLineage(*watcher, args->test_name, args->exp_name, &root);
            if (!s.ok()) return Fail(s);
            if (args->format == "json") {
              std::cout << LineageJson(root).dump(2) << "\n";
            } else {
              std::cout << Line(root, "", args->test_name) << "\n";
              Draw(root, "", args->test_name);
            }
            return std::cout ? kExitOk : kExitFailed;
          }};
}

}  // namespace lumodb::cli

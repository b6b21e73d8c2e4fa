// RerunLineage (lumodb/rerun.h): the tree of reruns around a run, read
// through the Watcher's rerun links (rerun.from up, rerun.reruns down).
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "lumodb/rerun.h"
#include "lumodb/watcher.h"
#include "util/json_field.h"

namespace lumodb {

namespace {

constexpr int kMaxDepth = 10000;  // a guard; chains are far shorter

// retrieve by test_name; when that names several runs, the one under
// exp_hint (reruns usually stay in their exp_name).
Status Fetch(Watcher& watcher, const std::string& test, const std::string& exp_hint,
             nlohmann::json* run) {
  std::string text;
  Status s = watcher.retrieve(test, "", &text, nullptr);
  if (s.code() == Status::Code::kAmbiguous && !exp_hint.empty()) {
    s = watcher.retrieve(test, exp_hint, &text, nullptr);
  }
  if (!s.ok()) return s;
  *run = nlohmann::json::parse(text, nullptr, false);
  if (!run->is_object()) return Status::Corruption("run " + test + ": bad JSON from the index");
  return Status::OK();
}

std::string RerunFrom(const nlohmann::json& run) {
  auto it = run.find("rerun");
  return it != run.end() && it->is_object() ? StringField(*it, "from") : "";
}

void Flatten(const nlohmann::json& value, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  if (value.is_object() && !value.empty()) {
    for (const auto& [k, v] : value.items()) {
      Flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    }
  } else if (!prefix.empty()) {
    (*out)[prefix] = value.dump();
  }
}

// "lr: 0.1 -> 0.2, seed: 1 -> 7": params that differ, in key order.
std::string ParamChanges(const nlohmann::json& parent, const nlohmann::json& child) {
  std::map<std::string, std::string> a, b;
  if (parent.contains("params")) Flatten(parent["params"], "", &a);
  if (child.contains("params")) Flatten(child["params"], "", &b);
  std::set<std::string> keys;
  for (const auto& kv : a) keys.insert(kv.first);
  for (const auto& kv : b) keys.insert(kv.first);
  std::string out;
  for (const std::string& k : keys) {
    auto x = a.find(k), y = b.find(k);
    std::string from = x == a.end() ? "(none)" : x->second;
    std::string to = y == b.end() ? "(none)" : y->second;
    if (from == to) continue;
    out += (out.empty() ? "" : ", ") + k + ": " + from + " -> " + to;
  }
  return out;
}

void Describe(const nlohmann::json& run, RerunNode* node) {
  node->exp_name = StringField(run, "exp_name");
  node->test_name = StringField(run, "test_name");
  node->status = StringField(run, "status");
  if (run.contains("progress") && run["progress"].is_object()) {
    node->start = StringField(run["progress"], "start");
  }
  auto rerun = run.find("rerun");
  if (rerun != run.end() && rerun->is_object() && rerun->contains("repeat") &&
      (*rerun)["repeat"].is_number_integer()) {
    node->repeat = (*rerun)["repeat"].get<int>();
  }
}

Status Grow(Watcher& watcher, const nlohmann::json& run, RerunNode* node,
            std::set<std::string>* seen, int depth) {
  auto rerun = run.find("rerun");
  if (rerun == run.end() || !rerun->is_object() || !rerun->contains("reruns")) {
    return Status::OK();
  }
  for (const auto& t : (*rerun)["reruns"]) {
    if (!t.is_string()) continue;
    const std::string test = t.get<std::string>();
    if (!seen->insert(test).second || depth >= kMaxDepth) continue;  // a loop
    RerunNode child;
    nlohmann::json child_run;
    Status s = Fetch(watcher, test, node->exp_name, &child_run);
    if (s.IsNotFound()) {
      child.test_name = test;  // linked, but not (yet) in the index
      node->reruns.push_back(std::move(child));
      continue;
    }
    if (!s.ok()) return s;
    Describe(child_run, &child);
    child.changes = ParamChanges(run, child_run);
    s = Grow(watcher, child_run, &child, seen, depth + 1);
    if (!s.ok()) return s;
    node->reruns.push_back(std::move(child));
  }
  return Status::OK();
}

}  // namespace

Status RerunLineage(Watcher& watcher, const std::string& test_name,
                    const std::string& exp_name, RerunNode* root) {
  std::string text;
  Status s = watcher.retrieve(test_name, exp_name, &text, nullptr);
  if (!s.ok()) return s;
  nlohmann::json run = nlohmann::json::parse(text, nullptr, false);
  if (!run.is_object()) return Status::Corruption("run " + test_name + ": bad JSON from the index");

  // Up to the first run of the chain.
  std::set<std::string> seen = {test_name};
  std::string missing_origin;
  for (int depth = 0; depth < kMaxDepth; ++depth) {
    const std::string from = RerunFrom(run);
    if (from.empty() || !seen.insert(from).second) break;
    nlohmann::json parent;
    s = Fetch(watcher, from, StringField(run, "exp_name"), &parent);
    if (s.IsNotFound()) {
      missing_origin = from;
      break;
    }
    if (!s.ok()) return s;
    run = std::move(parent);
  }

  RerunNode top;
  Describe(run, &top);
  seen = {top.test_name};
  s = Grow(watcher, run, &top, &seen, 0);
  if (!s.ok()) return s;
  if (!missing_origin.empty()) {
    // The chain's first run is linked but not indexed: show it as such.
    RerunNode origin;
    origin.test_name = missing_origin;
    origin.reruns.push_back(std::move(top));
    top = std::move(origin);
  }
  *root = std::move(top);
  return Status::OK();
}

}  // namespace lumodb

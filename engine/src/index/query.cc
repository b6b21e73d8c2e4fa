// QueryEngine: lookups and queries answered from the index: one run by
// test_name, or the runs a Query selects, filtered, sorted and limited.
#include "index/query.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "index/filter.h"
#include "index/run_json.h"

namespace lumodb {

namespace {

// Top-level keys of a run's JSON that BuildRunJson derives itself; an info
// key with one of these names never reaches the top level.
bool IsDerivedKey(const std::string& key) {
  static const std::set<std::string> kDerived = {
      "exp_name", "test_name", "status",    "progress",       "execute", "pinfo",  "roots",
      "info_dir", "blob_dir",  "cache_dir", "lumodb_version", "tags",    "note",   "exception",
      "info",     "text",      "metrics",   "metrics_detail", "rerun",   "journal"};
  return kDerived.count(key) != 0;
}

// LookupPath looks at the top level only under the keys that end where the
// dotted field has a dot (or at its end). When none of them is derived, the
// field resolves through info keys alone, so a filter on it can be tried on
// those few info values before the whole run is built. Empty: not so.
std::vector<std::string> InfoOnlyPrefixes(const std::string& field) {
  std::vector<std::string> prefixes;
  for (size_t dot = field.find('.'); dot != std::string::npos; dot = field.find('.', dot + 1)) {
    prefixes.push_back(field.substr(0, dot));
  }
  prefixes.push_back(field);
  for (const auto& p : prefixes) {
    if (IsDerivedKey(p)) return {};
  }
  return prefixes;
}

bool IndexedField(const std::string& field) {
  return field == "status" || field == "progress.start" || field.rfind("params.", 0) == 0 ||
         field.rfind("metrics.", 0) == 0;
}

}  // namespace

template <typename Fn>
Status QueryEngine::ScanRuns(const std::string& exp_name, Fn fn) {
  std::string prefix;
  if (!exp_name.empty()) prefix = exp_name + std::string(1, '\0');
  std::unique_ptr<rocksdb::Iterator> it(
      index_->db()->NewIterator(rocksdb::ReadOptions(), index_->cf(kRuns)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view exp, test;
    rocksdb::Slice k = it->key();
    if (!SplitKey(std::string_view(k.data(), k.size()), &exp, &test, nullptr)) continue;
    Status s = fn(std::string(exp), std::string(test));
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status QueryEngine::Retrieve(const std::string& test_name, const std::string& exp_name,
                             std::string* json, std::vector<std::string>* candidates) {
  std::string exp = exp_name;
  if (exp.empty()) {
    std::vector<std::string> exps = ExpsOf(test_name);
    if (exps.empty()) return Status::NotFound("no run " + test_name + " in " + index_->path());
    if (exps.size() > 1) {
      std::string list;
      for (const auto& e : exps) {
        if (candidates != nullptr) candidates->push_back(e + "/" + test_name);
        list += (list.empty() ? "" : ", ") + e + "/" + test_name;
      }
      return Status::Ambiguous("test_name " + test_name + " names " + std::to_string(exps.size()) +
                               " runs: " + list + " (choose one with --exp)");
    }
    exp = exps.front();
  }
  nlohmann::json run;
  Status s = BuildRunJson(index_, exp, test_name, timezone_, &run);
  if (!s.ok()) return s;
  *json = run.dump();
  return Status::OK();
}

Status QueryEngine::Run(const Query& q, std::vector<std::string>* out) {
  std::vector<CompiledFilter> filters;
  std::vector<Filter> all = q.filters;
  if (!q.status.empty()) {
    static const std::set<std::string> kStatuses = {"running", "finished", "failed", "killed",
                                                    "not_started"};
    if (kStatuses.count(q.status) == 0) {
      return Status::InvalidArgument(
          "status '" + q.status + "' is not one of running, finished, failed, killed, not_started");
    }
    all.push_back(Filter{"status", "==", q.status});
  }
  for (const Filter& f : all) {
    CompiledFilter c;
    Status s = CompiledFilter::Compile(f, &c);
    if (!s.ok()) return s;
    filters.push_back(std::move(c));
  }
  const bool default_sort = q.sort_field.empty();
  const std::string sort_field = default_sort ? "progress.start" : q.sort_field;
  const bool descending = default_sort ? true : q.descending;

  // Filters decided by a few info values: a run they reject is skipped
  // without building its JSON (a sort walk may pass thousands of those).
  std::vector<std::pair<const CompiledFilter*, std::vector<std::string>>> prechecks;
  for (const auto& f : filters) {
    std::vector<std::string> prefixes = InfoOnlyPrefixes(f.filter().field);
    if (!prefixes.empty()) prechecks.emplace_back(&f, std::move(prefixes));
  }
  auto rejected_early = [&](const std::string& exp, const std::string& test) {
    for (const auto& [filter, prefixes] : prechecks) {
      nlohmann::json partial = nlohmann::json::object();
      for (const std::string& key : prefixes) {
        std::string v;
        Status s = index_->Get(kInfo, SubKey(exp, test, key), &v);
        if (s.IsNotFound()) continue;
        if (!s.ok()) return false;  // let BuildRunJson report it
        // As BuildRunJson reads info values.
        nlohmann::json parsed = nlohmann::json::parse(v, nullptr, false);
        if (parsed.is_discarded()) parsed = v;
        partial[key] = std::move(parsed);
      }
      if (!filter->Matches(partial)) return true;
    }
    return false;
  };

  std::vector<nlohmann::json> results;
  std::set<std::string> seen;
  auto full = [&] { return q.limit != 0 && results.size() >= q.limit; };
  auto consider = [&](const std::string& exp, const std::string& test) -> Status {
    if (!q.exp_name.empty() && exp != q.exp_name) return Status::OK();
    if (!seen.insert(RunKey(exp, test)).second) return Status::OK();
    if (rejected_early(exp, test)) return Status::OK();
    nlohmann::json run;
    Status s = BuildRunJson(index_, exp, test, timezone_, &run);
    if (s.IsNotFound()) return Status::OK();
    if (!s.ok()) return s;
    for (const auto& f : filters) {
      if (!f.Matches(run)) return Status::OK();
    }
    results.push_back(std::move(run));
    return Status::OK();
  };

  // Equality filters on indexed fields name a superset of the runs that
  // can match; every candidate still goes through all the filters.
  std::optional<RunSet> candidates;
  for (const auto& f : filters) {
    if (f.filter().op != "==" || !IndexedField(f.filter().field)) continue;
    RunSet set = EqualityCandidates(f.filter());
    if (candidates.has_value()) {
      RunSet both;
      for (const auto& k : set) {
        if (candidates->count(k) != 0) both.insert(k);
      }
      set.swap(both);
    }
    candidates = std::move(set);
  }
  auto consider_key = [&](std::string_view key) -> Status {
    std::string_view exp, test;
    if (!SplitKey(key, &exp, &test, nullptr)) return Status::OK();
    return consider(std::string(exp), std::string(test));
  };
  // Runs in key order, as a scan of the experiments family gives them.
  auto each_run = [&](auto fn) -> Status {
    if (!candidates.has_value()) return ScanRuns(q.exp_name, fn);
    std::vector<std::string> keys(candidates->begin(), candidates->end());
    std::sort(keys.begin(), keys.end());
    for (const auto& key : keys) {
      std::string_view exp, test;
      if (!SplitKey(key, &exp, &test, nullptr)) continue;
      Status s = fn(std::string(exp), std::string(test));
      if (!s.ok()) return s;
    }
    return Status::OK();
  };

  Status s;
  if (IndexedField(sort_field)) {
    // The fields index holds every value of this field in CompareJson's
    // order, so walking it is the sort; runs without the field come last.
    Index::RangeIterator it(index_, kFields, sort_field + std::string(1, '\0'),
                            sort_field + std::string(1, '\x01'));
    // Walking backwards, equal values come out in reverse key order; they
    // are gathered and emitted in key order, as a stable sort keeps them.
    std::string group_value;
    std::vector<std::string> group;
    auto flush_group = [&]() -> Status {
      for (auto g = group.rbegin(); g != group.rend() && !full(); ++g) {
        Status st = consider_key(*g);
        if (!st.ok()) return st;
      }
      group.clear();
      return Status::OK();
    };
    for (descending ? it->SeekToLast() : it->SeekToFirst(); it->Valid() && !full();
         descending ? it->Prev() : it->Next()) {
      std::string_view field, value, exp, test;
      rocksdb::Slice k = it->key();
      std::string_view key(k.data(), k.size());
      if (!ParseFieldKey(key, &field, &value, &exp, &test)) continue;
      // exp \0 test is the key's tail: no copy to test membership.
      std::string_view run_key(exp.data(), key.data() + key.size() - exp.data());
      if (candidates.has_value() &&
          candidates->count(absl::string_view(run_key.data(), run_key.size())) == 0)
        continue;
      if (!descending) {
        s = consider_key(run_key);
      } else {
        if (!group.empty() && value != group_value) s = flush_group();
        if (group.empty()) group_value.assign(value);
        group.emplace_back(run_key);
      }
      if (!s.ok()) return s;
    }
    if (s.ok()) s = flush_group();
    if (s.ok() && !full()) {
      s = each_run([&](const std::string& e, const std::string& t) {
        return full() ? Status::OK() : consider(e, t);
      });
    }
  } else {
    s = each_run(consider);
    if (s.ok()) {
      std::stable_sort(results.begin(), results.end(),
                       [&](const nlohmann::json& a, const nlohmann::json& b) {
                         const nlohmann::json* va = LookupPath(a, sort_field);
                         const nlohmann::json* vb = LookupPath(b, sort_field);
                         if (va == nullptr || vb == nullptr) return va != nullptr;
                         int c = CompareJson(*va, *vb);
                         return descending ? c > 0 : c < 0;
                       });
      if (q.limit != 0 && results.size() > q.limit) results.resize(q.limit);
    }
  }
  if (!s.ok()) return s;
  for (const auto& r : results) out->push_back(r.dump());
  return Status::OK();
}

// Runs whose indexed value of f.field could equal f.value under
// CompiledFilter's rules: the value's own encoding, plus numbers for a
// numeric string and numeric strings for a number.
QueryEngine::RunSet QueryEngine::EqualityCandidates(const Filter& f) {
  nlohmann::json value;
  if (f.value.empty()) {
    value = nullptr;
  } else {
    value = nlohmann::json::parse(f.value, nullptr, false);
    if (value.is_discarded() || value.is_array() || value.is_object()) value = f.value;
  }
  std::vector<std::string> encodings;
  std::string enc;
  if (EncodeFieldValue(value, &enc)) encodings.push_back(enc);
  if (f.value.empty() && EncodeFieldValue("", &enc)) encodings.push_back(enc);
  bool numeric_strings = value.is_number();
  if (value.is_string()) {
    nlohmann::json n = nlohmann::json::parse(value.get<std::string>(), nullptr, false);
    if (n.is_number() && EncodeFieldValue(n, &enc)) encodings.push_back(enc);
  }
  RunSet out;
  auto collect = [&](const std::string& from, const std::string& to, auto&& keep) {
    Index::RangeIterator it(index_, kFields, from, to);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string_view field, v, exp, test;
      rocksdb::Slice k = it->key();
      std::string_view key(k.data(), k.size());
      if (!ParseFieldKey(key, &field, &v, &exp, &test) || !keep(v)) continue;
      out.emplace(exp.data(), key.data() + key.size() - exp.data());
    }
  };
  const std::string base = f.field + std::string(1, '\0');
  for (const std::string& e : encodings) {
    // Keys whose value starts with e; the exact value is checked.
    collect(base + e, base + e + std::string(1, '\xff'),
            [&](std::string_view v) { return v == e; });
  }
  if (numeric_strings) {
    collect(base + "S", base + "T", [](std::string_view v) {
      return nlohmann::json::parse(v.substr(1), nullptr, false).is_number();
    });
  }
  return out;
}

std::vector<std::string> QueryEngine::ExpsOf(const std::string& test) {
  std::vector<std::string> exps;
  std::string prefix = test;
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it(
      index_->db()->NewIterator(rocksdb::ReadOptions(), index_->cf(kByTest)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    exps.emplace_back(it->key().data() + prefix.size(), it->key().size() - prefix.size());
  }
  return exps;
}

}  // namespace lumodb

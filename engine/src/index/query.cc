// QueryEngine: lookups and streamed bulk reads (see query.h).
#include "index/query.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <set>

#include "index/filter.h"
#include "index/row.h"
#include "index/run_text.h"
#include "index/run_view.h"
#include "index/spill.h"

namespace lumodb {

namespace {

bool IndexedField(const std::string& field) {
  return field == "status" || field == "progress.start" || field.rfind("params.", 0) == 0 ||
         field.rfind("metrics.", 0) == 0;
}

// A sorted read with at most this many rows to return (offset + limit)
// keeps sort keys and run keys only, and reads the winners again by key;
// a larger one renders every row once, into a Spill.
constexpr size_t kReadAgainLimit = 10000;
// Candidates from the fields family are read by key only when they are few.
constexpr size_t kMaxCandidates = 4096;
// A walk of the fields family pays off for a small page.
constexpr size_t kMaxWalk = 1000;

// The first segment of a dotted path.
std::string_view Head(std::string_view path) { return path.substr(0, path.find('.')); }

// What a read reads: the families and info entries the paths need. Whole
// runs need everything.
ReadPlan FamiliesFor(const std::vector<std::string>& paths, bool whole) {
  ReadPlan plan;
  if (whole) return plan;
  std::set<std::string> names;
  plan.text = plan.metrics = plan.reruns = false;
  for (const std::string& p : paths) {
    const std::string_view head = Head(p);
    plan.metrics = plan.metrics || head == "metrics" || head == "metrics_detail";
    plan.text = plan.text || head == "text";
    plan.reruns = plan.reruns || head == "rerun";
    // Keys every run's record has: no info value can stand for them.
    if (head == "exp_name" || head == "test_name" || head == "status" || head == "progress" ||
        head == "journal") {
      continue;
    }
    // Every key the path may resolve through (a key may hold dots), and
    // below "info" (the raw values) the same again.
    for (std::string_view path : {std::string_view(p), std::string_view()}) {
      if (path.empty()) {
        if (head != "info" || p.size() <= 5) break;
        path = std::string_view(p).substr(5);
      }
      for (size_t dot = path.find('.'); dot != std::string_view::npos;
           dot = path.find('.', dot + 1)) {
        names.emplace(path.substr(0, dot));
      }
      names.emplace(path);
    }
  }
  plan.info = !names.empty();
  plan.info_names.assign(names.begin(), names.end());
  if (plan.info_names.empty()) plan.info_names.push_back(std::string(1, '\0'));  // none
  return plan;
}

// A sort key: the value's order-preserving encoding (the fields family's),
// or absent (last, whichever the direction).
struct SortKey {
  std::string value;
  bool absent = true;
};

bool Before(const SortKey& a, const SortKey& b, bool descending) {
  if (a.absent || b.absent) return !a.absent && b.absent;
  return descending ? a.value > b.value : a.value < b.value;
}

}  // namespace

// Everything one read needs while it runs.
struct QueryEngine::Plan {
  Plan(const Query& query, const ReadOptions& options, const RowVisitor& visitor, ReadStats* st,
       const std::string& timezone)
      : q(query), opts(options), visit(visitor), stats(st), text(timezone) {}

  const Query& q;
  const ReadOptions& opts;
  const RowVisitor& visit;
  ReadStats* stats;
  std::vector<CompiledFilter> filters;
  std::string sort_field;
  bool descending = false;
  bool key_order = false;
  ReadPlan families;
  const rocksdb::Snapshot* snapshot = nullptr;
  RunText text;
  std::unique_ptr<ViewRow> row;
  size_t skipped = 0;  // matching rows passed over for the offset
  bool full = false;   // the limit is reached
  std::string scratch;

  size_t Want() const {
    return q.limit == 0 ? std::numeric_limits<size_t>::max() : q.offset + q.limit;
  }

  bool Matches(const RunView& view) {
    for (const CompiledFilter& f : filters) {
      std::string_view value;
      if (!text.Resolve(view, f.filter().field, &scratch, &value)) {
        if (!f.MatchesValue(nullptr)) return false;
        continue;
      }
      nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
      if (!f.MatchesValue(parsed.is_discarded() ? nullptr : &parsed)) return false;
    }
    return true;
  }

  SortKey KeyOf(const RunView& view) {
    SortKey key;
    std::string_view value;
    if (!text.Resolve(view, sort_field, &scratch, &value)) return key;
    nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_discarded()) return key;
    key.absent = !EncodeFieldValue(parsed, &key.value);
    return key;
  }

  // Passes a matching row on, minding offset and limit.
  Status Deliver(const RunRow& r) {
    if (full) return Status::OK();
    if (skipped < q.offset) {
      ++skipped;
      return Status::OK();
    }
    Status s = visit(r);
    stats->rows++;
    if (q.limit != 0 && stats->rows >= q.limit) full = true;
    return s;
  }
};

Status QueryEngine::Retrieve(const std::string& test_name, const std::string& exp_name, bool raw,
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
  RunReader reader(index_, ReadPlan(), nullptr);
  RunView view;
  Status s = reader.Read(exp, test_name, &view);
  if (!s.ok()) return s;
  json->clear();
  RunText(timezone_).AppendRun(view, raw, json);
  return Status::OK();
}

Status QueryEngine::Read(const Query& q, const ReadOptions& opts, const RowVisitor& visit,
                         ReadStats* stats) {
  ReadStats local;
  if (stats == nullptr) stats = &local;
  *stats = ReadStats();
  Plan plan(q, opts, visit, stats, timezone_);
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
    plan.filters.push_back(std::move(c));
  }
  const bool default_sort = q.sort_field.empty();
  plan.sort_field = default_sort ? "progress.start" : q.sort_field;
  plan.descending = default_sort ? true : q.descending;
  plan.key_order = q.sort_field == "exp_name" && !q.descending;

  std::vector<std::string> paths = opts.columns;
  for (const CompiledFilter& f : plan.filters) paths.push_back(f.filter().field);
  if (!plan.key_order) paths.push_back(plan.sort_field);
  plan.families = FamiliesFor(paths, opts.columns.empty());
  plan.row.reset(new ViewRow(&plan.text, &opts.columns, opts.raw));
  // One consistent view of the index for the whole read.
  rocksdb::ManagedSnapshot snapshot(index_->db());
  plan.snapshot = snapshot.snapshot();

  // Equality filters on indexed fields name a superset of the runs that
  // can match; every candidate still goes through all the filters.
  std::optional<RunSet> candidates;
  if (!q.runs.empty()) {
    RunSet named;
    for (const RunName& r : q.runs) named.insert(RunKey(r.exp_name, r.test_name));
    candidates = std::move(named);
  }
  for (const CompiledFilter& f : plan.filters) {
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
  const RunSet* within = candidates.has_value() ? &*candidates : nullptr;
  if (within != nullptr && (within->size() <= kMaxCandidates || !q.runs.empty())) {
    return ReadCandidates(plan, *within);
  }
  if (!plan.key_order && IndexedField(plan.sort_field) && q.limit != 0 && plan.Want() <= kMaxWalk) {
    return ReadWalk(plan, within);
  }
  return ReadScan(plan, within);
}

Status QueryEngine::ReadCandidates(Plan& plan, const RunSet& candidates) {
  std::vector<std::string> keys(candidates.begin(), candidates.end());
  std::sort(keys.begin(), keys.end());  // key order
  RunReader reader(index_, plan.families, plan.snapshot);
  RunView view;
  struct Match {
    SortKey key;
    size_t at;
  };
  std::vector<Match> matches;
  auto read = [&](const std::string& key, bool* found) -> Status {
    std::string_view exp, test;
    *found = false;
    if (!SplitKey(key, &exp, &test, nullptr)) return Status::OK();
    if (!plan.q.exp_name.empty() && exp != plan.q.exp_name) return Status::OK();
    Status s = reader.Read(exp, test, &view);
    if (s.IsNotFound()) return Status::OK();
    if (!s.ok()) return s;
    *found = true;
    return Status::OK();
  };
  for (size_t i = 0; i < keys.size() && !plan.full; ++i) {
    bool found = false;
    Status s = read(keys[i], &found);
    if (!s.ok()) return s;
    if (!found || !plan.Matches(view)) continue;
    plan.stats->matched++;
    if (plan.key_order) {
      plan.row->Reset(&view);
      s = plan.Deliver(*plan.row);
      if (!s.ok()) return s;
    } else {
      matches.push_back({plan.KeyOf(view), i});
    }
  }
  plan.stats->matched_exact = !plan.full;
  if (plan.key_order) return Status::OK();
  std::stable_sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
    return Before(a.key, b.key, plan.descending);
  });
  plan.skipped = plan.q.offset;  // passed over below
  for (size_t i = plan.q.offset; i < matches.size() && !plan.full; ++i) {
    bool found = false;
    Status s = read(keys[matches[i].at], &found);
    if (!s.ok()) return s;
    if (!found) continue;
    plan.row->Reset(&view);
    s = plan.Deliver(*plan.row);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status QueryEngine::ReadWalk(Plan& plan, const RunSet* candidates) {
  // The fields family holds every value of the sort field in CompareJson's
  // order, so walking it is the sort; runs without the field come last.
  const std::string& field = plan.sort_field;
  const bool descending = plan.descending;
  RunReader reader(index_, plan.families, plan.snapshot);
  RunView view;
  std::set<std::string> seen;
  auto consider = [&](std::string_view run_key) -> Status {
    std::string_view exp, test;
    if (!SplitKey(run_key, &exp, &test, nullptr)) return Status::OK();
    if (!plan.q.exp_name.empty() && exp != plan.q.exp_name) return Status::OK();
    if (!seen.emplace(run_key).second) return Status::OK();
    Status s = reader.Read(exp, test, &view);
    if (s.IsNotFound()) return Status::OK();
    if (!s.ok()) return s;
    if (!plan.Matches(view)) return Status::OK();
    plan.stats->matched++;
    plan.row->Reset(&view);
    return plan.Deliver(*plan.row);
  };
  rocksdb::ReadOptions ro;
  ro.snapshot = plan.snapshot;
  const std::string lower = field + std::string(1, '\0'), upper = field + std::string(1, '\x01');
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(index_->db()->NewIterator(ro, index_->cf(kFields)));
  // Walking backwards, equal values come out in reverse key order; they
  // are gathered and passed on in key order, as a stable sort keeps them.
  std::string group_value;
  std::vector<std::string> group;
  Status s;
  auto flush_group = [&]() -> Status {
    for (auto g = group.rbegin(); g != group.rend() && !plan.full; ++g) {
      Status st = consider(*g);
      if (!st.ok()) return st;
    }
    group.clear();
    return Status::OK();
  };
  for (descending ? it->SeekToLast() : it->SeekToFirst(); it->Valid() && !plan.full;
       descending ? it->Prev() : it->Next()) {
    std::string_view f, value, exp, test;
    rocksdb::Slice k = it->key();
    std::string_view key(k.data(), k.size());
    if (!ParseFieldKey(key, &f, &value, &exp, &test)) continue;
    // exp \0 test is the key's tail: no copy to test membership.
    std::string_view run_key(exp.data(), key.data() + key.size() - exp.data());
    if (candidates != nullptr &&
        candidates->count(absl::string_view(run_key.data(), run_key.size())) == 0) {
      continue;
    }
    if (!descending) {
      s = consider(run_key);
    } else {
      if (!group.empty() && value != group_value) s = flush_group();
      if (group.empty()) group_value.assign(value);
      group.emplace_back(run_key);
    }
    if (!s.ok()) return s;
  }
  if (!it->status().ok()) return Index::FromRocks(it->status(), "walk index " + index_->path());
  s = flush_group();
  if (!s.ok() || plan.full) return s;
  // Then the runs without the field, in key order.
  std::string prefix = plan.q.exp_name.empty() ? "" : plan.q.exp_name + std::string(1, '\0');
  ro.iterate_lower_bound = nullptr;
  ro.iterate_upper_bound = nullptr;
  std::unique_ptr<rocksdb::Iterator> runs(index_->db()->NewIterator(ro, index_->cf(kRuns)));
  for (runs->Seek(prefix); runs->Valid() && runs->key().starts_with(prefix) && !plan.full;
       runs->Next()) {
    std::string_view key(runs->key().data(), runs->key().size());
    if (candidates != nullptr &&
        candidates->count(absl::string_view(key.data(), key.size())) == 0) {
      continue;
    }
    s = consider(key);
    if (!s.ok()) return s;
  }
  plan.stats->matched_exact = !plan.full;
  return Status::OK();
}

Status QueryEngine::ReadScan(Plan& plan, const RunSet* candidates) {
  RunScanner scanner(index_, plan.q.exp_name, plan.families, plan.snapshot);
  RunView view;
  Status s;
  if (plan.key_order) {
    while (!plan.full && scanner.Next(&view)) {
      if (candidates != nullptr && candidates->count(RunKey(view.exp, view.test)) == 0) continue;
      if (!plan.Matches(view)) continue;
      plan.stats->matched++;
      plan.row->Reset(&view);
      s = plan.Deliver(*plan.row);
      if (!s.ok()) return s;
    }
    if (!scanner.status().ok()) return scanner.status();
    plan.stats->matched_exact = !plan.full;
    return Status::OK();
  }

  const bool read_again = plan.q.limit != 0 && plan.Want() <= kReadAgainLimit;
  struct Match {
    SortKey key;
    uint64_t offset;  // in the spill; or into run_keys
    uint32_t size;
  };
  std::vector<Match> matches;
  std::vector<std::string> run_keys;
  Spill spill;
  std::string text;
  while (scanner.Next(&view)) {
    if (candidates != nullptr && candidates->count(RunKey(view.exp, view.test)) == 0) continue;
    if (!plan.Matches(view)) continue;
    plan.stats->matched++;
    Match m{plan.KeyOf(view), 0, 0};
    if (read_again) {
      m.offset = run_keys.size();
      run_keys.push_back(RunKey(view.exp, view.test));
    } else {
      plan.row->Reset(&view);
      text.clear();
      plan.row->AppendText(&text);
      s = spill.Append(text, &m.offset);
      if (!s.ok()) return s;
      m.size = static_cast<uint32_t>(text.size());
    }
    matches.push_back(std::move(m));
  }
  if (!scanner.status().ok()) return scanner.status();
  plan.stats->matched_exact = true;
  std::stable_sort(matches.begin(), matches.end(), [&](const Match& a, const Match& b) {
    return Before(a.key, b.key, plan.descending);
  });
  plan.skipped = plan.q.offset;
  if (read_again) {
    RunReader reader(index_, plan.families, plan.snapshot);
    for (size_t i = plan.q.offset; i < matches.size() && !plan.full; ++i) {
      std::string_view exp, test;
      SplitKey(run_keys[matches[i].offset], &exp, &test, nullptr);
      s = reader.Read(exp, test, &view);
      if (s.IsNotFound()) continue;
      if (!s.ok()) return s;
      plan.row->Reset(&view);
      s = plan.Deliver(*plan.row);
      if (!s.ok()) return s;
    }
    return Status::OK();
  }
  TextRow row(plan.opts.columns.size());
  for (size_t i = plan.q.offset; i < matches.size() && !plan.full; ++i) {
    s = spill.Read(matches[i].offset, matches[i].size, &text);
    if (!s.ok()) return s;
    if (!row.Reset(text)) return Status::Corruption("a spilled row of a sorted read is damaged");
    s = plan.Deliver(row);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status QueryEngine::Run(const Query& q, std::vector<std::string>* out) {
  return Read(
      q, ReadOptions(),
      [out](const RunRow& row) {
        out->emplace_back(row.json());
        return Status::OK();
      },
      nullptr);
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

Status QueryEngine::Changed(int64_t after, std::vector<RunName>* runs, int64_t* latest) {
  runs->clear();
  // Only the newest stamp: where a reader that read everything starts.
  if (after < 0) return index_->LatestChangeStamp(latest);
  *latest = after;
  std::string lower = std::string(kChangedField) + '\0';
  std::string enc;
  if (after > 0 && EncodeFieldValue(nlohmann::json(after + 1), &enc)) lower += enc;
  Index::RangeIterator it(index_, kFields, lower, std::string(kChangedField) + '\x01');
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view field, value, exp, test;
    if (!ParseFieldKey(std::string_view(it->key().data(), it->key().size()), &field, &value, &exp,
                       &test)) {
      continue;
    }
    nlohmann::json stamp = DecodeFieldValue(value);
    if (!stamp.is_number()) continue;
    const int64_t at = static_cast<int64_t>(stamp.get<double>());
    if (at <= after) continue;
    *latest = std::max(*latest, at);
    runs->push_back({std::string(exp), std::string(test)});
  }
  if (!it->status().ok()) return Index::FromRocks(it->status(), "read the change feed of " + index_->path());
  return Status::OK();
}

}  // namespace lumodb

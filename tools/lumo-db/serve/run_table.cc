// RunTable (see run_table.h).
#include "serve/run_table.h"

#include <algorithm>
#include <numeric>

#include "index/keys.h"

namespace lumodb::cli {

namespace {

// A change feed this long is a rebuilt index (reindex stamps every run):
// reading the table again is cheaper than run by run.
constexpr size_t kRebuildAbove = 20000;
// Columns held at most; the least recently used goes first.
constexpr size_t kMaxColumns = 64;
// Filter bitmaps held at most (all dropped when full).
constexpr size_t kMaxBitmaps = 256;

nlohmann::json ValueOf(const FieldValue& v) {
  switch (v.type) {
    case FieldValue::Type::kAbsent:
    case FieldValue::Type::kNull:
      return nullptr;
    case FieldValue::Type::kBool:
      return v.boolean;
    case FieldValue::Type::kInt:
      return v.integer;
    case FieldValue::Type::kDouble:
      return v.number;
    case FieldValue::Type::kString:
      return std::string(v.text);
    case FieldValue::Type::kJson: {
      nlohmann::json j = nlohmann::json::parse(v.text, nullptr, false);
      return j.is_discarded() ? nlohmann::json() : j;
    }
  }
  return nullptr;
}

}  // namespace

std::vector<std::string> RunTable::ColumnNames() const {
  std::vector<std::string> names;
  for (const auto& [name, column] : columns_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

uint32_t RunTable::AddRun(const std::string& exp, const std::string& test) {
  auto [it, added] = by_key_.try_emplace(RunKey(exp, test), static_cast<uint32_t>(runs_.size()));
  if (!added) return it->second;
  auto [exp_it, new_exp] = exp_ids_.try_emplace(exp, static_cast<uint32_t>(exp_names_.size()));
  if (new_exp) exp_names_.push_back(exp);
  runs_.push_back(Run{exp, test, exp_it->second});
  names_version_++;
  return it->second;
}

Status RunTable::Rebuild() {
  const std::vector<std::string> fields = ColumnNames();
  int64_t latest = 0;
  std::vector<RunName> none;
  Status s = watcher_->changed_runs(-1, &none, &latest);
  if (!s.ok()) return s;
  runs_.clear();
  by_key_.clear();
  exp_names_.clear();
  exp_ids_.clear();
  columns_.clear();
  orders_.clear();
  bitmaps_.clear();
  names_version_++;
  s = ReadColumns(fields, nullptr);
  if (!s.ok()) return s;
  stamp_ = latest;
  return Status::OK();
}

Status RunTable::Refresh() {
  if (stamp_ < 0) return Rebuild();
  std::vector<RunName> changed;
  int64_t latest = stamp_;
  Status s = watcher_->changed_runs(stamp_, &changed, &latest);
  if (!s.ok()) return s;
  if (changed.empty()) return Status::OK();
  if (changed.size() > kRebuildAbove) return Rebuild();
  for (const RunName& r : changed) AddRun(r.exp_name, r.test_name);
  s = ReadColumns(ColumnNames(), &changed);
  if (!s.ok()) return s;
  stamp_ = latest;
  return Status::OK();
}

Status RunTable::ReadColumns(const std::vector<std::string>& fields,
                             const std::vector<RunName>* only) {
  Query q;
  q.sort_field = "exp_name";  // the index's own order: the cheapest read
  if (only != nullptr) q.runs = *only;
  ReadOptions options;
  // A read needs some column (none would be whole runs): exp_name costs
  // nothing more than the run's record.
  options.columns = fields.empty() ? std::vector<std::string>{"exp_name"} : fields;
  std::vector<Column*> targets;
  for (const std::string& f : fields) {
    std::unique_ptr<Column>& c = columns_[f];
    if (c == nullptr) c = std::make_unique<Column>();
    c->version++;
    targets.push_back(c.get());
  }
  return watcher_->read(q, options, [&](const RunRow& row) {
    const uint32_t id = AddRun(row.exp_name(), row.test_name());
    for (size_t i = 0; i < targets.size(); ++i) {
      Column& column = *targets[i];
      if (column.cells.size() <= id) column.cells.resize(runs_.size());
      Cell& cell = column.cells[id];
      const FieldValue v = row.column(i);
      cell.absent = v.type == FieldValue::Type::kAbsent;
      cell.value = ValueOf(v);
      cell.key.clear();
      // As the engine's sort: a value with no encoding sorts as absent.
      if (!cell.absent && !EncodeFieldValue(cell.value, &cell.key)) cell.absent = true;
    }
    return Status::OK();
  });
}

Status RunTable::Preload(const std::vector<std::string>& fields) {
  std::vector<std::string> missing;
  for (const std::string& f : fields) {
    if (columns_.find(f) == columns_.end()) missing.push_back(f);
  }
  preloaded_.insert(fields.begin(), fields.end());
  if (missing.empty()) return Status::OK();
  return ReadColumns(missing, nullptr);
}

void RunTable::Trim() {
  if (columns_.size() > kMaxColumns) {
    // Columns are cheap to read again: drop all but the warm-up's.
    for (auto it = columns_.begin(); it != columns_.end();) {
      if (preloaded_.count(it->first) == 0) {
        columns_.erase(it++);
      } else {
        ++it;
      }
    }
    orders_.clear();
    bitmaps_.clear();
  }
  if (bitmaps_.size() > kMaxBitmaps) bitmaps_.clear();
}

RunTable::Column* RunTable::ColumnOf(const std::string& field, Status* status) {
  auto it = columns_.find(field);
  if (it == columns_.end()) {
    *status = ReadColumns({field}, nullptr);
    if (!status->ok()) return nullptr;
    it = columns_.find(field);
  }
  return it->second.get();
}

void RunTable::RankRuns() {
  if (rank_version_ == names_version_ && rank_.size() == runs_.size()) return;
  std::vector<uint32_t> ids(runs_.size());
  std::iota(ids.begin(), ids.end(), 0u);
  std::sort(ids.begin(), ids.end(), [&](uint32_t a, uint32_t b) {
    const int e = runs_[a].exp_name.compare(runs_[b].exp_name);
    return e != 0 ? e < 0 : runs_[a].test_name < runs_[b].test_name;
  });
  rank_.resize(runs_.size());
  for (uint32_t i = 0; i < ids.size(); ++i) rank_[ids[i]] = i;
  rank_version_ = names_version_;
}

const std::vector<uint32_t>& RunTable::OrderOf(const std::string& field, bool descending,
                                               Status* s) {
  static const std::vector<uint32_t> kNone;
  Column* column = ColumnOf(field, s);
  if (column == nullptr) return kNone;
  column->cells.resize(runs_.size());
  Order& order = orders_[field + (descending ? "\n-" : "\n+")];
  if (order.version == column->version && order.runs == runs_.size() &&
      order.ids.size() == runs_.size()) {
    return order.ids;
  }
  RankRuns();
  // Sorted as (first 8 key bytes, whole key, key order): most comparisons
  // end at the first integer compare.
  struct Entry {
    uint64_t prefix;
    uint32_t rank;
    uint32_t id;
  };
  std::vector<Entry> present, absent;
  present.reserve(runs_.size());
  const std::vector<Cell>& cells = column->cells;
  for (uint32_t id = 0; id < runs_.size(); ++id) {
    const Cell& c = cells[id];
    uint64_t prefix = 0;
    for (size_t i = 0; i < 8; ++i) {
      prefix = (prefix << 8) | (i < c.key.size() ? static_cast<unsigned char>(c.key[i]) : 0u);
    }
    (c.absent ? absent : present).push_back(Entry{prefix, rank_[id], id});
  }
  std::sort(present.begin(), present.end(), [&](const Entry& a, const Entry& b) {
    if (a.prefix != b.prefix) return descending ? a.prefix > b.prefix : a.prefix < b.prefix;
    const std::string& x = cells[a.id].key;
    const std::string& y = cells[b.id].key;
    if (x.size() > 8 || y.size() > 8) {
      const int c = x.compare(y);
      if (c != 0) return descending ? c > 0 : c < 0;
    }
    // Ties in key order (exp_name \0 test_name), as the engine's stable sort.
    return a.rank < b.rank;
  });
  // Runs without the field come last, whichever the direction.
  std::sort(absent.begin(), absent.end(),
            [](const Entry& a, const Entry& b) { return a.rank < b.rank; });
  order.ids.clear();
  order.ids.reserve(runs_.size());
  for (const Entry& e : present) order.ids.push_back(e.id);
  for (const Entry& e : absent) order.ids.push_back(e.id);
  order.version = column->version;
  order.runs = runs_.size();
  return order.ids;
}

const std::vector<bool>& RunTable::BitmapOf(const CompiledFilter& filter, Status* s) {
  static const std::vector<bool> kNone;
  const Filter& f = filter.filter();
  Column* column = ColumnOf(f.field, s);
  if (column == nullptr) return kNone;
  column->cells.resize(runs_.size());
  const std::string key = f.field + '\0' + f.op + '\0' + f.value;
  Bitmap& b = bitmaps_[key];
  if (b.version == column->version && b.runs == runs_.size()) return b.bits;
  b.bits.assign(runs_.size(), false);
  for (size_t i = 0; i < runs_.size(); ++i) {
    const Cell& cell = column->cells[i];
    b.bits[i] = filter.MatchesValue(cell.absent ? nullptr : &cell.value);
  }
  b.version = column->version;
  b.runs = runs_.size();
  return b.bits;
}

Status RunTable::Select(const TableRequest& request, std::vector<uint32_t>* ids,
                        std::vector<size_t>* exp_counts) {
  Status s;
  std::vector<CompiledFilter> filters(request.filters.size());
  for (size_t i = 0; i < request.filters.size(); ++i) {
    s = CompiledFilter::Compile(request.filters[i], &filters[i]);
    if (!s.ok()) return s;
  }
  const bool default_sort = request.sort_field.empty();
  const std::string sort_field = default_sort ? "progress.start" : request.sort_field;
  const bool descending = default_sort ? true : request.descending;
  // Every column first: reading one may add runs, which an order or a
  // bitmap made before would lack.
  if (ColumnOf(sort_field, &s) == nullptr) return s;
  for (const CompiledFilter& f : filters) {
    if (ColumnOf(f.filter().field, &s) == nullptr) return s;
  }
  std::vector<const std::vector<bool>*> bits;
  for (const CompiledFilter& f : filters) {
    bits.push_back(&BitmapOf(f, &s));
    if (!s.ok()) return s;
  }
  const std::vector<uint32_t>& order = OrderOf(sort_field, descending, &s);
  if (!s.ok()) return s;
  exp_counts->assign(exp_names_.size(), 0);
  ids->clear();
  auto matches = [&](uint32_t id) {
    for (const std::vector<bool>* b : bits) {
      if (!(*b)[id]) return false;
    }
    return true;
  };
  if (!request.group) {
    for (uint32_t id : order) {
      if (!matches(id)) continue;
      (*exp_counts)[runs_[id].exp_id]++;
      ids->push_back(id);
    }
    return Status::OK();
  }
  std::vector<std::vector<uint32_t>> buckets(exp_names_.size());
  for (uint32_t id : order) {
    if (!matches(id)) continue;
    (*exp_counts)[runs_[id].exp_id]++;
    buckets[runs_[id].exp_id].push_back(id);
  }
  std::vector<uint32_t> exps(exp_names_.size());
  std::iota(exps.begin(), exps.end(), 0u);
  std::sort(exps.begin(), exps.end(),
            [&](uint32_t a, uint32_t b) { return exp_names_[a] < exp_names_[b]; });
  for (uint32_t e : exps) {
    if (request.collapsed.count(exp_names_[e]) != 0) continue;
    ids->insert(ids->end(), buckets[e].begin(), buckets[e].end());
  }
  return Status::OK();
}

Status RunTable::Page(const TableRequest& request, TablePage* out) {
  Trim();
  std::vector<uint32_t> ids;
  std::vector<size_t> counts;
  Status s = Select(request, &ids, &counts);
  if (!s.ok()) return s;
  out->total = ids.size();
  out->runs.clear();
  for (size_t i = request.offset; i < ids.size() && i < request.offset + request.limit; ++i) {
    const Run& r = runs_[ids[i]];
    out->runs.push_back(RunName{r.exp_name, r.test_name});
  }
  out->groups.clear();
  if (request.group) {
    for (size_t e = 0; e < counts.size(); ++e) {
      if (counts[e] != 0) out->groups.push_back(TableGroup{exp_names_[e], counts[e]});
    }
    std::sort(out->groups.begin(), out->groups.end(),
              [](const TableGroup& a, const TableGroup& b) { return a.exp_name < b.exp_name; });
  }
  return Status::OK();
}

Status RunTable::Values(const TableRequest& request, const std::vector<std::string>& fields,
                        size_t limit, size_t* total, std::vector<nlohmann::json>* rows) {
  Trim();
  Status s;
  std::vector<Column*> columns;
  for (const std::string& f : fields) {
    columns.push_back(ColumnOf(f, &s));
    if (!s.ok()) return s;
  }
  std::vector<uint32_t> ids;
  std::vector<size_t> counts;
  s = Select(request, &ids, &counts);
  if (!s.ok()) return s;
  *total = ids.size();
  for (Column* c : columns) c->cells.resize(runs_.size());
  rows->clear();
  for (size_t i = 0; i < ids.size() && i < limit; ++i) {
    const Run& r = runs_[ids[i]];
    nlohmann::json row = nlohmann::json::array({r.exp_name, r.test_name});
    for (Column* c : columns) {
      const Cell& cell = c->cells[ids[i]];
      row.push_back(cell.absent ? nlohmann::json() : cell.value);
    }
    rows->push_back(std::move(row));
  }
  return Status::OK();
}

}  // namespace lumodb::cli

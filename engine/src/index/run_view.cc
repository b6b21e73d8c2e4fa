// Reading runs from the index into RunViews (see run_view.h).
#include "index/run_view.h"

#include <algorithm>
#include <cstring>

namespace lumodb {

namespace {

// Keys of a run's entries: exp \0 test \0 name, so they all start with the
// run key and a NUL and sort before the run key and a \x01.
std::string EntryPrefix(std::string_view exp, std::string_view test) {
  std::string p;
  p.reserve(exp.size() + test.size() + 2);
  p.append(exp).push_back('\0');
  p.append(test).push_back('\0');
  return p;
}

void Assign(std::string* s, const rocksdb::Slice& slice) { s->assign(slice.data(), slice.size()); }

// Verifies and sets view->record from view->record_bytes.
bool VerifyRecord(RunView* view) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(view->record_bytes.data());
  // std::string's heap buffer is malloc-aligned; short values sit in the
  // object itself, which is at least 8-aligned too.
  flatbuffers::Verifier verifier(bytes, view->record_bytes.size());
  if (!fbs::VerifyRunRecordBuffer(verifier)) return false;
  view->record = fbs::GetRunRecord(bytes);
  return true;
}

}  // namespace

const RunView::Entry* RunView::Info(std::string_view key) const {
  for (size_t i = 0; i < n_info; ++i) {
    if (info[i].name == key) return &info[i];
  }
  return nullptr;
}

const fbs::MetricRecord* RunView::Metric(size_t i) const {
  const std::string& v = metrics[i].value;
  const auto* bytes = reinterpret_cast<const uint8_t*>(v.data());
  flatbuffers::Verifier verifier(bytes, v.size());
  if (!verifier.VerifyBuffer<fbs::MetricRecord>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<fbs::MetricRecord>(bytes);
}

bool ReadPlan::WantsInfo(std::string_view name) const {
  return info_names.empty() ||
         std::binary_search(info_names.begin(), info_names.end(), name,
                            [](std::string_view a, std::string_view b) { return a < b; });
}

void RunView::Clear() {
  record = nullptr;
  n_info = n_text = n_metrics = n_reruns = 0;
  rerun_from.clear();
}

// ---- RerunLinks ----

RerunLinks::RerunLinks(Index* index, const rocksdb::Snapshot* snapshot, bool preload) {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot;
  ro.fill_cache = false;
  it_.reset(index->db()->NewIterator(ro, index->cf(kReruns)));
  if (!preload) return;
  // Loaded whole when small; a family this large is read run by run.
  constexpr size_t kMaxPreloaded = 1 << 20;
  size_t n = 0;
  for (it_->SeekToFirst(); it_->Valid(); it_->Next()) {
    if (++n > kMaxPreloaded) {
      loaded_.clear();
      return;
    }
    std::string_view key(it_->key().data(), it_->key().size());
    size_t z = key.find('\0');
    if (z == std::string_view::npos) continue;
    Parse(key.substr(z + 1), &loaded_[std::string(key.substr(0, z))]);
  }
  preloaded_ = it_->status().ok();
  if (!preloaded_) loaded_.clear();
}

void RerunLinks::Parse(std::string_view rest, Links* links) {
  size_t z = rest.find('\0');
  if (z == std::string_view::npos) return;
  std::string_view dir = rest.substr(0, z), other = rest.substr(z + 1);
  if (dir == "to") {
    links->to.emplace_back(other);
  } else if (dir == "from") {
    links->from.assign(other);
  }
}

void RerunLinks::Fill(RunView* view) {
  view->n_reruns = 0;
  view->rerun_from.clear();
  auto add = [view](std::string_view to) {
    if (view->reruns.size() <= view->n_reruns) view->reruns.emplace_back();
    view->reruns[view->n_reruns++].assign(to);
  };
  if (preloaded_) {
    auto it = loaded_.find(view->test);
    if (it == loaded_.end()) return;
    for (const std::string& to : it->second.to) add(to);
    view->rerun_from = it->second.from;
    return;
  }
  std::string prefix = view->test;
  prefix.push_back('\0');
  for (it_->Seek(prefix); it_->Valid() && it_->key().starts_with(prefix); it_->Next()) {
    Links links;
    Parse(std::string_view(it_->key().data() + prefix.size(), it_->key().size() - prefix.size()),
          &links);
    for (const std::string& to : links.to) add(to);
    if (!links.from.empty()) view->rerun_from = links.from;
  }
}

// ---- RunScanner ----

struct RunScanner::Family {
  std::unique_ptr<rocksdb::Iterator> it;
};

RunScanner::RunScanner(Index* index, const std::string& exp_name, const ReadPlan& plan,
                       const rocksdb::Snapshot* snapshot)
    : index_(index), plan_(plan) {
  if (!exp_name.empty()) {
    lower_ = exp_name + std::string(1, '\0');
    upper_ = exp_name + std::string(1, '\x01');
    lower_slice_ = lower_;
    upper_slice_ = upper_;
    options_.iterate_lower_bound = &lower_slice_;
    options_.iterate_upper_bound = &upper_slice_;
  }
  options_.snapshot = snapshot;
  // A whole-table read streams through the files once: it should neither
  // evict what point reads cached nor grow the cache with what it passed.
  options_.fill_cache = false;
  options_.readahead_size = 1 << 20;
  runs_.reset(index->db()->NewIterator(options_, index->cf(kRuns)));
  auto open = [&](bool wanted, Cf cf) {
    std::unique_ptr<Family> f;
    if (!wanted) return f;
    f.reset(new Family);
    f->it.reset(index->db()->NewIterator(options_, index->cf(cf)));
    f->it->SeekToFirst();
    return f;
  };
  info_ = open(plan.info, kInfo);
  text_ = open(plan.text, kText);
  metrics_ = open(plan.metrics, kMetrics);
  if (plan.reruns) reruns_.reset(new RerunLinks(index, snapshot, /*preload=*/true));
}

RunScanner::~RunScanner() = default;

namespace {

// The entries of one run (the keys under prefix, from where it stands),
// copied into the view's reused buffers; names: only the info keys it wants.
void TakeEntries(rocksdb::Iterator* it, const std::string& prefix, const ReadPlan* names,
                 std::vector<RunView::Entry>* entries, size_t* n) {
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    rocksdb::Slice k = it->key();
    std::string_view name(k.data() + prefix.size(), k.size() - prefix.size());
    if (names != nullptr && !names->WantsInfo(name)) continue;
    if (entries->size() <= *n) entries->emplace_back();
    RunView::Entry& e = (*entries)[(*n)++];
    e.name.assign(name);
    Assign(&e.value, it->value());
  }
}

}  // namespace

void RunScanner::Collect(Family* f, const std::string& prefix, const ReadPlan* names,
                         std::vector<RunView::Entry>* entries, size_t* n) {
  *n = 0;
  if (f == nullptr) return;
  rocksdb::Iterator* it = f->it.get();
  // Entries of runs without a record (none are written, but a family is
  // never trusted to be in step) are passed over.
  int steps = 0;
  while (it->Valid() && it->key().compare(prefix) < 0) {
    if (++steps > 8) {
      it->Seek(prefix);
      break;
    }
    it->Next();
  }
  TakeEntries(it, prefix, names, entries, n);
  if (!it->status().ok() && status_.ok()) status_ = Index::FromRocks(it->status(), "scan index");
}

bool RunScanner::Next(RunView* view) {
  if (!status_.ok()) return false;
  if (!started_) {
    runs_->SeekToFirst();
    started_ = true;
  } else {
    runs_->Next();
  }
  for (; runs_->Valid(); runs_->Next()) {
    view->Clear();
    std::string_view key(runs_->key().data(), runs_->key().size());
    size_t z = key.find('\0');
    if (z == std::string_view::npos) continue;
    view->exp.assign(key.substr(0, z));
    view->test.assign(key.substr(z + 1));
    Assign(&view->record_bytes, runs_->value());
    if (!VerifyRecord(view)) {
      ++skipped_;
      continue;
    }
    prefix_ = EntryPrefix(view->exp, view->test);
    Collect(info_.get(), prefix_, &plan_, &view->info, &view->n_info);
    Collect(text_.get(), prefix_, nullptr, &view->text, &view->n_text);
    Collect(metrics_.get(), prefix_, nullptr, &view->metrics, &view->n_metrics);
    if (reruns_ != nullptr) reruns_->Fill(view);
    return status_.ok();
  }
  if (!runs_->status().ok()) status_ = Index::FromRocks(runs_->status(), "scan index");
  return false;
}

// ---- RunReader ----

RunReader::RunReader(Index* index, const ReadPlan& plan, const rocksdb::Snapshot* snapshot)
    : index_(index), plan_(plan) {
  options_.snapshot = snapshot;
  auto open = [&](bool wanted, Cf cf) {
    return wanted ? std::unique_ptr<rocksdb::Iterator>(
                        index->db()->NewIterator(options_, index->cf(cf)))
                  : nullptr;
  };
  info_ = open(plan.info, kInfo);
  text_ = open(plan.text, kText);
  metrics_ = open(plan.metrics, kMetrics);
  if (plan.reruns) reruns_.reset(new RerunLinks(index, snapshot, /*preload=*/false));
}

RunReader::~RunReader() = default;

void RunReader::Collect(rocksdb::Iterator* it, const std::string& prefix, const ReadPlan* names,
                        std::vector<RunView::Entry>* entries, size_t* n) {
  *n = 0;
  if (it == nullptr) return;
  it->Seek(prefix);
  TakeEntries(it, prefix, names, entries, n);
}

Status RunReader::Read(std::string_view exp, std::string_view test, RunView* view) {
  view->Clear();
  view->exp.assign(exp);
  view->test.assign(test);
  rocksdb::PinnableSlice value;
  rocksdb::Status rs = index_->db()->Get(options_, index_->cf(kRuns), RunKey(exp, test), &value);
  if (rs.IsNotFound()) {
    return Status::NotFound("no run " + std::string(exp) + "/" + std::string(test));
  }
  if (!rs.ok()) return Index::FromRocks(rs, "read index " + index_->path());
  view->record_bytes.assign(value.data(), value.size());
  if (!VerifyRecord(view)) {
    return Status::Corruption("index record of " + std::string(exp) + "/" + std::string(test) +
                              " in " + index_->path());
  }
  prefix_ = EntryPrefix(exp, test);
  Collect(info_.get(), prefix_, &plan_, &view->info, &view->n_info);
  Collect(text_.get(), prefix_, nullptr, &view->text, &view->n_text);
  Collect(metrics_.get(), prefix_, nullptr, &view->metrics, &view->n_metrics);
  if (reruns_ != nullptr) reruns_->Fill(view);
  return Status::OK();
}

}  // namespace lumodb

// RunText: a run as JSON text straight from its RunView (see run_text.h).
#include "index/run_text.h"

#include <algorithm>

#include "util/json_text.h"

namespace lumodb {

namespace {

// The keys the engine derives, in sorted order (the order of the output).
enum Derived {
  kKeyBlobDir,
  kKeyCacheDir,
  kKeyException,
  kKeyExecute,
  kKeyExpName,
  kKeyInfoDir,
  kKeyJournal,
  kKeyLumodbVersion,
  kKeyMetrics,
  kKeyMetricsDetail,
  kKeyNote,
  kKeyPinfo,
  kKeyProgress,
  kKeyRerun,
  kKeyRoots,
  kKeyStatus,
  kKeyTags,
  kKeyTestName,
  kKeyText,
  kKeyNumDerived,
};

constexpr const char* kDerivedNames[kKeyNumDerived] = {
    "blob_dir",       "cache_dir", "exception",      "execute",   "exp_name", "info_dir", "journal",
    "lumodb_version", "metrics",   "metrics_detail", "note",      "pinfo",    "progress", "rerun",
    "roots",          "status",    "tags",           "test_name", "text"};

int DerivedOf(std::string_view key) {
  auto it = std::lower_bound(std::begin(kDerivedNames), std::end(kDerivedNames), key,
                             [](const char* a, std::string_view b) { return a < b; });
  if (it != std::end(kDerivedNames) && key == *it) return static_cast<int>(it - kDerivedNames);
  return -1;
}

std::string_view Str(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : std::string_view(s->data(), s->size());
}

// Writes "key": with the comma before it when needed.
class Members {
 public:
  explicit Members(std::string* out) : out_(out) { out_->push_back('{'); }
  std::string* Key(std::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(key, out_);
    out_->push_back(':');
    return out_;
  }
  void String(std::string_view key, std::string_view value) { AppendJsonString(value, Key(key)); }
  void Double(std::string_view key, double value) { AppendJsonDouble(value, Key(key)); }
  void Int(std::string_view key, int64_t value) { AppendJsonInt(value, Key(key)); }
  void Close() { out_->push_back('}'); }

 private:
  std::string* out_;
  bool first_ = true;
};

const char* CmpName(fbs::Cmp cmp) {
  switch (cmp) {
    case fbs::Cmp::Max:
      return "max";
    case fbs::Cmp::Min:
      return "min";
    case fbs::Cmp::None:
      break;
  }
  return "none";
}

}  // namespace

void RunText::MakePlan(const RunView& view, Plan* plan) const {
  const fbs::RunRecord* rec = view.record;
  const fbs::Start* start = rec->start();
  uint32_t d = 0;
  auto set = [&d](int which) { d |= 1u << which; };
  for (int which : {kKeyExpName, kKeyTestName, kKeyStatus, kKeyProgress, kKeyTags, kKeyNote,
                    kKeyMetrics, kKeyJournal}) {
    set(which);
  }
  if (start != nullptr) {
    set(kKeyInfoDir);
    set(kKeyBlobDir);
    set(kKeyCacheDir);
    if (start->execute() != nullptr) set(kKeyExecute);
    if (start->pinfo() != nullptr) set(kKeyPinfo);
    if (start->roots() != nullptr) set(kKeyRoots);
    if (start->lumodb_version() != nullptr && start->lumodb_version()->size() > 0) {
      set(kKeyLumodbVersion);
    }
  }
  if (rec->exception() != nullptr) set(kKeyException);
  if (view.n_metrics > 0) set(kKeyMetricsDetail);
  if (view.n_text > 0) set(kKeyText);
  if (view.n_reruns > 0 || !view.rerun_from.empty()) set(kKeyRerun);
  plan->visible.clear();
  plan->hidden.clear();
  plan->rerun = nullptr;
  for (size_t i = 0; i < view.n_info; ++i) {
    const std::string& key = view.info[i].name;
    const int which = DerivedOf(key);
    if (which == kKeyRerun) {
      plan->rerun = &view.info[i];
      set(kKeyRerun);
    } else if (which == kKeyNote || which == kKeyTags) {
      // lumo's note and tags (or a user's dump_info of them) stand for
      // the derived ones.
      plan->visible.push_back(i);
      d &= ~(1u << which);
    } else if ((which >= 0 && (d & (1u << which)) != 0) || key == "info") {
      plan->hidden.push_back(i);
    } else {
      plan->visible.push_back(i);
    }
  }
  plan->derived = d;
}

void RunText::AppendRun(const RunView& view, bool raw, std::string* out) {
  MakePlan(view, &plan_);
  Members m(out);
  // Derived keys and visible info keys, merged in sorted order; "info"
  // (raw values) sits between exp_name and info_dir.
  size_t v = 0;
  bool info_written = !raw || plan_.hidden.empty();
  auto info_before = [&](std::string_view next) {
    if (!info_written && std::string_view("info") < next) {
      AppendRaw(view, plan_, m.Key("info"));
      info_written = true;
    }
  };
  for (int which = 0; which <= kKeyNumDerived; ++which) {
    const bool end = which == kKeyNumDerived;
    if (!end && (plan_.derived & (1u << which)) == 0) continue;
    const std::string_view name = end ? std::string_view() : kDerivedNames[which];
    while (v < plan_.visible.size() &&
           (end || std::string_view(view.info[plan_.visible[v]].name) < name)) {
      const RunView::Entry& e = view.info[plan_.visible[v++]];
      info_before(e.name);
      m.Key(e.name)->append(e.value);
    }
    if (end) break;
    info_before(name);
    AppendDerived(view, which, m.Key(name));
  }
  if (!info_written) AppendRaw(view, plan_, m.Key("info"));
  m.Close();
}

bool RunText::AppendKey(const RunView& view, std::string_view key, std::string* out) {
  MakePlan(view, &plan_);
  if (key == "info") {
    AppendRaw(view, plan_, out);
    return true;
  }
  const int which = DerivedOf(key);
  if (which >= 0 && (plan_.derived & (1u << which)) != 0) {
    AppendDerived(view, which, out);
    return true;
  }
  for (size_t i : plan_.visible) {
    if (view.info[i].name == key) {
      out->append(view.info[i].value);
      return true;
    }
  }
  return false;
}

bool RunText::ResolveLeaf(const RunView& view, std::string_view path, std::string* out) {
  // Only when no info key could stand for the path (a name with a dot
  // under the same head), the answer is the derived value itself.
  const std::string_view head = path.substr(0, path.find('.'));
  for (size_t i = 0; i < view.n_info; ++i) {
    const std::string& name = view.info[i].name;
    if (name.size() > head.size() && name.compare(0, head.size(), head) == 0 &&
        name[head.size()] == '.') {
      return false;
    }
  }
  const fbs::RunRecord* rec = view.record;
  if (path == "exp_name" || path == "test_name" || path == "status") {
    AppendDerived(view,
                  path == "exp_name"    ? kKeyExpName
                  : path == "test_name" ? kKeyTestName
                                        : kKeyStatus,
                  out);
    return true;
  }
  if (head == "progress" && path.size() > 9) {
    const std::string_view leaf = path.substr(9);
    auto quoted = [&](auto&& write) {
      out->push_back('"');
      write();
      out->push_back('"');
    };
    if (leaf == "ratio") {
      AppendJsonDouble(rec->ratio(), out);
    } else if (leaf == "start" && rec->start_us() != 0) {
      quoted([&] { times_.AppendLumo(rec->start_us(), out); });
    } else if (leaf == "start_utc" && rec->start_us() != 0) {
      quoted([&] { TimeStrings::AppendIso8601Utc(rec->start_us(), out); });
    } else if (leaf == "last_edit_time" && rec->last_update_us() != 0) {
      quoted([&] { times_.AppendLumo(rec->last_update_us(), out); });
    } else if (leaf == "end" && rec->has_end()) {
      quoted([&] { times_.AppendLumo(rec->end_us(), out); });
    } else if (leaf == "end_utc" && rec->has_end()) {
      quoted([&] { TimeStrings::AppendIso8601Utc(rec->end_us(), out); });
    } else if (leaf == "end_code" && rec->has_end()) {
      AppendJsonInt(rec->end_code(), out);
    } else if (leaf == "signal" && rec->has_end() && rec->signal() != 0) {
      AppendJsonInt(rec->signal(), out);
    } else {
      out->clear();  // no such member: absent, as in the whole object
    }
    return true;
  }
  if (head == "metrics" && path.size() > 8 && path.find('.', 8) == std::string_view::npos) {
    // A metric's own best value, else the extra of the latest metric that
    // has one by that name (AppendMetrics' rules).
    const std::string_view name = path.substr(8);
    for (size_t i = 0; i < view.n_metrics; ++i) {
      if (view.metrics[i].name != name) continue;
      const fbs::MetricRecord* m = view.Metric(i);
      if (m == nullptr) break;
      AppendJsonDouble(m->best(), out);
      return true;
    }
    for (size_t i = view.n_metrics; i-- > 0;) {
      const fbs::MetricRecord* m = view.Metric(i);
      if (m == nullptr || m->best_extras() == nullptr) continue;
      std::string_view found;
      bool have = false;
      ForEachMember(Str(m->best_extras()), [&](std::string_view key, std::string_view v) {
        if (key != name) return true;
        found = v;
        have = true;
        return false;
      });
      if (have) {
        out->append(found);
        return true;
      }
    }
    out->clear();
    return true;
  }
  return false;
}

bool RunText::Resolve(const RunView& view, std::string_view path, std::string* scratch,
                      std::string_view* value) {
  if (path.empty()) return false;
  scratch->clear();
  if (ResolveLeaf(view, path, scratch)) {
    *value = *scratch;
    return !scratch->empty();
  }
  // Longest top-level key first, as LookupPath: the whole path, then up to
  // each dot from the right.
  size_t end = path.size();
  while (true) {
    const std::string_view key = path.substr(0, end);
    scratch->clear();
    if (AppendKey(view, key, scratch)) {
      if (end == path.size()) {
        *value = *scratch;
        return true;
      }
      if (end + 1 < path.size() && FindJsonPath(*scratch, path.substr(end + 1), value)) {
        return true;
      }
    }
    if (end == 0) return false;
    end = path.rfind('.', end - 1);
    if (end == std::string_view::npos) return false;
  }
}

void RunText::AppendDerived(const RunView& view, int which, std::string* out) {
  const fbs::RunRecord* rec = view.record;
  const fbs::Start* start = rec->start();
  switch (which) {
    case kKeyExpName:
      AppendJsonString(view.exp, out);
      return;
    case kKeyTestName:
      AppendJsonString(view.test, out);
      return;
    case kKeyStatus:
      AppendJsonString(StatusName(static_cast<int>(rec->status())), out);
      return;
    case kKeyProgress: {
      Members m(out);
      auto time = [&](std::string_view key, int64_t us) {
        std::string* o = m.Key(key);
        o->push_back('"');
        times_.AppendLumo(us, o);
        o->push_back('"');
      };
      auto utc = [&](std::string_view key, int64_t us) {
        std::string* o = m.Key(key);
        o->push_back('"');
        TimeStrings::AppendIso8601Utc(us, o);
        o->push_back('"');
      };
      if (rec->has_end()) {
        time("end", rec->end_us());
        m.Int("end_code", rec->end_code());
        utc("end_utc", rec->end_us());
      }
      if (rec->last_update_us() != 0) time("last_edit_time", rec->last_update_us());
      m.Double("ratio", rec->ratio());
      if (rec->has_end() && rec->signal() != 0) m.Int("signal", rec->signal());
      if (rec->start_us() != 0) {
        time("start", rec->start_us());
        utc("start_utc", rec->start_us());
      }
      m.Close();
      return;
    }
    case kKeyExecute: {
      const fbs::Execute* e = start->execute();
      Members m(out);
      m.String("cwd", Str(e->cwd()));
      std::string* argv = m.Key("exec_argv");
      argv->push_back('[');
      if (e->exec_argv() != nullptr) {
        for (flatbuffers::uoffset_t i = 0; i < e->exec_argv()->size(); ++i) {
          if (i > 0) argv->push_back(',');
          AppendJsonString(Str(e->exec_argv()->Get(i)), argv);
        }
      }
      argv->push_back(']');
      m.String("exec_bin", Str(e->exec_bin()));
      m.String("exec_file", Str(e->exec_file()));
      m.String("repo", Str(e->repo()));
      m.Close();
      return;
    }
    case kKeyPinfo: {
      // Values nobody recorded (lumo records no host or boot id) are
      // absent, never an empty string that looks like a real value.
      const fbs::Pinfo* p = start->pinfo();
      Members m(out);
      if (!Str(p->boot_id()).empty()) m.String("boot_id", Str(p->boot_id()));
      if (!Str(p->host()).empty()) m.String("host", Str(p->host()));
      m.Int("pid", p->pid());
      if (!Str(p->pname()).empty()) m.String("pname", Str(p->pname()));
      m.Double("pstart", p->pstart());
      m.Close();
      return;
    }
    case kKeyRoots: {
      const fbs::Roots* r = start->roots();
      Members m(out);
      m.String("blob_root", Str(r->blob_root()));
      m.String("cache_root", Str(r->cache_root()));
      m.String("info_root", Str(r->info_root()));
      m.Close();
      return;
    }
    case kKeyInfoDir:
      AppendJsonString(Str(start->info_dir()), out);
      return;
    case kKeyBlobDir:
      AppendJsonString(Str(start->blob_dir()), out);
      return;
    case kKeyCacheDir:
      AppendJsonString(Str(start->cache_dir()), out);
      return;
    case kKeyLumodbVersion:
      AppendJsonString(Str(start->lumodb_version()), out);
      return;
    case kKeyTags: {
      out->push_back('[');
      if (rec->tags() != nullptr) {
        for (flatbuffers::uoffset_t i = 0; i < rec->tags()->size(); ++i) {
          if (i > 0) out->push_back(',');
          AppendJsonString(Str(rec->tags()->Get(i)), out);
        }
      }
      out->push_back(']');
      return;
    }
    case kKeyNote:
      AppendJsonString(Str(rec->note()), out);
      return;
    case kKeyException: {
      Members m(out);
      m.String("exception_content", Str(rec->exception()->exception_content()));
      m.String("exception_type", Str(rec->exception()->exception_type()));
      m.Close();
      return;
    }
    case kKeyMetrics:
      AppendMetrics(view, out);
      return;
    case kKeyMetricsDetail:
      AppendMetricsDetail(view, out);
      return;
    case kKeyRerun:
      AppendRerun(view, out);
      return;
    case kKeyText: {
      Members m(out);
      for (size_t i = 0; i < view.n_text; ++i) m.String(view.text[i].name, view.text[i].value);
      m.Close();
      return;
    }
    case kKeyJournal: {
      Members m(out);
      m.Int("applied_offset", rec->applied_offset());
      m.Int("applied_seq", rec->applied_seq());
      m.String("path", Str(rec->journal_path()));
      m.String("source", Str(rec->source()));
      m.Close();
      return;
    }
  }
}

void RunText::AppendMetrics(const RunView& view, std::string* out) {
  // lumo's metric dict: each metric's best value, plus the extra values
  // kept beside the best ones (MergeMetrics: extras of later metrics win,
  // a metric's own name wins over an extra of that name).
  records_.clear();
  for (size_t i = 0; i < view.n_metrics; ++i) records_.push_back(view.Metric(i));
  // Every text first, then views into the finished buffers.
  number_.clear();
  std::vector<size_t>& ends = ends_;
  ends.clear();
  for (const fbs::MetricRecord* m : records_) {
    if (m != nullptr) AppendJsonDouble(m->best(), &number_);
    ends.push_back(number_.size());
  }
  size_t n_keys = 0;
  extras_.clear();  // (index into keys_, value)
  for (size_t i = 0; i < records_.size(); ++i) {
    const fbs::MetricRecord* m = records_[i];
    if (m == nullptr || m->best_extras() == nullptr || m->best_extras()->size() == 0) continue;
    ForEachMember(Str(m->best_extras()), [&](std::string_view key, std::string_view value) {
      for (size_t j = 0; j < records_.size(); ++j) {
        if (records_[j] != nullptr && view.metrics[j].name == key) return true;
      }
      for (auto& [k, v] : extras_) {
        if (keys_[k] == key) {
          v = value;
          return true;
        }
      }
      if (keys_.size() <= n_keys) keys_.emplace_back();
      keys_[n_keys].assign(key);
      extras_.emplace_back(n_keys++, value);
      return true;
    });
  }
  members_.clear();
  for (size_t i = 0, begin = 0; i < records_.size(); begin = ends[i++]) {
    if (records_[i] == nullptr) continue;
    members_.emplace_back(view.metrics[i].name,
                          std::string_view(number_).substr(begin, ends[i] - begin));
  }
  for (const auto& [k, v] : extras_) members_.emplace_back(keys_[k], v);
  std::sort(members_.begin(), members_.end());
  Members m(out);
  for (const auto& [key, value] : members_) m.Key(key)->append(value);
  m.Close();
}

void RunText::AppendMetricsDetail(const RunView& view, std::string* out) {
  Members m(out);
  for (size_t i = 0; i < view.n_metrics; ++i) {
    const fbs::MetricRecord* r = view.Metric(i);
    if (r == nullptr) continue;
    Members d(m.Key(view.metrics[i].name));
    d.String("cmp", CmpName(r->cmp()));
    d.Int("count", r->count());
    d.Double("last", r->last());
    // Runs recorded before metric history: a value's step was its count.
    if (r->last_step().has_value() || r->count() > 0) {
      d.Int("last_step", r->last_step().value_or(r->count() - 1));
    }
    d.Close();
  }
  m.Close();
}

void RunText::AppendRerun(const RunView& view, std::string* out) {
  // The run's own rerun record, with every rerun link of the index.
  const bool object = plan_.rerun != nullptr && KindOf(plan_.rerun->value) == JsonKind::kObject;
  if (plan_.rerun != nullptr && !object && view.n_reruns == 0 && view.rerun_from.empty()) {
    out->append(plan_.rerun->value);  // not an object, and nothing to merge
    return;
  }
  // The texts of the links first, then views into the finished buffers.
  number_.clear();
  if (view.n_reruns > 0) {
    number_.push_back('[');
    for (size_t i = 0; i < view.n_reruns; ++i) {
      if (i > 0) number_.push_back(',');
      AppendJsonString(view.reruns[i], &number_);
    }
    number_.push_back(']');
  }
  const size_t list_end = number_.size();
  if (!view.rerun_from.empty()) AppendJsonString(view.rerun_from, &number_);
  const std::string_view list = std::string_view(number_).substr(0, list_end);
  const std::string_view from = std::string_view(number_).substr(list_end);

  size_t n_keys = 0;
  extras_.clear();
  if (object) {
    ForEachMember(plan_.rerun->value, [&](std::string_view key, std::string_view value) {
      if (keys_.size() <= n_keys) keys_.emplace_back();
      keys_[n_keys].assign(key);
      extras_.emplace_back(n_keys++, value);
      return true;
    });
  }
  members_.clear();
  bool have_reruns = false, have_from = false;
  for (const auto& [k, v] : extras_) {
    const std::string& key = keys_[k];
    if (key == "reruns" && view.n_reruns > 0) {
      members_.emplace_back(key, list);
      have_reruns = true;
      continue;
    }
    have_from = have_from || key == "from";
    members_.emplace_back(key, v);
  }
  if (view.n_reruns > 0 && !have_reruns) members_.emplace_back("reruns", list);
  if (!view.rerun_from.empty() && !have_from) members_.emplace_back("from", from);
  std::sort(members_.begin(), members_.end());
  Members m(out);
  for (const auto& [key, value] : members_) m.Key(key)->append(value);
  m.Close();
}

void RunText::AppendRaw(const RunView& view, const Plan& plan, std::string* out) {
  Members m(out);
  for (size_t i : plan.hidden) m.Key(view.info[i].name)->append(view.info[i].value);
  m.Close();
}

}  // namespace lumodb

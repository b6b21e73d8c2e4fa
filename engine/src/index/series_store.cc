// metric_log: keys, block merges on load, block and summary reads.
#include "index/series_store.h"

#include <algorithm>
#include <cmath>

#include "index_generated.h"
#include "util/aligned.h"

namespace lumodb {

namespace {

constexpr size_t kStepBytes = 8;
// \0, kind, step: what follows the metric name in a key.
constexpr size_t kKeyTail = 2 + kStepBytes;

std::string MetricPrefix(std::string_view exp, std::string_view test, std::string_view metric,
                         char kind) {
  std::string key = SubKey(exp, test, metric);
  key.push_back('\0');
  key.push_back(kind);
  return key;
}

// The prefix just past every key of kind: the kind byte plus one.
std::string PrefixEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

fbs::MetricPoint ToFbs(const SeriesPoint& p) {
  return fbs::MetricPoint(p.step, p.time_us, p.value);
}
SeriesPoint FromFbs(const fbs::MetricPoint* p) {
  return p == nullptr ? SeriesPoint{} : SeriesPoint{p->step(), p->time_us(), p->value()};
}

rocksdb::Slice SliceOf(const flatbuffers::FlatBufferBuilder& fbb) {
  return rocksdb::Slice(reinterpret_cast<const char*>(fbb.GetBufferPointer()), fbb.GetSize());
}

Status DecodeBlock(const rocksdb::Slice& key, const rocksdb::Slice& value,
                   std::vector<SeriesPoint>* out) {
  Aligned aligned;
  const uint8_t* bytes = aligned.Get(std::string_view(value.data(), value.size()));
  flatbuffers::Verifier verifier(bytes, value.size());
  if (!verifier.VerifyBuffer<fbs::MetricPoints>(nullptr) ||
      !DecodeMetricPoints(*flatbuffers::GetRoot<fbs::MetricPoints>(bytes), out)) {
    return Status::Corruption("metric_log block at step " +
                              std::to_string(SeriesKeyStep(key.ToStringView())) +
                              " (run `lumo-db reindex`)");
  }
  return Status::OK();
}

Status ParseSummary(const rocksdb::Slice& key, const rocksdb::Slice& value, BlockSummary* out) {
  Aligned aligned;
  const uint8_t* bytes = aligned.Get(std::string_view(value.data(), value.size()));
  flatbuffers::Verifier verifier(bytes, value.size());
  if (!verifier.VerifyBuffer<fbs::MetricBlockSummary>(nullptr)) {
    return Status::Corruption("metric_log summary at step " +
                              std::to_string(SeriesKeyStep(key.ToStringView())) +
                              " (run `lumo-db reindex`)");
  }
  const auto* s = flatbuffers::GetRoot<fbs::MetricBlockSummary>(bytes);
  out->first_step = SeriesKeyStep(key.ToStringView());
  out->count = s->count();
  out->first = FromFbs(s->first());
  out->last = FromFbs(s->last());
  out->has_min_max = s->min() != nullptr && s->max() != nullptr;
  out->min = FromFbs(s->min());
  out->max = FromFbs(s->max());
  return Status::OK();
}

// Sorts by step (stable: of equal steps the later value wins) and keeps
// one value per step.
std::vector<SeriesPoint> Normalize(const std::vector<SeriesPoint>& in) {
  std::vector<SeriesPoint> pts = in;
  bool ordered = true;
  for (size_t i = 1; i < pts.size() && ordered; ++i) ordered = pts[i - 1].step < pts[i].step;
  if (ordered) return pts;
  std::stable_sort(pts.begin(), pts.end(),
                   [](const SeriesPoint& a, const SeriesPoint& b) { return a.step < b.step; });
  size_t out = 0;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (i + 1 < pts.size() && pts[i + 1].step == pts[i].step) continue;
    pts[out++] = pts[i];
  }
  pts.resize(out);
  return pts;
}

// Both in step order, one value per step; on a tie the added value wins.
std::vector<SeriesPoint> MergeSorted(const std::vector<SeriesPoint>& stored,
                                     const SeriesPoint* added, size_t n) {
  std::vector<SeriesPoint> out;
  out.reserve(stored.size() + n);
  size_t i = 0, j = 0;
  while (i < stored.size() || j < n) {
    if (j == n || (i < stored.size() && stored[i].step < added[j].step)) {
      out.push_back(stored[i++]);
    } else {
      if (i < stored.size() && stored[i].step == added[j].step) ++i;
      out.push_back(added[j++]);
    }
  }
  return out;
}

// One write the merge decided on, made after every read succeeded.
struct BlockWrite {
  std::vector<SeriesPoint> points;  // the new blocks' values, in order
  std::optional<int64_t> replaced;  // a stored block whose key goes away
};

// The blocks that replace or follow the stored ones for one metric.
Status PlanMetric(Index* index, const std::string& exp, const std::string& test,
                  const std::string& metric, const std::vector<SeriesPoint>& pts, bool stored,
                  std::vector<BlockWrite>* plan) {
  if (!stored) {
    plan->push_back({pts, std::nullopt});
    return Status::OK();
  }
  const std::string lower = MetricPrefix(exp, test, metric, kSeriesBlock);
  Index::RangeIterator it(index, kMetricLog, lower, PrefixEnd(lower));
  size_t i = 0;
  while (i < pts.size()) {
    // The block pts[i] belongs to: the last one starting at or before its
    // step, else the first one.
    it->SeekForPrev(SeriesKey(exp, test, metric, kSeriesBlock, pts[i].step));
    if (!it->Valid()) it->SeekToFirst();
    if (!it->Valid()) {
      if (!it->status().ok()) return Index::FromRocks(it->status(), "read " + index->path());
      plan->push_back({std::vector<SeriesPoint>(pts.begin() + i, pts.end()), std::nullopt});
      break;
    }
    BlockWrite w;
    const int64_t first = SeriesKeyStep(it->key().ToStringView());
    std::vector<SeriesPoint> old;
    Status s = DecodeBlock(it->key(), it->value(), &old);
    if (!s.ok()) return s;
    it->Next();
    if (!it->Valid() && !it->status().ok()) {
      return Index::FromRocks(it->status(), "read " + index->path());
    }
    // Values before the next block's first step are this block's.
    size_t j = pts.size();
    if (it->Valid()) {
      const int64_t next = SeriesKeyStep(it->key().ToStringView());
      j = std::lower_bound(pts.begin() + i, pts.end(), next,
                           [](const SeriesPoint& p, int64_t step) { return p.step < step; }) -
          pts.begin();
    }
    w.points = MergeSorted(old, pts.data() + i, j - i);
    if (w.points.front().step != first) w.replaced = first;
    plan->push_back(std::move(w));
    i = j;
  }
  return Status::OK();
}

void PutBlocks(const std::string& exp, const std::string& test, const std::string& metric,
               const BlockWrite& w, rocksdb::ColumnFamilyHandle* cf, rocksdb::WriteBatch* batch) {
  if (w.replaced) {
    batch->Delete(cf, SeriesKey(exp, test, metric, kSeriesBlock, *w.replaced));
    batch->Delete(cf, SeriesKey(exp, test, metric, kSeriesSummary, *w.replaced));
  }
  flatbuffers::FlatBufferBuilder fbb(8192);
  for (size_t b = 0; b < w.points.size(); b += kSeriesBlockPoints) {
    const SeriesPoint* p = w.points.data() + b;
    const size_t n = std::min(kSeriesBlockPoints, w.points.size() - b);
    fbb.Clear();
    fbb.Finish(BuildMetricPoints(fbb, "", p, n));
    batch->Put(cf, SeriesKey(exp, test, metric, kSeriesBlock, p->step), SliceOf(fbb));
    const BlockSummary sum = Summarize(p, n);
    const fbs::MetricPoint first = ToFbs(sum.first), last = ToFbs(sum.last), min = ToFbs(sum.min),
                           max = ToFbs(sum.max);
    fbb.Clear();
    fbb.Finish(fbs::CreateMetricBlockSummary(fbb, sum.count, &first, &last,
                                             sum.has_min_max ? &min : nullptr,
                                             sum.has_min_max ? &max : nullptr));
    batch->Put(cf, SeriesKey(exp, test, metric, kSeriesSummary, p->step), SliceOf(fbb));
  }
}

// Calls fn(key, value) for each key of kind of one metric whose block may
// hold steps in [min_step, max_step], in step order.
template <typename Fn>
Status ForEachBlockKey(Index* index, const std::string& exp, const std::string& test,
                       const std::string& metric, char kind, int64_t min_step, int64_t max_step,
                       Fn fn) {
  const std::string lower = MetricPrefix(exp, test, metric, kind);
  Index::RangeIterator it(index, kMetricLog, lower, PrefixEnd(lower));
  it->SeekForPrev(SeriesKey(exp, test, metric, kind, min_step));
  if (!it->Valid()) it->SeekToFirst();
  for (; it->Valid(); it->Next()) {
    if (SeriesKeyStep(it->key().ToStringView()) > max_step) break;
    Status s = fn(it->key(), it->value());
    if (!s.ok()) return s;
  }
  return Index::FromRocks(it->status(), "read " + index->path());
}

}  // namespace

std::string SeriesKey(std::string_view exp, std::string_view test, std::string_view metric,
                      char kind, int64_t step) {
  std::string key = MetricPrefix(exp, test, metric, kind);
  const uint64_t bits = static_cast<uint64_t>(step) ^ (uint64_t{1} << 63);
  for (int i = 7; i >= 0; --i) key.push_back(static_cast<char>(bits >> (8 * i)));
  return key;
}

int64_t SeriesKeyStep(std::string_view key) {
  if (key.size() < kStepBytes) return 0;
  uint64_t bits = 0;
  for (size_t i = key.size() - kStepBytes; i < key.size(); ++i) {
    bits = (bits << 8) | static_cast<uint8_t>(key[i]);
  }
  return static_cast<int64_t>(bits ^ (uint64_t{1} << 63));
}

std::vector<std::string> SeriesMetrics(Index* index, const std::string& exp,
                                       const std::string& test) {
  std::string prefix = RunKey(exp, test);
  prefix.push_back('\0');
  std::vector<std::string> names;
  Index::RangeIterator it(index, kMetricLog, prefix, PrefixEnd(prefix));
  for (it->SeekToFirst(); it->Valid();) {
    const rocksdb::Slice key = it->key();
    if (key.size() < prefix.size() + kKeyTail) {
      it->Next();
      continue;
    }
    names.emplace_back(key.data() + prefix.size(), key.size() - prefix.size() - kKeyTail);
    // Past every key of this metric: its name, then a byte above \0.
    it->Seek(prefix + names.back() + '\x01');
  }
  return names;
}

BlockSummary Summarize(const SeriesPoint* points, size_t n) {
  BlockSummary s;
  s.first_step = points[0].step;
  s.count = static_cast<uint32_t>(n);
  s.first = points[0];
  s.last = points[n - 1];
  for (size_t i = 0; i < n; ++i) {
    const SeriesPoint& p = points[i];
    if (std::isnan(p.value)) continue;
    if (!s.has_min_max) {
      s.min = s.max = p;
      s.has_min_max = true;
    } else if (p.value < s.min.value) {
      s.min = p;
    } else if (p.value > s.max.value) {
      s.max = p;
    }
  }
  return s;
}

Status WriteSeries(Index* index, const std::string& exp, const std::string& test,
                   const std::map<std::string, std::vector<SeriesPoint>>& added, bool stored,
                   rocksdb::WriteBatch* batch) {
  std::vector<std::pair<const std::string*, std::vector<BlockWrite>>> plans;
  for (const auto& [metric, points] : added) {
    if (points.empty()) continue;
    plans.emplace_back(&metric, std::vector<BlockWrite>());
    Status s =
        PlanMetric(index, exp, test, metric, Normalize(points), stored, &plans.back().second);
    if (!s.ok()) {
      const std::string what = "metric '" + metric + "' of " + exp + "/" + test + ": ";
      return s.code() == Status::Code::kCorruption ? Status::Corruption(what + s.message())
                                                   : Status::IOError(what + s.message());
    }
  }
  for (const auto& [metric, plan] : plans) {
    for (const BlockWrite& w : plan) PutBlocks(exp, test, *metric, w, index->cf(kMetricLog), batch);
  }
  return Status::OK();
}

Status ReadSummaries(Index* index, const std::string& exp, const std::string& test,
                     const std::string& metric, int64_t min_step, int64_t max_step,
                     std::vector<BlockSummary>* out) {
  return ForEachBlockKey(index, exp, test, metric, kSeriesSummary, min_step, max_step,
                         [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
                           out->emplace_back();
                           return ParseSummary(key, value, &out->back());
                         });
}

Status ReadBlock(Index* index, const std::string& exp, const std::string& test,
                 const std::string& metric, int64_t first_step, std::vector<SeriesPoint>* out) {
  const std::string key = SeriesKey(exp, test, metric, kSeriesBlock, first_step);
  std::string value;
  Status s = index->Get(kMetricLog, key, &value);
  if (!s.ok()) return s;
  return DecodeBlock(key, value, out);
}

Status ReadPoints(Index* index, const std::string& exp, const std::string& test,
                  const std::string& metric, int64_t min_step, int64_t max_step,
                  std::vector<SeriesPoint>* out) {
  return ForEachBlockKey(index, exp, test, metric, kSeriesBlock, min_step, max_step,
                         [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
                           const size_t old = out->size();
                           Status s = DecodeBlock(key, value, out);
                           if (!s.ok()) return s;
                           // Only the first and the last block can reach outside the range.
                           auto begin = out->begin() + old;
                           auto keep = std::remove_if(begin, out->end(), [&](const SeriesPoint& p) {
                             return p.step < min_step || p.step > max_step;
                           });
                           out->erase(keep, out->end());
                           return Status::OK();
                         });
}

}  // namespace lumodb

// SeriesQuery: metric histories of runs, whole or downsampled.
#include "index/series_query.h"

#include <algorithm>
#include <set>

#include "index/downsample.h"
#include "index/series_store.h"

namespace lumodb {

namespace {

// Keeps the values of a loaded block within the range; false when none is.
bool Trim(SeriesBlock* b, int64_t min_step, int64_t max_step) {
  std::vector<SeriesPoint>& p = b->points;
  auto begin = std::lower_bound(p.begin(), p.end(), min_step,
                                [](const SeriesPoint& x, int64_t s) { return x.step < s; });
  auto end = std::upper_bound(begin, p.end(), max_step,
                              [](int64_t s, const SeriesPoint& x) { return s < x.step; });
  p = std::vector<SeriesPoint>(begin, end);
  if (p.empty()) return false;
  b->summary = Summarize(p.data(), p.size());
  return true;
}

}  // namespace

Status SeriesQuery::ResolveRun(const std::string& test, std::string* exp) {
  if (!exp->empty()) {
    std::string value;
    Status s = index_->Get(kRuns, RunKey(*exp, test), &value);
    if (s.IsNotFound())
      return Status::NotFound("no run " + *exp + "/" + test + " in " + index_->path());
    return s;
  }
  const std::string prefix = test + '\0';
  std::vector<std::string> exps;
  Index::RangeIterator it(index_, kByTest, prefix, test + '\x01');
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    exps.emplace_back(it->key().data() + prefix.size(), it->key().size() - prefix.size());
  }
  if (exps.size() == 1) {
    *exp = exps.front();
    return Status::OK();
  }
  if (exps.empty()) return Status::NotFound("no run " + test + " in " + index_->path());
  std::string runs;
  for (const std::string& e : exps) runs += (runs.empty() ? "" : ", ") + e + "/" + test;
  return Status::Ambiguous("test_name " + test + " names " + std::to_string(exps.size()) +
                           " runs: " + runs + " (choose one with --exp)");
}

std::vector<std::string> SeriesQuery::KeysOf(const std::string& exp, const std::string& test) {
  std::set<std::string> keys;
  ForEachSubKey(index_, kMetrics, exp, test,
                [&](const std::string& name, const rocksdb::Slice&) { keys.insert(name); });
  for (std::string& name : SeriesMetrics(index_, exp, test)) keys.insert(std::move(name));
  return std::vector<std::string>(keys.begin(), keys.end());
}

Status SeriesQuery::ReadOne(const SeriesRequest& req, MetricSeries* series) {
  const std::string& exp = series->exp_name;
  const std::string& test = series->test_name;
  const std::string& key = series->key;
  std::vector<SeriesPoint> points;
  Status s;
  if (req.points == 0) {
    s = ReadPoints(index_, exp, test, key, req.min_step, req.max_step, &points);
    series->total_points = points.size();
  } else {
    std::vector<BlockSummary> summaries;
    s = ReadSummaries(index_, exp, test, key, req.min_step, req.max_step, &summaries);
    std::vector<SeriesBlock> blocks;
    auto load = [&](SeriesBlock* b) {
      b->loaded = true;
      return ReadBlock(index_, exp, test, key, b->summary.first_step, &b->points);
    };
    for (size_t i = 0; s.ok() && i < summaries.size(); ++i) {
      SeriesBlock b;
      b.summary = summaries[i];
      // Only the first and the last block can reach outside the range.
      if (b.summary.first_step < req.min_step || b.summary.last.step > req.max_step) {
        s = load(&b);
        if (s.ok() && !Trim(&b, req.min_step, req.max_step)) continue;
      }
      blocks.push_back(std::move(b));
    }
    if (s.ok()) s = Downsample(&blocks, req.points, load, &points, &series->total_points);
  }
  if (!s.ok()) return s;
  series->downsampled = points.size() < series->total_points;
  series->steps.reserve(points.size());
  series->times_us.reserve(points.size());
  series->values.reserve(points.size());
  for (const SeriesPoint& p : points) {
    series->steps.push_back(p.step);
    series->times_us.push_back(p.time_us);
    series->values.push_back(p.value);
  }
  return Status::OK();
}

Status SeriesQuery::Run(const SeriesRequest& req, std::vector<MetricSeries>* out) {
  if (req.min_step > req.max_step) {
    return Status::InvalidArgument("min_step " + std::to_string(req.min_step) +
                                   " is above max_step " + std::to_string(req.max_step));
  }
  std::vector<MetricSeries> all;
  for (const auto& [exp_name, test] : req.runs) {
    std::string exp = exp_name;
    Status s = ResolveRun(test, &exp);
    if (!s.ok()) return s;
    const std::vector<std::string> known = KeysOf(exp, test);
    std::vector<std::string> keys = req.keys.empty() ? known : req.keys;
    for (const std::string& key : keys) {
      if (!std::binary_search(known.begin(), known.end(), key)) {
        return Status::NotFound("no metric '" + key + "' in run " + exp + "/" + test);
      }
      MetricSeries series;
      series.exp_name = exp;
      series.test_name = test;
      series.key = key;
      s = ReadOne(req, &series);
      if (!s.ok()) {
        return s.code() == Status::Code::kCorruption
                   ? Status::Corruption("metric '" + key + "' of " + exp + "/" + test + " in " +
                                        index_->path() + ": " + s.message())
                   : s;
      }
      all.push_back(std::move(series));
    }
  }
  *out = std::move(all);
  return Status::OK();
}

}  // namespace lumodb

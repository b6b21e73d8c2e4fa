// Downsample: first, min, max and last of each bucket (see downsample.h).
#include "index/downsample.h"

#include <algorithm>
#include <cmath>

namespace lumodb {

namespace {

// What one bucket has seen so far.
class Bucket {
 public:
  void Add(const BlockSummary& s) {
    if (!any_) first_ = s.first;
    any_ = true;
    last_ = s.last;
    if (!s.has_min_max) return;
    if (!has_min_max_ || s.min.value < min_.value) min_ = s.min;
    if (!has_min_max_ || s.max.value > max_.value) max_ = s.max;
    has_min_max_ = true;
  }
  void Add(const SeriesPoint& p) { Add(Summarize(&p, 1)); }

  // Appends the bucket's distinct values in step order and empties it.
  void Emit(std::vector<SeriesPoint>* out) {
    if (!any_) return;
    SeriesPoint v[4] = {first_, last_, min_, max_};
    const size_t n = has_min_max_ ? 4 : 2;
    // Insertion sort of at most 4 (std::sort here trips GCC 12's
    // -Warray-bounds at -O3).
    for (size_t i = 1; i < n; ++i) {
      for (size_t j = i; j > 0 && v[j].step < v[j - 1].step; --j) std::swap(v[j], v[j - 1]);
    }
    for (size_t i = 0; i < n; ++i) {
      if (i == 0 || v[i].step != v[i - 1].step) out->push_back(v[i]);
    }
    *this = Bucket();
  }

 private:
  bool any_ = false, has_min_max_ = false;
  SeriesPoint first_{}, last_{}, min_{}, max_{};
};

}  // namespace

Status Downsample(std::vector<SeriesBlock>* blocks, size_t points, const BlockLoader& load,
                  std::vector<SeriesPoint>* out, size_t* total) {
  size_t n = 0;
  for (const SeriesBlock& b : *blocks) n += b.loaded ? b.points.size() : b.summary.count;
  *total = n;
  if (points == 0 || n <= points) {
    for (SeriesBlock& b : *blocks) {
      if (!b.loaded) {
        Status s = load(&b);
        if (!s.ok()) return s;
      }
      out->insert(out->end(), b.points.begin(), b.points.end());
    }
    return Status::OK();
  }
  const size_t buckets = std::max<size_t>(1, points / 4);
  const double per_bucket = static_cast<double>(n) / static_cast<double>(buckets);
  // A value's bucket is its position's share of the whole; a summarised
  // block goes whole into the bucket its first value falls in. A block is
  // at most half a bucket, so no bucket is skipped.
  auto bucket_of = [&](size_t pos) {
    return std::min(buckets - 1, static_cast<size_t>(static_cast<double>(pos) / per_bucket));
  };
  Bucket bucket;
  size_t current = 0, pos = 0;
  auto enter = [&](size_t b) {
    if (b == current) return;
    bucket.Emit(out);
    current = b;
  };
  for (SeriesBlock& b : *blocks) {
    if (!b.loaded && 2.0 * b.summary.count > per_bucket) {
      Status s = load(&b);
      if (!s.ok()) return s;
    }
    if (b.loaded) {
      for (const SeriesPoint& p : b.points) {
        enter(bucket_of(pos++));
        bucket.Add(p);
      }
    } else {
      enter(bucket_of(pos));
      bucket.Add(b.summary);
      pos += b.summary.count;
    }
  }
  bucket.Emit(out);
  return Status::OK();
}

}  // namespace lumodb

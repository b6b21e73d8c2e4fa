// Downsampling a metric's history for plotting: buckets of consecutive
// values, each keeping its first, min, max and last value (the M4 method),
// worked out from block summaries wherever a whole block falls in a bucket,
// so a million values downsample without decoding them.
#ifndef LUMODB_INDEX_DOWNSAMPLE_H_
#define LUMODB_INDEX_DOWNSAMPLE_H_

#include <functional>
#include <vector>

#include "index/series_store.h"
#include "lumodb/status.h"

namespace lumodb {

// One block of the series: its summary, and its values once loaded.
struct SeriesBlock {
  BlockSummary summary;
  bool loaded = false;
  std::vector<SeriesPoint> points;
};

// Loads block->points (and sets loaded) from the summary's first_step.
using BlockLoader = std::function<Status(SeriesBlock* block)>;

// blocks: in step order, every value of them wanted (blocks cut by a step
// range come loaded and trimmed). Appends to *out every value when there
// are at most `points` (or points is 0), else at most max(points, 4)
// values: points/4 buckets of about equal counts, each bucket's first, min,
// max and last value in step order. A block is used through its summary
// when it holds at most half a bucket, else loaded. *total is the number
// of values of the blocks.
Status Downsample(std::vector<SeriesBlock>* blocks, size_t points, const BlockLoader& load,
                  std::vector<SeriesPoint>* out, size_t* total);

}  // namespace lumodb

#endif  // LUMODB_INDEX_DOWNSAMPLE_H_

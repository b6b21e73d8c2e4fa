// ParallelFor: runs fn(i) for every i in [0, n) on up to `threads` threads
// (the calling one included), handing out indices one at a time, and
// returns when all are done. fn must be safe to call concurrently.
#ifndef LUMODB_PARALLEL_H_
#define LUMODB_PARALLEL_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace lumodb {

template <typename Fn>
void ParallelFor(size_t n, size_t threads, const Fn& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::thread> pool;
  const size_t extra = std::min(threads, n) > 0 ? std::min(threads, n) - 1 : 0;
  pool.reserve(extra);
  for (size_t t = 0; t < extra; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace lumodb

#endif  // LUMODB_PARALLEL_H_

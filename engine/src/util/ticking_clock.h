// TickingClock: the wall clock for the time of every logged metric value,
// read from memory that a background thread refreshes every millisecond.
// A read is one atomic load: dump_metric's budget is a few ns, and even the
// vDSO's coarse clock costs 8 ns on this VM (the precise one 40 ns).
#ifndef LUMODB_UTIL_TICKING_CLOCK_H_
#define LUMODB_UTIL_TICKING_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace lumodb {

namespace ticking_clock_internal {
// The last tick, µs since the epoch; 0 while the ticker does not tick.
extern std::atomic<int64_t> now_us;
// Set by readers, cleared by the ticker: someone read since its last look.
extern std::atomic<bool> read;
// Reads the precise clock, and starts the ticker if it has not started.
int64_t ReadDirectly();
}  // namespace ticking_clock_internal

// Microseconds since the epoch, at most about a millisecond old (more when
// the machine is so loaded that the ticker thread waits to be scheduled).
// The ticker starts on first use and stops ticking after 100 ms without a
// reader; until it ticks again (within 100 ms) reads go to the precise
// clock, so a process that logs now and then pays 40 ns a read and no
// wakeups. Times never go back while the system clock does not. A forked
// child starts a ticker of its own.
inline int64_t TickingClockMicros() {
  using namespace ticking_clock_internal;
  const int64_t t = now_us.load(std::memory_order_relaxed);
  if (t == 0) return ReadDirectly();
  // A store only when the ticker has cleared it: the cache line moves once
  // a tick, not once a read.
  if (!read.load(std::memory_order_relaxed)) read.store(true, std::memory_order_relaxed);
  return t;
}

}  // namespace lumodb

#endif  // LUMODB_UTIL_TICKING_CLOCK_H_

// The ticker thread behind TickingClockMicros (see ticking_clock.h).
#include "util/ticking_clock.h"

#include <pthread.h>

#include <chrono>
#include <system_error>
#include <thread>

#include "util/time_util.h"

namespace lumodb {

namespace ticking_clock_internal {
std::atomic<int64_t> now_us{0};
std::atomic<bool> read{false};
}  // namespace ticking_clock_internal

namespace {

using ticking_clock_internal::now_us;
using ticking_clock_internal::read;

constexpr auto kTick = std::chrono::milliseconds(1);
constexpr auto kIdleLook = std::chrono::milliseconds(100);
constexpr int kIdleTicks = 100;

std::atomic<bool> g_started{false};

// Ticks while someone reads; looks every 100 ms for readers while nobody
// does. Touches only the atomics above, so it may outlive static
// destructors at exit.
void Tick() {
  bool ticking = true;
  int idle = 0;
  for (;;) {
    if (ticking) {
      now_us.store(NowMicros(), std::memory_order_relaxed);
      std::this_thread::sleep_for(kTick);
      if (read.exchange(false, std::memory_order_relaxed)) {
        idle = 0;
      } else if (++idle >= kIdleTicks) {
        ticking = false;
        now_us.store(0, std::memory_order_relaxed);
      }
    } else {
      std::this_thread::sleep_for(kIdleLook);
      if (read.exchange(false, std::memory_order_relaxed)) {
        ticking = true;
        idle = 0;
      }
    }
  }
}

// The child of a fork has no ticker: stale ticks must not be read there.
void AfterForkInChild() {
  now_us.store(0, std::memory_order_relaxed);
  read.store(false, std::memory_order_relaxed);
  g_started.store(false, std::memory_order_relaxed);
}

}  // namespace

int64_t ticking_clock_internal::ReadDirectly() {
  read.store(true, std::memory_order_relaxed);
  bool expected = false;
  if (!g_started.load(std::memory_order_relaxed) &&
      g_started.compare_exchange_strong(expected, true)) {
    static const int registered = pthread_atfork(nullptr, nullptr, AfterForkInChild);
    (void)registered;
    try {
      std::thread(Tick).detach();
    } catch (const std::system_error&) {
      // No thread: every read stays a direct one.
    }
  }
  return NowMicros();
}

}  // namespace lumodb

// The value series_logger logs for "loss" at its i-th call, computed the
// same way by the logger and by the tests that check it: a slow wave with
// one spike up (i = 7919) and one spike down (i = 15877), in plain
// arithmetic, so both sides get the same bits.
#ifndef LUMODB_TESTS_HELPERS_SERIES_VALUE_H_
#define LUMODB_TESTS_HELPERS_SERIES_VALUE_H_

namespace lumodb::testing {

inline double SeriesValue(long i) {
  double v = static_cast<double>(i % 977) * 0.25 - static_cast<double>(i) * 1e-6;
  if (i == 7919) v += 1000;
  if (i == 15877) v -= 1000;
  return v;
}

}  // namespace lumodb::testing

#endif  // LUMODB_TESTS_HELPERS_SERIES_VALUE_H_

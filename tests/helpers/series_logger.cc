// series_logger: a trainer that logs N values of two metrics, "loss" at
// explicit steps 10 * i and "acc" (Cmp::Max) at the default step, i = 0, 1,
// ..., then ends. After every 100th i it writes i to stdout (right after
// dump_metric returned) and sleeps 1 ms. metric_history_test SIGKILLs it
// and compares the index with what it reported; SeriesValue is the value
// both sides compute.
//
//   series_logger EXP_NAME N
//
// stdout: "test_name <exp_name> <test_name>", then one i per line.
#include <lumodb/lumodb.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "series_value.h"
#include "write_all.h"

using lumodb::testing::WriteAll;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: series_logger EXP_NAME N\n");
    return 2;
  }
  const long n = std::atol(argv[2]);
  lumodb::Experiment exp(argv[1]);
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    std::fprintf(stderr, "series_logger: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!WriteAll("test_name " + exp.exp_name() + " " + exp.test_name() + "\n")) return 1;
  for (long i = 0; i < n; ++i) {
    exp.dump_metric("loss", lumodb::testing::SeriesValue(i), lumodb::Cmp::Min, "", 10 * i);
    exp.dump_metric("acc", static_cast<double>(i) / static_cast<double>(n), lumodb::Cmp::Max);
    if (i % 100 == 99) {
      // Unbuffered: the line leaves the process the moment dump_metric returned.
      if (!WriteAll(std::to_string(i) + "\n")) return 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  s = exp.last_error();
  if (!s.ok()) {
    std::fprintf(stderr, "series_logger: %s\n", s.ToString().c_str());
    return 1;
  }
  return exp.end(0).ok() ? 0 : 1;
}

// crash_stepper: records metric "step" (Cmp::Max) as 0, 1, 2, ... about once
// a millisecond and writes each i to stdout right after dump_metric returns,
// until it is killed. crash_test SIGKILLs it and checks that nothing it had
// reported before the flush window was lost.
//
// stdout: "test_name <exp_name> <test_name>", then one i per line.
#include <lumodb/lumodb.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "write_all.h"

using lumodb::testing::WriteAll;

int main(int argc, char** argv) {
  const std::string exp_name = argc > 1 ? argv[1] : "crash.step";
  lumodb::Experiment exp(exp_name);
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    std::fprintf(stderr, "crash_stepper: %s\n", s.ToString().c_str());
    return 1;
  }
  if (!WriteAll("test_name " + exp.exp_name() + " " + exp.test_name() + "\n")) {
    return 1;
  }
  for (long i = 0;; ++i) {
    exp.dump_metric("step", static_cast<double>(i), lumodb::Cmp::Max);
    // Unbuffered: the line leaves the process the moment dump_metric returned.
    if (!WriteAll(std::to_string(i) + "\n")) return 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

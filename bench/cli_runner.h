// RunCli: the lumo-db binary as a child process, for end-to-end benchmarks.
#ifndef LUMODB_BENCH_CLI_RUNNER_H_
#define LUMODB_BENCH_CLI_RUNNER_H_

#include <sys/resource.h>

#include <string>
#include <vector>

namespace lumodb::bench {

// Runs `lumo-db args...` with stdout on a pipe drained into *out; returns
// the exit code, or -1 if it could not run. usage (may be null) gets the
// child's resource usage (peak RSS in ru_maxrss, KiB).
int RunCli(const std::vector<std::string>& args, std::string* out,
           struct rusage* usage = nullptr);
// The same with another lumo-db binary (an older build, for baselines).
int RunCliBinary(const std::string& binary, const std::vector<std::string>& args,
                 std::string* out, struct rusage* usage = nullptr);

}  // namespace lumodb::bench

#endif  // LUMODB_BENCH_CLI_RUNNER_H_

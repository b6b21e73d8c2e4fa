// Example trainer: records a fake training run through lumo-db, the way a
// real trainer would. Used by the README demo, the tests and the benchmarks.
//
//   example_trainer --exp mnist.mlp --lr 0.1 --seed 1 [--epochs 5]
//                   [--sleep-ms 20] [--fail-at EPOCH] [--hang-at EPOCH]
//                   [--note TEXT]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include <lumodb/lumodb.h>

namespace {

struct Args {
  std::string exp = "mnist.mlp";
  double lr = 0.1;
  int seed = 1;
  int epochs = 5;
  int sleep_ms = 20;
  int fail_at = -1;
  int hang_at = -1;
  std::string note;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr,
               "example_trainer: %s\nusage: example_trainer --exp NAME --lr X "
               "--seed N [--epochs N] [--sleep-ms N] [--fail-at EPOCH] "
               "[--hang-at EPOCH] [--note TEXT]\n",
               msg);
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag == "--help" || flag == "-h") {
      Usage("records a fake training run through lumo-db");
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Usage(("missing value for " + flag).c_str());
    }
    try {
      if (flag == "--exp") a.exp = value;
      else if (flag == "--lr") a.lr = std::stod(value);
      else if (flag == "--seed") a.seed = std::stoi(value);
      else if (flag == "--epochs") a.epochs = std::stoi(value);
      else if (flag == "--sleep-ms") a.sleep_ms = std::stoi(value);
      else if (flag == "--fail-at") a.fail_at = std::stoi(value);
      else if (flag == "--hang-at") a.hang_at = std::stoi(value);
      else if (flag == "--note") a.note = value;
      else Usage(("unknown flag " + flag).c_str());
    } catch (const std::logic_error&) {
      Usage(("bad value '" + value + "' for " + flag).c_str());
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args a = Parse(argc, argv);
  lumodb::Experiment exp(a.exp);
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    std::fprintf(stderr, "example_trainer: %s\n", s.ToString().c_str());
    return 1;
  }
  char params[256];
  std::snprintf(params, sizeof(params),
                R"({"lr": %g, "seed": %d, "epochs": %d})", a.lr, a.seed, a.epochs);
  exp.dump_info("params", params);
  exp.dump_tags({"lr=" + std::to_string(a.lr).substr(0, 6),
                 "seed=" + std::to_string(a.seed)});
  if (!a.note.empty()) exp.dump_note(a.note);

  // A made-up learning curve: the best lr is near 0.05, seeds add noise.
  double quality = 1.0 - std::fabs(std::log10(a.lr / 0.05)) * 0.15;
  for (int epoch = 1; epoch <= a.epochs; ++epoch) {
    if (epoch == a.fail_at) {
      throw std::runtime_error("loss diverged at epoch " + std::to_string(epoch));
    }
    if (epoch == a.hang_at) {
      exp.flush();
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    double noise = std::sin(a.seed * 12.9898 + epoch * 78.233) * 0.01;
    double acc = quality * (1.0 - std::exp(-0.8 * epoch)) + noise;
    double loss = (1.0 - acc) * 2.0;
    exp.dump_metric("acc", acc, lumodb::Cmp::Max,
                    R"({"best_epoch": )" + std::to_string(epoch) + "}");
    exp.dump_metric("loss", loss, lumodb::Cmp::Min);
    exp.dump_progress(static_cast<double>(epoch) / a.epochs);
    std::this_thread::sleep_for(std::chrono::milliseconds(a.sleep_ms));
  }
  exp.dump_string("summary", "trained " + std::to_string(a.epochs) + " epochs");
  s = exp.end(0);
  if (!s.ok()) {
    std::fprintf(stderr, "example_trainer: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("%s %s\n", exp.exp_name().c_str(), exp.test_name().c_str());
  return 0;
}

// Records one run through the installed library and prints its test_name.
#include <lumodb/lumodb.h>

#include <cstdio>

int main() {
  lumodb::Experiment exp("install.check");
  if (!exp.start().ok()) return 1;
  exp.dump_info("params", R"({"lr": 0.1})");
  exp.dump_metric("acc", 0.5, lumodb::Cmp::Max);
  if (!exp.end(0).ok()) return 1;
  std::printf("%s\n", exp.test_name().c_str());
  return 0;
}

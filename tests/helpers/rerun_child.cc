// A child for the rerun tests: records a run (its argv goes into
// `execute`, the words it was given into params.argv) and accepts any
// arguments. --exit=N ends the run with code N and exits N; --signal=N
// kills itself with signal N after the start.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <lumodb/lumodb.h>

namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0, sig = 0;
  std::string words;
  for (int i = 1; i < argc; ++i) {
    std::string w = argv[i];
    words += (words.empty() ? "" : ",") + JsonString(w);
    if (w.compare(0, 7, "--exit=") == 0) code = std::atoi(w.c_str() + 7);
    if (w.compare(0, 9, "--signal=") == 0) sig = std::atoi(w.c_str() + 9);
  }
  lumodb::Experiment exp("rerun.child");
  lumodb::Status s = exp.start();
  if (!s.ok()) {
    std::fprintf(stderr, "rerun_child: %s\n", s.ToString().c_str());
    return 1;
  }
  exp.dump_info("params", "{\"argv\": [" + words + "]}");
  exp.flush(true);
  if (sig != 0) ::raise(sig);
  exp.end(code);
  std::printf("%s %s\n", exp.exp_name().c_str(), exp.test_name().c_str());
  return code;
}

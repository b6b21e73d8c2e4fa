// libFuzzer harness for DecodePickle: any bytes, never a crash, a leak,
// undefined behaviour or unbounded memory. See fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "lumo/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json out;
  std::vector<lumodb::PickleWarning> warnings;
  lumodb::Status s = lumodb::DecodePickle(
      std::string_view(reinterpret_cast<const char*>(data), size), &out, &warnings);
  // Writing the JSON must work too: every string in it is valid UTF-8.
  (void)out.dump();
  (void)s;
  return 0;
}

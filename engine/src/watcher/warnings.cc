// Warning lines of the Watcher (see warnings.h).
#include "watcher/warnings.h"

#include <cstdio>

namespace lumodb {

void Warnings::Warn(const std::string& message) const {
  if (sink_ != nullptr) {
    sink_(message);
  } else {
    std::fprintf(stderr, "lumo-db: warning: %s\n", message.c_str());
  }
}

void Warnings::RunSkipped(const std::string& exp, const std::string& test, const Status& s) const {
  Warn("run " + exp + "/" + test + " not loaded: " + s.ToString());
}

void Warnings::Corruption(const std::string& path, uint64_t offset, uint64_t bytes,
                          const std::string& reason) {
  Warn("journal " + path + ": " + reason + " at offset " + std::to_string(offset) + " (" +
       std::to_string(bytes) + " bytes skipped)");
}

}  // namespace lumodb

// WriteAll: a helper program's report line on stdout, unbuffered, so it
// leaves the process the moment the call before it returned.
#ifndef LUMODB_TESTS_HELPERS_WRITE_ALL_H_
#define LUMODB_TESTS_HELPERS_WRITE_ALL_H_

#include <unistd.h>

#include <string>

namespace lumodb::testing {

inline bool WriteAll(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(1, text.data() + done, text.size() - done);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace lumodb::testing

#endif  // LUMODB_TESTS_HELPERS_WRITE_ALL_H_

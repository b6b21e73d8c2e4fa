// Small filesystem questions shared across the engine: is this a folder or
// a file, what does a folder hold, when was a file last changed.
#ifndef LUMODB_UTIL_FS_H_
#define LUMODB_UTIL_FS_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lumodb/status.h"

namespace lumodb {

bool IsDir(const std::string& path);
bool IsFile(const std::string& path);

// Appends the names in a folder (not "." or "..", in readdir order). An
// absent folder, or a file, holds nothing; any other failure is an IOError
// naming the path.
Status ListDir(const std::string& path, std::vector<std::string>* names);

inline int64_t MtimeMicros(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1000000 + st.st_mtim.tv_nsec / 1000;
}

}  // namespace lumodb

#endif  // LUMODB_UTIL_FS_H_

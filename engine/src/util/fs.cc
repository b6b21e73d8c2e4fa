// Folder listings and file-type checks (see fs.h).
#include "util/fs.h"

#include <dirent.h>

#include <cerrno>

namespace lumodb {

bool IsDir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status ListDir(const std::string& path, std::vector<std::string>* names) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return Status::FromErrno("list", path, errno);
  }
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.' &&
        (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    names->emplace_back(e->d_name);
  }
  ::closedir(dir);
  return Status::OK();
}

}  // namespace lumodb

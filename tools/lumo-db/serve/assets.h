// The dashboard's page (tools/lumo-db/web/), compiled into lumo-db by
// cmake/embed_files.cmake: nothing is read from disk or fetched when the
// page is served.
#ifndef LUMODB_TOOLS_SERVE_ASSETS_H_
#define LUMODB_TOOLS_SERVE_ASSETS_H_

#include <cstddef>

namespace lumodb::cli::web {

struct Asset {
  const char* path;          // URL path: "/", "/app.js", "/style.css"
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

extern const Asset kAssets[];
extern const size_t kAssetCount;

}  // namespace lumodb::cli::web

#endif  // LUMODB_TOOLS_SERVE_ASSETS_H_

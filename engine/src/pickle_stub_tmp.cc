#include "pickle.h"
namespace lumodb {
Status DecodePickle(std::string_view, nlohmann::json* out, std::vector<PickleWarning>*) { *out = nlohmann::json::object(); return Status::OK(); }
}

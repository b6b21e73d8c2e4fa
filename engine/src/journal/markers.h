// Active-run markers: <info_root>/.lumodb/active/<test_name>@<exp_name>.
// A marker exists while a run may still write; its mtime is the heartbeat.
#ifndef LUMODB_MARKERS_H_
#define LUMODB_MARKERS_H_

#include <string>

namespace lumodb {

std::string ActiveDir(const std::string& info_root);
std::string MarkerName(const std::string& exp_name, const std::string& test_name);
// Splits a marker name; false if it is not one.
bool ParseMarkerName(const std::string& name, std::string* exp_name,
                     std::string* test_name);
std::string RunInfoDir(const std::string& info_root, const std::string& exp_name,
                       const std::string& test_name);
std::string JournalPath(const std::string& info_dir);

}  // namespace lumodb

#endif  // LUMODB_MARKERS_H_

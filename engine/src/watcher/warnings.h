// Where the Watcher's warnings go (a torn journal tail, a run that could
// not be loaded, a damaged lumo file): the caller's sink, else stderr.
#ifndef LUMODB_WATCHER_WARNINGS_H_
#define LUMODB_WATCHER_WARNINGS_H_

#include <cstdint>
#include <string>

#include "journal/reader.h"
#include "lumodb/status.h"

namespace lumodb {

class Warnings : public JournalReporter {
 public:
  // sink may be null: "lumo-db: warning: ..." lines on stderr.
  explicit Warnings(void (*sink)(const std::string&)) : sink_(sink) {}

  void Warn(const std::string& message) const;
  // "run <exp>/<test> not loaded: <status>": one bad run never stops the
  // others from loading.
  void RunSkipped(const std::string& exp, const std::string& test, const Status& s) const;
  // JournalReporter: a bad stretch of a journal, with its path and offset.
  void Corruption(const std::string& path, uint64_t offset, uint64_t bytes,
                  const std::string& reason) override;

 private:
  void (*sink_)(const std::string&);
};

}  // namespace lumodb

#endif  // LUMODB_WATCHER_WARNINGS_H_

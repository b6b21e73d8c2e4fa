// lumo's names: exp_name and test_name rules.
#ifndef LUMODB_NAMES_H_
#define LUMODB_NAMES_H_

#include <string>

#include "lumodb/status.h"

namespace lumodb {

// A lumo test_name: YYMMDD.NNN.XXt, where NNN has three digits, or more
// once a day passes 999 runs (261128.1000.a3t).
bool IsValidTestName(const std::string& name);

// An exp_name must be usable as one file name: not empty, no '/', no NUL,
// not "." or "..", not starting with '.', at most 200 bytes.
Status ValidateExpName(const std::string& name);

}  // namespace lumodb

#endif  // LUMODB_NAMES_H_

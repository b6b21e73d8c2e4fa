// Choosing and claiming a run's test_name (YYMMDD.NNN.XXt) and its info_dir.
#ifndef LUMODB_SRC_TEST_NAME_H_
#define LUMODB_SRC_TEST_NAME_H_

#include <cstdint>
#include <string>

#include "lumodb/status.h"

namespace lumodb {

// "YYMMDD" of unix_us in the IANA zone tz (falls back to UTC if the zone
// cannot be loaded).
std::string TestNameDate(int64_t unix_us, const std::string& tz);

// Claims a fresh test_name for exp_name and creates its run folder
// <info_root>/<exp_name>/<test_name>/ (and the folders above it).
//
// NNN starts, as in lumo, at the count of entries of <info_root>/<exp_name>/
// whose names start with today's date; it has three digits, more past 999.
// XX is two random lowercase hex characters. The run folder is made with
// mkdir, which is atomic, so two runs never share a folder, even when they
// start at the same moment in different processes. Unlike lumo, a counter
// already used today (by any XX) is not reused either.
//
// InvalidArgument for a bad exp_name; IOError naming the path when a folder
// cannot be made (permissions, full disk).
Status ClaimTestName(const std::string& info_root, const std::string& exp_name,
                     const std::string& tz, int64_t now_us,
                     std::string* test_name);

// Takes a given test_name (e.g. from $LUMO_EXP_TEST_NAME) and creates its
// folder. InvalidArgument naming it if it is not a test_name; an existing
// folder is accepted only while it holds no "journal" file (else
// IllegalState naming the path).
Status ClaimGivenTestName(const std::string& info_root,
                          const std::string& exp_name,
                          const std::string& test_name);

}  // namespace lumodb

#endif  // LUMODB_SRC_TEST_NAME_H_

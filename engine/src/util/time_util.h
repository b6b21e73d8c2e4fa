// Wall-clock time and the time strings lumo writes (zone-local, no offset).
#ifndef LUMODB_SRC_TIME_UTIL_H_
#define LUMODB_SRC_TIME_UTIL_H_

#include <cstdint>
#include <string>

namespace lumodb {

// Wall clock, microseconds since the epoch.
int64_t NowMicros();

// unix_us formatted with an absl::FormatTime format in the IANA zone tz.
// A zone that cannot be loaded falls back to UTC.
std::string FormatLocalTime(const std::string& format, int64_t unix_us,
                            const std::string& tz);

// lumo's time string "%y-%m-%d-%H%M%S" (e.g. "26-11-28-212038") of unix_us
// in zone tz.
std::string LumoTimeString(int64_t unix_us, const std::string& tz);

// Parses lumo's time string in zone tz; false if malformed. Two-digit years
// follow Python's strptime (lumo's reader): 69-99 are 19xx, 00-68 are 20xx.
bool ParseLumoTimeString(const std::string& text, const std::string& tz,
                         int64_t* unix_us);

// "2026-11-28T13:20:38.123456Z"
std::string Iso8601Utc(int64_t unix_us);

}  // namespace lumodb

#endif  // LUMODB_SRC_TIME_UTIL_H_

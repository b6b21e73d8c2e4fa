// Wall-clock time and lumo's time strings, on top of absl::time.
#include "util/time_util.h"

#include <chrono>
#include <map>
#include <mutex>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace lumodb {

namespace {

// absl::LoadTimeZone reads and parses a tzdata file, and every dump records
// a time string, so zones are loaded once per process. A zone that fails to
// load is cached as UTC too, so a bad name costs one lookup, not one per call.
absl::TimeZone CachedZone(const std::string& name) {
  static std::mutex* mu = new std::mutex;
  static auto* zones = new std::map<std::string, absl::TimeZone>;
  std::lock_guard<std::mutex> lock(*mu);
  auto it = zones->find(name);
  if (it != zones->end()) return it->second;
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) tz = absl::UTCTimeZone();
  zones->emplace(name, tz);
  return tz;
}

// Reads `width` ASCII digits at text[pos]; false if any is not a digit.
bool ReadDigits(const std::string& text, size_t pos, size_t width, int* out) {
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = value;
  return true;
}

}  // namespace

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatLocalTime(const std::string& format, int64_t unix_us, const std::string& tz) {
  return absl::FormatTime(format, absl::FromUnixMicros(unix_us), CachedZone(tz));
}

std::string LumoTimeString(int64_t unix_us, const std::string& tz) {
  return FormatLocalTime("%y-%m-%d-%H%M%S", unix_us, tz);
}

// Checked by hand rather than with absl::ParseTime, which accepts one-digit
// fields and surrounding spaces, and normalises Feb 30 to Mar 2.
bool ParseLumoTimeString(const std::string& text, const std::string& tz, int64_t* unix_us) {
  // "YY-MM-DD-HHMMSS"
  if (text.size() != 15 || text[2] != '-' || text[5] != '-' || text[8] != '-') {
    return false;
  }
  int yy, mon, day, hour, min, sec;
  if (!ReadDigits(text, 0, 2, &yy) || !ReadDigits(text, 3, 2, &mon) ||
      !ReadDigits(text, 6, 2, &day) || !ReadDigits(text, 9, 2, &hour) ||
      !ReadDigits(text, 11, 2, &min) || !ReadDigits(text, 13, 2, &sec)) {
    return false;
  }
  const int year = yy >= 69 ? 1900 + yy : 2000 + yy;
  const absl::CivilSecond cs(year, mon, day, hour, min, sec);
  // CivilSecond normalises out-of-range fields; a changed field means the
  // text named a time that does not exist.
  if (cs.year() != year || cs.month() != mon || cs.day() != day || cs.hour() != hour ||
      cs.minute() != min || cs.second() != sec) {
    return false;
  }
  *unix_us = absl::ToUnixMicros(absl::FromCivil(cs, CachedZone(tz)));
  return true;
}

std::string Iso8601Utc(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(unix_us),
                          absl::UTCTimeZone());
}

namespace {

void AppendDigits(int64_t v, int width, std::string* out) {
  char buf[24];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

}  // namespace

TimeStrings::TimeStrings(const std::string& tz) : zone_(CachedZone(tz)) {}

void TimeStrings::AppendLumo(int64_t unix_us, std::string* out) const {
  const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixMicros(unix_us), zone_);
  int64_t year = cs.year() % 100;
  if (year < 0) year += 100;
  AppendDigits(year, 2, out);
  out->push_back('-');
  AppendDigits(cs.month(), 2, out);
  out->push_back('-');
  AppendDigits(cs.day(), 2, out);
  out->push_back('-');
  AppendDigits(cs.hour(), 2, out);
  AppendDigits(cs.minute(), 2, out);
  AppendDigits(cs.second(), 2, out);
}

void TimeStrings::AppendIso8601Utc(int64_t unix_us, std::string* out) {
  // UTC needs no zone: the civil date from the day count (H. Hinnant's
  // civil_from_days), the time from the second of the day.
  int64_t secs = unix_us / 1000000, micros = unix_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  AppendDigits(year, 4, out);
  out->push_back('-');
  AppendDigits(month, 2, out);
  out->push_back('-');
  AppendDigits(day, 2, out);
  out->push_back('T');
  AppendDigits(sod / 3600, 2, out);
  out->push_back(':');
  AppendDigits(sod / 60 % 60, 2, out);
  out->push_back(':');
  AppendDigits(sod % 60, 2, out);
  out->push_back('.');
  AppendDigits(micros, 6, out);
  out->push_back('Z');
}

}  // namespace lumodb

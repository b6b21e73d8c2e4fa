// Tests for engine/src/time_util.cc.
#include "util/time_util.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace lumodb {
namespace {

// 2026-11-28 13:20:38 UTC.
constexpr int64_t kNov28 = 1795872038LL * 1000000;

TEST(TimeUtilTest, ShanghaiIsUtcPlusEight) {
  EXPECT_EQ(LumoTimeString(kNov28, "Asia/Shanghai"), "26-11-28-212038");
  EXPECT_EQ(LumoTimeString(kNov28, "UTC"), "26-11-28-132038");
  // Past local midnight in Shanghai the date moves on.
  EXPECT_EQ(LumoTimeString(kNov28 + 3 * 3600 * 1000000LL, "Asia/Shanghai"),
            "26-11-29-002038");
}

TEST(TimeUtilTest, UnknownZoneFallsBackToUtc) {
  EXPECT_EQ(LumoTimeString(kNov28, "Not/AZone"), "26-11-28-132038");
}

TEST(TimeUtilTest, Iso8601) {
  EXPECT_EQ(Iso8601Utc(kNov28 + 123456), "2026-11-28T13:20:38.123456Z");
  EXPECT_EQ(Iso8601Utc(0), "1970-01-01T00:00:00.000000Z");
}

TEST(TimeUtilTest, RoundTrip) {
  for (const char* tz : {"Asia/Shanghai", "UTC", "America/New_York"}) {
    int64_t parsed = 0;
    ASSERT_TRUE(ParseLumoTimeString(LumoTimeString(kNov28, tz), tz, &parsed))
        << tz;
    EXPECT_EQ(parsed, kNov28) << tz;
  }
  int64_t parsed = 0;
  ASSERT_TRUE(ParseLumoTimeString("26-11-28-212038", "Asia/Shanghai", &parsed));
  EXPECT_EQ(parsed, kNov28);
  // Sub-second parts are not in the string.
  ASSERT_TRUE(ParseLumoTimeString(LumoTimeString(kNov28 + 999999, "UTC"), "UTC",
                                  &parsed));
  EXPECT_EQ(parsed, kNov28);
}

TEST(TimeUtilTest, RejectsMalformed) {
  for (const char* bad : {
           "",
           "26-11-28-21203",     // short
           "26-11-28-2120388",   // long
           "26-11-28 212038",    // wrong separator
           "2026-11-28-212038",  // four-digit year
           "26-13-28-212038",    // month 13
           "26-00-28-212038",    // month 0
           "26-02-30-212038",    // Feb 30
           "26-11-28-242038",    // hour 24
           "26-11-28-216038",    // minute 60
           "26-11-28-212060",    // second 60
           "26-1a-28-212038",    // letter
           " 26-11-28-21203",    // space
           "+6-11-28-212038",    // sign
       }) {
    int64_t parsed = 7;
    EXPECT_FALSE(ParseLumoTimeString(bad, "Asia/Shanghai", &parsed)) << bad;
    EXPECT_EQ(parsed, 7) << bad;
  }
}

TEST(TimeUtilTest, NowIsNow) {
  int64_t a = NowMicros();
  // After 2024-01-01 and before 2100-01-01.
  EXPECT_GT(a, 1704067200LL * 1000000);
  EXPECT_LT(a, 4102444800LL * 1000000);
  EXPECT_GE(NowMicros(), a);
}

TEST(TimeUtilTest, ZoneCacheIsThreadSafe) {
  std::vector<std::thread> threads;
  std::vector<std::string> out(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&out, i] {
      for (int j = 0; j < 200; ++j) {
        out[i] =
            LumoTimeString(kNov28, i % 2 ? "Asia/Shanghai" : "Europe/Paris");
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(out[i], i % 2 ? "26-11-28-212038" : "26-11-28-142038");
  }
}

}  // namespace
}  // namespace lumodb

namespace lumodb {
namespace {

TEST(TimeStringsTest, FastStringsAreTheFormattedOnes) {
  std::mt19937_64 rng(5);
  for (const char* tz : {"Asia/Shanghai", "UTC", "America/New_York", "Australia/Lord_Howe"}) {
    TimeStrings strings(tz);
    for (int i = 0; i < 20000; ++i) {
      // From 1970 to 2100, microseconds, negative ones too.
      int64_t us = static_cast<int64_t>(rng() % 4102444800000000ULL) - 86400000000LL;
      std::string lumo, iso;
      strings.AppendLumo(us, &lumo);
      TimeStrings::AppendIso8601Utc(us, &iso);
      ASSERT_EQ(lumo, LumoTimeString(us, tz)) << us << " " << tz;
      ASSERT_EQ(iso, Iso8601Utc(us)) << us;
    }
  }
}

}  // namespace
}  // namespace lumodb

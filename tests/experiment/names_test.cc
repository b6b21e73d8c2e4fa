// Tests for engine/src/names.cc.
#include "lumodb/names.h"

#include <gtest/gtest.h>

#include <string>

namespace lumodb {
namespace {

TEST(NamesTest, AcceptsLumoTestNames) {
  EXPECT_TRUE(IsValidTestName("230306.012.d5t"));
  EXPECT_TRUE(IsValidTestName("261128.000.00t"));
  EXPECT_TRUE(IsValidTestName("261128.1000.a3t"));  // past 999 runs a day
  EXPECT_TRUE(IsValidTestName("261128.123456.zzt"));
}

TEST(NamesTest, RejectsMalformedTestNames) {
  for (const char* bad : {
           "",                  // empty
           "23030.012.d5t",     // five-digit date
           "2303066.012.d5t",   // seven-digit date
           "230306.12.d5t",     // two-digit counter
           "230306..d5t",       // no counter
           "230306.012.d5",     // no trailing t
           "230306.012.d5tt",   // extra character
           "230306.012.D5t",    // upper case
           "230306.012.d-t",    // not alphanumeric
           "230306.012.d5x",    // wrong suffix
           "230306.012.5t",     // one random character
           "230306.012.abct",   // three random characters
           "230306_012.d5t",    // wrong separator
           "230306.012_d5t",    // wrong separator
           "2303a6.012.d5t",    // letter in date
           "230306.0a2.d5t",    // letter in counter
           " 230306.012.d5t",   // leading space
           "230306.012.d5t\n",  // trailing newline
       }) {
    EXPECT_FALSE(IsValidTestName(bad)) << "'" << bad << "'";
  }
  EXPECT_FALSE(IsValidTestName(std::string("230306.012.d5t\0", 15)));
}

TEST(NamesTest, AcceptsFileNameExpNames) {
  for (const char* good :
       {"mnist", "resnet-50 lr=0.1", "a.b", "x..y", "ünïcode", "a\\b"}) {
    EXPECT_TRUE(ValidateExpName(good).ok()) << good;
  }
  EXPECT_TRUE(ValidateExpName(std::string(200, 'e')).ok());
}

void ExpectRejected(const std::string& name, const std::string& why) {
  Status s = ValidateExpName(name);
  EXPECT_TRUE(s.IsInvalidArgument()) << name;
  EXPECT_NE(s.message().find(why), std::string::npos)
      << "message '" << s.message() << "' lacks '" << why << "'";
}

TEST(NamesTest, RejectsBadExpNamesSayingWhy) {
  ExpectRejected("", "empty");
  ExpectRejected("a/b", "'a/b'");
  ExpectRejected("a/b", "'/'");
  ExpectRejected(std::string("a\0b", 3), "NUL");
  ExpectRejected(std::string("a\0b", 3), "'a\\0b'");
  ExpectRejected(".", "'.'");
  ExpectRejected("..", "'..'");
  ExpectRejected(".hidden", "'.hidden'");
  ExpectRejected(".hidden", "starts with '.'");
  ExpectRejected(std::string(201, 'e'), "201 bytes");
  ExpectRejected(std::string(201, 'e'), "eeee");
}

}  // namespace
}  // namespace lumodb

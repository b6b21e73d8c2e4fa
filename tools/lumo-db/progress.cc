// The progress line of long commands (see progress.h).
#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace lumodb::cli {

namespace {

// 20000 -> "20,000".
std::string Grouped(size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// 0.4 -> "0.4 s", 75 -> "1 min 15 s", 4000 -> "1 h 06 min".
std::string Duration(double s) {
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%d min %02d s", static_cast<int>(s) / 60,
                  static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%d h %02d min", static_cast<int>(s) / 3600,
                  static_cast<int>(s) % 3600 / 60);
  }
  return buf;
}

std::string Rate(size_t done, double elapsed_s, const std::string& unit) {
  if (elapsed_s <= 0) return "";
  return Grouped(static_cast<size_t>(std::llround(done / elapsed_s))) + " " + unit + "/s";
}

}  // namespace

ProgressLine::ProgressLine(std::string doing, std::string done, std::string unit, bool enabled)
    : doing_(std::move(doing)),
      done_verb_(std::move(done)),
      unit_(std::move(unit)),
      active_(enabled && isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine* ProgressLine::current_ = nullptr;

ProgressLine::~ProgressLine() {
  Clear();
  if (current_ == this) current_ = nullptr;
}

void ProgressLine::ClearCurrent() {
  if (current_ != nullptr) current_->Clear();
}

double ProgressLine::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressLine::Text(const std::string& doing, const std::string& unit, size_t done,
                               size_t total, double elapsed_s) {
  std::string line = doing;
  if (total > 0) {
    line += "  " + std::to_string(std::min<size_t>(100, done * 100 / total)) + "%  " +
            Grouped(done) + "/" + Grouped(total) + " " + unit;
  } else {
    line += "  " + Grouped(done) + " " + unit;
  }
  const std::string rate = Rate(done, elapsed_s, unit);
  if (!rate.empty()) line += "  " + rate;
  line += "  " + Duration(elapsed_s) + " elapsed";
  if (total > 0 && done > 0 && done < total && elapsed_s > 0) {
    line += "  ETA " + Duration(elapsed_s * (total - done) / done);
  }
  return line;
}

std::string ProgressLine::Summary(const std::string& done_verb, const std::string& unit,
                                  size_t done, double elapsed_s) {
  std::string line = done_verb + " " + Grouped(done) + " " + unit + " in " + Duration(elapsed_s);
  const std::string rate = Rate(done, elapsed_s, unit);
  if (!rate.empty() && done > 0) line += " (" + rate + ")";
  return line;
}

void ProgressLine::Update(size_t done, size_t total) {
  done_ = done;
  total_ = total;
  if (!active_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  std::cerr << "\r\033[K" << Text(doing_, unit_, done, total, Elapsed()) << std::flush;
  drawn_ = true;
  current_ = this;
}

Progress ProgressLine::Callback() {
  return [this](size_t done, size_t total) { Update(done, total); };
}

void ProgressLine::Clear() {
  if (!drawn_) return;
  std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

void ProgressLine::Finish() {
  Clear();
  if (active_) std::cerr << Summary(done_verb_, unit_, done_, Elapsed()) << "\n";
  active_ = false;
}

}  // namespace lumodb::cli

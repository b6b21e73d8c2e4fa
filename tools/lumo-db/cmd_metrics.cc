// lumo-db metrics: the history of a run's metrics, every value with its
// step and time, whole or downsampled (Watcher::metric_series does the work).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "index/output.h"
#include "util/time_util.h"

namespace lumodb::cli {

namespace {

struct MetricsArgs {
  std::string test, exp, format = "table";
  std::vector<std::string> keys;
  size_t points = 0;
  int64_t min_step = std::numeric_limits<int64_t>::min();
  int64_t max_step = std::numeric_limits<int64_t>::max();
};

// The shortest text that reads back as the same double ("nan", "inf" when
// not finite).
void AppendExact(double v, std::string* out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

// Output goes out in pieces: a million values need not sit in one string.
void FlushIfLong(std::string* buf, bool force = false) {
  if (!force && buf->size() < (1 << 20)) return;
  std::cout.write(buf->data(), static_cast<std::streamsize>(buf->size()));
  buf->clear();
}

void WriteCsv(const std::vector<MetricSeries>& all) {
  std::string buf = "key,step,time_us,value\n";
  for (const MetricSeries& s : all) {
    const std::string key = CsvField(s.key) + ",";
    for (size_t i = 0; i < s.values.size(); ++i) {
      buf += key;
      AppendInt(s.steps[i], &buf);
      buf.push_back(',');
      AppendInt(s.times_us[i], &buf);
      buf.push_back(',');
      AppendExact(s.values[i], &buf);
      buf.push_back('\n');
      FlushIfLong(&buf);
    }
  }
  FlushIfLong(&buf, true);
}

void WriteJsonl(const std::vector<MetricSeries>& all) {
  std::string buf;
  for (const MetricSeries& s : all) {
    const std::string key =
        "{\"key\":" +
        nlohmann::json(s.key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    for (size_t i = 0; i < s.values.size(); ++i) {
      buf += key;
      buf += ",\"step\":";
      AppendInt(s.steps[i], &buf);
      buf += ",\"time_us\":";
      AppendInt(s.times_us[i], &buf);
      buf += ",\"value\":";
      // JSON has no NaN or infinity.
      if (std::isfinite(s.values[i])) {
        AppendExact(s.values[i], &buf);
      } else {
        buf += "null";
      }
      buf += "}\n";
      FlushIfLong(&buf);
    }
  }
  FlushIfLong(&buf, true);
}

// Aligned like the query table: numbers right-aligned, floats short, the
// time as lumo's time string in the configured zone.
void WriteTable(const std::vector<MetricSeries>& all, const std::string& tz) {
  struct Row {
    std::string key, step, value, time;
  };
  std::vector<Row> rows = {{"key", "step", "value", "time"}};
  int64_t cached_second = std::numeric_limits<int64_t>::min();
  std::string cached_time;
  for (const MetricSeries& s : all) {
    for (size_t i = 0; i < s.values.size(); ++i) {
      const int64_t second = s.times_us[i] / 1000000;
      if (second != cached_second) {
        cached_second = second;
        cached_time = LumoTimeString(s.times_us[i], tz);
      }
      rows.push_back({s.key, std::to_string(s.steps[i]), ShortFloat(s.values[i]), cached_time});
    }
  }
  size_t w[3] = {0, 0, 0};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.key.size());
    w[1] = std::max(w[1], r.step.size());
    w[2] = std::max(w[2], r.value.size());
  }
  std::string buf;
  auto line = [&](const std::string& key, const std::string& step, const std::string& value,
                  const std::string& time) {
    buf += key;
    buf.append(w[0] - key.size() + 2 + w[1] - step.size(), ' ');
    buf += step;
    buf.append(2 + w[2] - value.size(), ' ');
    buf += value;
    buf += "  ";
    buf += time;
    buf.push_back('\n');
    FlushIfLong(&buf);
  };
  line(rows[0].key, rows[0].step, rows[0].value, rows[0].time);
  line(std::string(w[0], '-'), std::string(w[1], '-'), std::string(w[2], '-'),
       std::string(15, '-'));
  for (size_t r = 1; r < rows.size(); ++r)
    line(rows[r].key, rows[r].step, rows[r].value, rows[r].time);
  FlushIfLong(&buf, true);
  for (const MetricSeries& s : all) {
    if (s.downsampled) {
      std::cerr << "lumo-db: " << s.key << ": " << s.values.size() << " of " << s.total_points
                << " values shown (--points)\n";
    }
  }
}

int RunMetrics(const Common& common, const MetricsArgs& a) {
  SeriesRequest request;
  request.runs = {{a.exp, a.test}};
  request.keys = a.keys;
  request.points = a.points;
  request.min_step = a.min_step;
  request.max_step = a.max_step;
  std::unique_ptr<Watcher> watcher;
  Status s = OpenWatcher(common, true, &watcher);
  if (!s.ok()) return Fail(s);
  std::vector<MetricSeries> series;
  s = watcher->metric_series(request, &series);
  if (!s.ok()) return Fail(s);
  if (a.format == "csv") {
    WriteCsv(series);
  } else if (a.format == "jsonl") {
    WriteJsonl(series);
  } else {
    Roots roots;
    Roots::FromLumoConfig(&roots);
    WriteTable(series, roots.timezone);
  }
  std::cout.flush();
  return std::cout ? kExitOk : kExitFailed;
}

}  // namespace

Command AddMetrics(CLI::App& app, const Common& common) {
  CLI::App* cmd = app.add_subcommand(
      "metrics",
      "The history of a run's metrics: every value with its step and time, e.g. lumo-db metrics "
      "261128.004.7et acc --points 1000");
  auto args = std::make_shared<MetricsArgs>();
  cmd->add_option("test_name", args->test, "The run's test_name")->required();
  cmd->add_option("keys", args->keys, "Metric keys (default: every key of the run)");
  AddExpOption(cmd, &args->exp);
  cmd->add_option("--points", args->points,
                  "Downsample each key to about N values (each bucket's first, min, max and "
                  "last, so spikes stay); 0: every value")
      // A size_t would take -3 as 2^64 - 3.
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.find('-') != std::string::npos ? "a count of values, 0 or more: " + v
                                                    : std::string();
          },
          "N"));
  cmd->add_option("--min-step", args->min_step, "Only values at this step or later");
  cmd->add_option("--max-step", args->max_step, "Only values at this step or earlier");
  cmd->add_option("--format", args->format,
                  "table (short floats), csv or jsonl (exact values, time_us)")
      ->check(CLI::IsMember({"table", "csv", "jsonl"}));
  return {cmd, [&common, args] { return RunMetrics(common, *args); }};
}

}  // namespace lumodb::cli

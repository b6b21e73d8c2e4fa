// Metric history end to end: real trainer processes (tests/helpers/
// series_logger) log 100,000 values with steps, are SIGKILLed in the
// middle, or leave a journal torn inside a MetricLog record; the index in a
// temporary folder must hold every value it should, in step order, once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "helpers/series_value.h"
#include "journal/format.h"
#include "journal/markers.h"
#include "journal/metric_log.h"
#include "journal/reader.h"
#include "journal_generated.h"
#include "lumodb/lumodb.h"
#include "test_util.h"
#include "util/aligned.h"

namespace lumodb {
namespace {

using nlohmann::json;
using testing::Child;
using testing::Clock;
using testing::CollectWarning;
using testing::DescribeWait;
using testing::TakeWarnings;

class MetricHistoryTest : public testing::ChildrenTest {
 protected:
  // series_logger EXP N, stdout captured; *test gets its test_name.
  Child Logger(const std::string& exp, long n, std::string* test) {
    Child c = Spawn("series_logger", {exp, std::to_string(n)}, /*capture_stdout=*/true);
    std::string line;
    EXPECT_TRUE(c.out->WaitFor("test_name ", &line)) << "series_logger did not start";
    *test = line.substr(line.rfind(' ') + 1);
    return c;
  }

  // loss and acc of one run, in that order.
  std::vector<MetricSeries> Series(Watcher* w, const std::string& exp, const std::string& test) {
    SeriesRequest req;
    req.runs = {{exp, test}};
    req.keys = {"loss", "acc"};
    std::vector<MetricSeries> out;
    Status s = w->metric_series(req, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (out.size() != 2) out.resize(2);
    return out;
  }
};

// loss holds exactly i = 0 .. n-1 (steps 10 i, SeriesValue(i)), acc i / total
// at step i, for the first n values a logger of `total` values logged.
void ExpectPrefix(const std::vector<MetricSeries>& s, size_t n, long total) {
  const MetricSeries& loss = s[0];
  ASSERT_EQ(loss.steps.size(), n);
  ASSERT_EQ(loss.values.size(), n);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(loss.steps[i], 10 * static_cast<int64_t>(i)) << "at " << i;
    ASSERT_EQ(loss.values[i], testing::SeriesValue(static_cast<long>(i))) << "at " << i;
  }
  const MetricSeries& acc = s[1];
  // acc(i) is logged right after loss(i): a flush may fall between them.
  ASSERT_TRUE(acc.steps.size() == n || acc.steps.size() + 1 == n) << acc.steps.size();
  for (size_t i = 0; i < acc.steps.size(); ++i) {
    ASSERT_EQ(acc.steps[i], static_cast<int64_t>(i));
    ASSERT_EQ(acc.values[i], static_cast<double>(i) / static_cast<double>(total));
  }
}

void ExpectSameSeries(const std::vector<MetricSeries>& a, const std::vector<MetricSeries>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(a[i].key);
    EXPECT_EQ(a[i].steps, b[i].steps);
    EXPECT_EQ(a[i].times_us, b[i].times_us);
    EXPECT_EQ(a[i].values, b[i].values);
  }
}

TEST_F(MetricHistoryTest, HundredThousandValuesOfARealTrainer) {
  constexpr long kN = 100000;
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t start = now_us();
  std::string test;
  Child c = Logger("hist.real", kN, &test);
  int status = Wait(c);
  const int64_t end = now_us();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeWait(status);

  auto w = OpenWatcher("index");
  ASSERT_TRUE(w->load().ok());
  std::vector<MetricSeries> s = Series(w.get(), "hist.real", test);
  ExpectPrefix(s, kN, kN);
  ASSERT_EQ(s[1].steps.size(), static_cast<size_t>(kN));
  json run = Retrieve(w.get(), "hist.real", test);
  EXPECT_EQ(run["status"], "finished");
  // lumo's best values are as before; the detail knows the last step.
  EXPECT_EQ(run["metrics"]["loss"], testing::SeriesValue(15877));
  EXPECT_EQ(run["metrics"]["acc"], static_cast<double>(kN - 1) / kN);
  EXPECT_EQ(run["metrics_detail"]["loss"]["last_step"], 10 * (kN - 1));
  EXPECT_EQ(run["metrics_detail"]["acc"]["last_step"], kN - 1);
  EXPECT_EQ(run["metrics_detail"]["acc"]["count"], kN);
  // Every value's time is the wall clock while the run lived (the ticking
  // clock of a fresh process reads the clock itself first).
  for (const MetricSeries& m : s) {
    EXPECT_GE(*std::min_element(m.times_us.begin(), m.times_us.end()), start - 20000);
    EXPECT_LE(*std::max_element(m.times_us.begin(), m.times_us.end()), end);
  }

  // The journal holds every value at under 16 bytes each, all records in.
  const double bytes_per_value =
      static_cast<double>(std::filesystem::file_size(JournalOf("hist.real", test))) / (2.0 * kN);
  EXPECT_LE(bytes_per_value, 16.0);
  RecordProperty("journal_bytes_per_value", std::to_string(bytes_per_value));

  auto rebuilt = OpenWatcher("rebuilt");
  ASSERT_TRUE(rebuilt->reindex().ok());
  ExpectSameSeries(Series(rebuilt.get(), "hist.real", test), s);
  EXPECT_EQ(TakeWarnings(), std::vector<std::string>());
}

// SIGKILL while the trainer logs and a Watcher loads in a loop: every value
// reported 200 ms before the kill is in the index, in step order, and a
// second load (or a rebuild) adds no duplicate.
TEST_F(MetricHistoryTest, SigkillInTheMiddleLosesNothingBeforeTheWindow) {
  constexpr long kTotal = 100000000;  // never reached
  std::mt19937 rng(std::random_device{}());
  const int delay_ms = std::uniform_int_distribution<int>(400, 900)(rng);
  std::string test;
  Child c = Logger("hist.kill", kTotal, &test);
  auto w = OpenWatcher("index");
  const auto kill_at = Clock::now() + std::chrono::milliseconds(delay_ms);
  int loads = 0;
  while (Clock::now() < kill_at) {
    Status s = w->load();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ++loads;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  const Clock::time_point kill_time = Clock::now();
  ASSERT_EQ(::kill(c.pid, SIGKILL), 0);
  int status = Wait(c);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << DescribeWait(status);
  c.out->Join();

  long safe = -1, last = -1;  // i reported at least 200 ms before the kill; any i
  for (const auto& [t, line] : c.out->Lines()) {
    if (line.rfind("test_name ", 0) == 0) continue;
    const long i = std::stol(line);
    last = std::max(last, i);
    if (kill_time - t >= std::chrono::milliseconds(200)) safe = std::max(safe, i);
  }
  ASSERT_GE(safe, 0) << "nothing reported before the window; delay " << delay_ms << " ms";

  ASSERT_TRUE(w->load().ok());
  std::vector<MetricSeries> s = Series(w.get(), "hist.kill", test);
  const size_t n = s[0].steps.size();
  EXPECT_GE(n, static_cast<size_t>(safe + 1)) << "lost values older than the flush window";
  // Never more than the child could have logged: up to 100 after its last report.
  EXPECT_LE(n, static_cast<size_t>(last + 101));
  ExpectPrefix(s, n, kTotal);  // in step order, no gap, no duplicate
  json run = Retrieve(w.get(), "hist.kill", test);
  EXPECT_EQ(run["status"], "killed");
  EXPECT_LE(run["metrics_detail"]["loss"]["count"].get<size_t>(), n);
  RecordProperty("loads_while_logging", loads);
  RecordProperty("values_kept", static_cast<int>(n));

  ASSERT_TRUE(w->load().ok());
  ExpectSameSeries(Series(w.get(), "hist.kill", test), s);
  auto rebuilt = OpenWatcher("rebuilt");
  ASSERT_TRUE(rebuilt->reindex().ok());
  ExpectSameSeries(Series(rebuilt.get(), "hist.kill", test), s);
  for (const std::string& warning : TakeWarnings()) {
    EXPECT_NE(warning.find("torn tail"), std::string::npos) << warning;
  }
}

struct FrameSeen {
  uint64_t offset;
  size_t length;
  fbs::Event type;
  size_t loss_values;  // in a MetricLog record
};

std::vector<FrameSeen> Frames(const std::string& path) {
  std::vector<FrameSeen> frames;
  Aligned aligned;
  JournalReadResult res;
  Status s = ReadJournal(
      path, 0, true, nullptr,
      [&](uint64_t, uint64_t offset, std::string_view payload) {
        const auto* ev = fbs::GetRunEvent(aligned.Get(payload));
        FrameSeen f{offset, payload.size(), ev->event_type(), 0};
        if (ev->event_type() == fbs::Event::MetricLog) {
          for (const fbs::MetricPoints* m : *ev->event_as_MetricLog()->metrics()) {
            if (m->key()->str() == "loss") f.loss_values += m->values()->size();
          }
        }
        frames.push_back(f);
        return Status::OK();
      },
      &res);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return frames;
}

// A journal cut in the middle of a MetricLog record (the trainer died while
// writing it): the values of the records before it are kept, in order, the
// rest is one torn tail, reported once, by a rebuild and by a load alike.
TEST_F(MetricHistoryTest, TornTailInsideASeriesRecord) {
  std::string test;
  Child c = Logger("hist.torn", 30000, &test);
  int status = Wait(c);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeWait(status);
  const std::string path = JournalOf("hist.torn", test);
  std::vector<FrameSeen> frames = Frames(path);
  std::vector<size_t> logs;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].type == fbs::Event::MetricLog) logs.push_back(i);
  }
  ASSERT_GE(logs.size(), 2u) << "the logger wrote its values in one flush";
  const FrameSeen cut = frames[logs.back()];
  size_t kept = 0;
  for (size_t i : logs) {
    if (i != logs.back()) kept += frames[i].loss_values;
  }
  ASSERT_GT(cut.loss_values, 0u);
  ASSERT_EQ(::truncate(path.c_str(),
                       static_cast<off_t>(cut.offset + journal::kHeaderSize + cut.length / 2)),
            0);
  const std::string torn = path + ": torn tail at offset " + std::to_string(cut.offset);

  for (const char* how : {"reindex", "load"}) {
    SCOPED_TRACE(how);
    auto w = OpenWatcher(std::string("index-") + how);
    Status s = std::string(how) == "reindex" ? w->reindex() : w->load();
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> warnings = TakeWarnings();
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find(torn), std::string::npos) << warnings[0];
    ExpectPrefix(Series(w.get(), "hist.torn", test), kept, 30000);
    EXPECT_EQ(Retrieve(w.get(), "hist.torn", test)["status"], "killed");
    ASSERT_TRUE(w->load().ok());
    EXPECT_EQ(TakeWarnings(), std::vector<std::string>()) << "reported once";
    ExpectPrefix(Series(w.get(), "hist.torn", test), kept, 30000);
  }
}

}  // namespace
}  // namespace lumodb

// Tests for Watcher::metric_series and the metric_log family behind it
// (engine/src/index/series_store.cc, series_query.cc, downsample.cc): runs
// recorded in this process through Experiment, loaded into a real RocksDB
// index in a temporary folder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

void FailOnWarning(const std::string& message) {
  ADD_FAILURE() << "unexpected watcher warning: " << message;
}

class MetricSeriesTest : public testing::InProcessTest {
 protected:
  std::unique_ptr<Experiment> Start(const std::string& exp_name) {
    auto e = std::make_unique<Experiment>(exp_name, roots_, ExperimentOptions{});
    Status s = e->start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return e;
  }

  std::unique_ptr<Watcher> OpenWatcher(const std::string& db = "db") {
    WatcherOptions options;
    options.db_path = dir_ / db;
    options.warn = FailOnWarning;
    std::unique_ptr<Watcher> w;
    Status s = Watcher::Open(roots_, options, &w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }

  // One series, asserting the call succeeds and returns exactly one.
  static MetricSeries One(Watcher* w, const std::string& exp, const std::string& test,
                          const std::string& key, size_t points = 0,
                          int64_t min_step = std::numeric_limits<int64_t>::min(),
                          int64_t max_step = std::numeric_limits<int64_t>::max()) {
    SeriesRequest req;
    req.runs = {{exp, test}};
    req.keys = {key};
    req.points = points;
    req.min_step = min_step;
    req.max_step = max_step;
    std::vector<MetricSeries> out;
    Status s = w->metric_series(req, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? MetricSeries() : out[0];
  }

  static json Retrieve(Watcher* w, const std::string& test, const std::string& exp) {
    std::string text;
    Status s = w->retrieve(test, exp, &text);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? json::parse(text) : json();
  }
};

std::map<int64_t, double> AsMap(const MetricSeries& s) {
  std::map<int64_t, double> m;
  for (size_t i = 0; i < s.steps.size(); ++i) m[s.steps[i]] = s.values[i];
  return m;
}

void ExpectStrictlyIncreasing(const std::vector<int64_t>& steps) {
  for (size_t i = 1; i < steps.size(); ++i) {
    ASSERT_LT(steps[i - 1], steps[i]) << "at index " << i;
  }
}

TEST_F(MetricSeriesTest, DefaultStepIsTheCountSoFarAndEveryValueIsKept) {
  auto e = Start("hist.default");
  const int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  for (double v : {0.5, 0.7, 0.6}) e->dump_metric("acc", v, Cmp::Max);
  e->dump_metrics({{"a", 1.0}, {"b", 2.0}}, Cmp::None, 40);
  e->dump_metrics({{"a", 3.0}});
  ASSERT_TRUE(e->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());

  MetricSeries acc = One(w.get(), "hist.default", e->test_name(), "acc");
  EXPECT_EQ(acc.steps, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(acc.values, (std::vector<double>{0.5, 0.7, 0.6}));
  EXPECT_EQ(acc.total_points, 3u);
  EXPECT_FALSE(acc.downsampled);
  ASSERT_EQ(acc.times_us.size(), 3u);
  for (int64_t t : acc.times_us) {
    // The ticking clock lags by a tick, more on a loaded machine.
    EXPECT_GE(t, before - 1000000);
    EXPECT_LE(t, before + 60 * 1000000);
  }
  // dump_metrics: one step for all; then the count so far (1 value of a).
  MetricSeries a = One(w.get(), "hist.default", e->test_name(), "a");
  EXPECT_EQ(a.steps, (std::vector<int64_t>{1, 40}));
  EXPECT_EQ(a.values, (std::vector<double>{3.0, 1.0}));
  EXPECT_EQ(One(w.get(), "hist.default", e->test_name(), "b").steps, std::vector<int64_t>{40});

  json run = Retrieve(w.get(), e->test_name(), "hist.default");
  EXPECT_EQ(run["metrics"]["acc"], 0.7) << "the best value stays lumo's";
  EXPECT_EQ(run["metrics_detail"]["acc"]["last_step"], 2);
  EXPECT_EQ(run["metrics_detail"]["a"]["last_step"], 1);
  EXPECT_EQ(run["metrics_detail"]["b"]["last_step"], 40);
  EXPECT_EQ(json::parse(e->properties())["metrics_detail"]["acc"]["last_step"], 2);
}

// Steps that repeat or go back (a trainer resumed from a checkpoint): one
// value per step, the later one, in step order, across blocks and loads.
TEST_F(MetricSeriesTest, RepeatedAndBackwardStepsKeepTheLaterValueInStepOrder) {
  auto e = Start("hist.back");
  auto w = OpenWatcher();
  std::map<int64_t, double> want;
  auto log = [&](int64_t step, double v) {
    e->dump_metric("loss", v, Cmp::Min, "", step);
    want[step] = v;
  };
  for (int64_t s = 0; s < 2000; ++s) log(s, static_cast<double>(s));
  ASSERT_TRUE(e->flush().ok());
  ASSERT_TRUE(w->load().ok());
  // Resumed at 700: overwrites 700..1299, inside stored blocks.
  for (int64_t s = 700; s < 1300; ++s) log(s, -static_cast<double>(s));
  ASSERT_TRUE(e->flush().ok());
  ASSERT_TRUE(w->load().ok());
  // Before the first step, the same step twice in one flush, past the end.
  log(-5, 5.5);
  log(3000, 1.0);
  log(3000, 2.0);
  log(1999, 9.0);
  log(2500, 3.0);
  ASSERT_TRUE(e->end().ok());
  ASSERT_TRUE(w->load().ok());

  MetricSeries s = One(w.get(), "hist.back", e->test_name(), "loss");
  ExpectStrictlyIncreasing(s.steps);
  EXPECT_EQ(AsMap(s), want);
  EXPECT_EQ(s.total_points, want.size());
  json run = Retrieve(w.get(), e->test_name(), "hist.back");
  EXPECT_EQ(run["metrics_detail"]["loss"]["last_step"], 2500) << "the step of the last call";
  EXPECT_EQ(run["metrics_detail"]["loss"]["count"], 2605);

  // The index is derived: a rebuild from the journal alone says the same.
  auto rebuilt = OpenWatcher("rebuilt");
  ASSERT_TRUE(rebuilt->reindex().ok());
  MetricSeries r = One(rebuilt.get(), "hist.back", e->test_name(), "loss");
  EXPECT_EQ(r.steps, s.steps);
  EXPECT_EQ(r.values, s.values);
  EXPECT_EQ(r.times_us, s.times_us);
  // Downsampled reads see the merged blocks' summaries.
  MetricSeries d = One(w.get(), "hist.back", e->test_name(), "loss", 40);
  EXPECT_TRUE(d.downsampled);
  EXPECT_EQ(d.steps.front(), -5);
  EXPECT_EQ(d.steps.back(), 3000);
  EXPECT_NE(std::find(d.values.begin(), d.values.end(), -1299.0), d.values.end());
  EXPECT_NE(std::find(d.values.begin(), d.values.end(), 1998.0), d.values.end()) << "the max";
  EXPECT_EQ(std::find(d.values.begin(), d.values.end(), 1999.0), d.values.end())
      << "a value overwritten at its step";
}

TEST_F(MetricSeriesTest, DownsamplingKeepsTheGlobalMinAndMaxAndTheEnds) {
  auto e = Start("hist.down");
  std::mt19937_64 rng(12345);
  std::normal_distribution<double> noise(0, 1);
  constexpr int64_t kN = 100000;
  std::vector<double> values(kN);
  for (int64_t i = 0; i < kN; ++i) values[i] = noise(rng);
  values[31337] = 50;   // a spike up
  values[77777] = -50;  // and one down
  values[kN - 1] = std::nan("");
  for (int64_t i = 0; i < kN; ++i) e->dump_metric("grad", values[i], Cmp::None, "", 3 * i);
  ASSERT_TRUE(e->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  const std::string& test = e->test_name();

  MetricSeries all = One(w.get(), "hist.down", test, "grad");
  ASSERT_EQ(all.values.size(), static_cast<size_t>(kN));
  std::map<int64_t, double> full = AsMap(all);

  for (size_t points : {1000u, 100u, 7u}) {
    SCOPED_TRACE(points);
    MetricSeries d = One(w.get(), "hist.down", test, "grad", points);
    EXPECT_TRUE(d.downsampled);
    EXPECT_EQ(d.total_points, static_cast<size_t>(kN));
    EXPECT_LE(d.values.size(), std::max<size_t>(points, 4));
    EXPECT_GE(d.values.size(), std::min<size_t>(points / 2, 4));
    ExpectStrictlyIncreasing(d.steps);
    EXPECT_EQ(d.steps.front(), 0);
    EXPECT_EQ(d.steps.back(), 3 * (kN - 1));
    for (size_t i = 0; i < d.steps.size(); ++i) {
      // Every value shown is one that was logged, at its own step.
      ASSERT_EQ(full.count(d.steps[i]), 1u);
      const double v = full[d.steps[i]];
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(d.values[i]));
      } else {
        EXPECT_EQ(d.values[i], v);
      }
    }
    auto at = [&](int64_t step) {
      auto it = std::find(d.steps.begin(), d.steps.end(), step);
      return it == d.steps.end() ? std::nan("") : d.values[it - d.steps.begin()];
    };
    EXPECT_EQ(at(3 * 31337), 50) << "the global max";
    EXPECT_EQ(at(3 * 77777), -50) << "the global min";
  }
  // A step range: only values inside, and the range's own extremes.
  MetricSeries part = One(w.get(), "hist.down", test, "grad", 200, 3 * 30000, 3 * 40000);
  ASSERT_FALSE(part.steps.empty());
  EXPECT_EQ(part.steps.front(), 3 * 30000);
  EXPECT_EQ(part.steps.back(), 3 * 40000);
  EXPECT_EQ(part.total_points, 10001u);
  EXPECT_NE(std::find(part.values.begin(), part.values.end(), 50.0), part.values.end());
  MetricSeries range = One(w.get(), "hist.down", test, "grad", 0, 3 * 30000 + 1, 3 * 30003);
  EXPECT_EQ(range.steps, (std::vector<int64_t>{3 * 30001, 3 * 30002, 3 * 30003}));
  // More points than values: all of them, not downsampled.
  MetricSeries few = One(w.get(), "hist.down", test, "grad", 20, 0, 30);
  EXPECT_FALSE(few.downsampled);
  EXPECT_EQ(few.values.size(), 11u);
}

TEST_F(MetricSeriesTest, SeveralRunsAndKeysInOneCall) {
  auto a = Start("hist.many");
  auto b = Start("hist.other");
  a->dump_metric("acc", 0.1);
  a->dump_metric("loss", 1.0);
  a->dump_metric("loss", 0.5);
  b->dump_metric("acc", 0.9);
  ASSERT_TRUE(a->end().ok());
  ASSERT_TRUE(b->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());

  SeriesRequest req;
  req.runs = {{"", b->test_name()}, {"hist.many", a->test_name()}};
  std::vector<MetricSeries> out;
  ASSERT_TRUE(w->metric_series(req, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].exp_name, "hist.other") << "found from the test_name alone";
  EXPECT_EQ(out[0].key, "acc");
  EXPECT_EQ(out[0].values, std::vector<double>{0.9});
  EXPECT_EQ(out[1].key, "acc");
  EXPECT_EQ(out[2].key, "loss");
  EXPECT_EQ(out[2].test_name, a->test_name());
  EXPECT_EQ(out[2].values, (std::vector<double>{1.0, 0.5}));

  req.keys = {"loss"};
  req.runs = {{"hist.many", a->test_name()}};
  ASSERT_TRUE(w->metric_series(req, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "loss");
}

TEST_F(MetricSeriesTest, ErrorsNameTheRunOrKeyAtFault) {
  const std::string test = "240101.001.a1t";
  ::setenv("LUMO_EXP_TEST_NAME", test.c_str(), 1);
  auto a = Start("alpha");
  auto b = Start("beta");
  ::unsetenv("LUMO_EXP_TEST_NAME");
  a->dump_metric("acc", 0.5);
  ASSERT_TRUE(a->end().ok());
  ASSERT_TRUE(b->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  std::vector<MetricSeries> out;
  SeriesRequest req;

  req.runs = {{"", test}};
  Status s = w->metric_series(req, &out);
  EXPECT_EQ(s.code(), Status::Code::kAmbiguous) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("alpha/" + test));
  EXPECT_THAT(s.message(), HasSubstr("beta/" + test));

  req.runs = {{"", "991231.001.zzt"}};
  s = w->metric_series(req, &out);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("991231.001.zzt"));

  req.runs = {{"gamma", test}};
  s = w->metric_series(req, &out);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("gamma/" + test));

  req.runs = {{"alpha", test}};
  req.keys = {"acc", "nope"};
  s = w->metric_series(req, &out);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("'nope'"));
  EXPECT_THAT(s.message(), HasSubstr("alpha/" + test));

  req.keys = {};
  req.runs = {{"beta", test}};
  ASSERT_TRUE(w->metric_series(req, &out).ok());
  EXPECT_TRUE(out.empty()) << "a run without metrics has no series";

  req.runs = {{"alpha", test}};
  req.min_step = 5;
  req.max_step = 4;
  EXPECT_TRUE(w->metric_series(req, &out).IsInvalidArgument());
}

// lumo keeps one value per metric (metric.pkl): an imported run's history
// is that value, at step 0, and a re-import does not add to it.
TEST_F(MetricSeriesTest, ImportedLumoRunsHaveOnePointPerMetric) {
  const std::string home = dir_ / "lumo-home";
  std::filesystem::copy(testing::FixturesDir() + "/lumo-home", home,
                        std::filesystem::copy_options::recursive);
  auto w = OpenWatcher();
  ImportReport report;
  ASSERT_TRUE(w->import_lumo({home}, "", &report).ok());
  ImportOptions again;
  again.full_check = true;
  ASSERT_TRUE(w->import_lumo({home}, again, &report).ok());
  std::vector<std::string> runs;
  ASSERT_TRUE(w->query(Query(), &runs).ok());
  size_t checked = 0;
  for (const std::string& text : runs) {
    json run = json::parse(text);
    if (!run.contains("metrics_detail")) continue;
    SeriesRequest req;
    req.runs = {{run["exp_name"], run["test_name"]}};
    std::vector<MetricSeries> out;
    ASSERT_TRUE(w->metric_series(req, &out).ok());
    ASSERT_EQ(out.size(), run["metrics_detail"].size());
    for (const MetricSeries& s : out) {
      SCOPED_TRACE(s.test_name + " " + s.key);
      EXPECT_EQ(s.steps, std::vector<int64_t>{0});
      ASSERT_EQ(s.values.size(), 1u);
      EXPECT_EQ(s.values[0], run["metrics"][s.key].get<double>());
      EXPECT_EQ(run["metrics_detail"][s.key]["last_step"], 0);
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u) << "the fixtures hold metric.pkl files";
}

// An index made before the metric_log family existed opens, for reading
// (the lazy reader becomes the writer that adds the family) and for loads.
TEST_F(MetricSeriesTest, AnIndexFromBeforeMetricHistoryOpens) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : {"default", "experiments", "info", "text", "metrics", "reruns",
                             "by_test", "fields", "meta"}) {
      families.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::DBOptions(options), dir_ / "db", families, &handles, &db).ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  auto e = Start("hist.old");
  e->dump_metric("acc", 0.5);
  ASSERT_TRUE(e->end().ok());
  WatcherOptions options;
  options.db_path = dir_ / "db";
  options.warn = FailOnWarning;
  options.lazy_writer = true;  // as the CLI opens it
  std::unique_ptr<Watcher> w;
  Status s = Watcher::Open(roots_, options, &w);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(One(w.get(), "hist.old", e->test_name(), "acc").values, std::vector<double>{0.5});
}

}  // namespace
}  // namespace lumodb

// Tests for engine/src/watcher.cc: runs recorded by real Experiments in this
// process, indexed by a real RocksDB Watcher in a temporary folder.
#include "lumodb/watcher.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "index/filter.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Warnings (torn tails, corrupt records) never happen in these tests; a
// Watcher that waits for another one's writer lock says so, as it should.
void FailOnWarning(const std::string& message) {
  if (message.rfind("waiting for the index ", 0) == 0) return;
  ADD_FAILURE() << "unexpected watcher warning: " << message;
}

// Test_names are unique within an exp_name only (lumo's NNN counts per
// exp_name, XX is random), so runs of several exp_names are retrieved with
// their exp_name unless the test is about test_name lookups.
class WatcherTest : public testing::InProcessTest {
 protected:
  std::unique_ptr<Experiment> Run(const std::string& exp_name) {
    return std::make_unique<Experiment>(exp_name, roots_, ExperimentOptions{});
  }

  std::unique_ptr<Watcher> OpenWatcher(bool read_only = false) {
    WatcherOptions options;
    options.writer_wait_ms = 500;  // tests never wait long for another writer
    options.db_path = dir_ / "db";
    options.read_only = read_only;
    options.warn = FailOnWarning;
    std::unique_ptr<Watcher> w;
    Status s = Watcher::Open(roots_, options, &w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }

  static json Retrieve(Watcher* w, const std::string& test,
                       const std::string& exp = "") {
    std::string text;
    Status s = w->retrieve(test, exp, &text);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? json::parse(text) : json();
  }

};

// "exp/test" of each run, in order.
std::vector<std::string> Names(const std::vector<std::string>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) {
    json j = json::parse(r);
    out.push_back(j["exp_name"].get<std::string>() + "/" +
                  j["test_name"].get<std::string>());
  }
  return out;
}

// --- load ---

TEST_F(WatcherTest, SecondLoadWithNothingChangedReadsNoJournal) {
  std::vector<std::string> tests;
  for (const char* exp : {"mnist", "cifar"}) {
    auto e = Run(exp);
    ASSERT_TRUE(e->start().ok());
    e->dump_info("params", R"({"lr": 0.1})");
    e->dump_metric("acc", 0.5, Cmp::Max);
    ASSERT_TRUE(e->end().ok());
    tests.push_back(e->test_name());
  }
  auto w = OpenWatcher();
  LoadStats first;
  ASSERT_TRUE(w->load(&first).ok());
  EXPECT_EQ(first.markers, 2u);
  EXPECT_EQ(first.runs_read, 2u);
  EXPECT_GT(first.records_applied, 0u);
  EXPECT_EQ(first.corrupt_records, 0u);

  const uint64_t seq = w->sequence();
  LoadStats second;
  ASSERT_TRUE(w->load(&second).ok());
  EXPECT_EQ(second.markers, 2u);
  EXPECT_EQ(second.runs_read, 0u);
  EXPECT_EQ(second.records_applied, 0u);
  EXPECT_EQ(second.bytes_read, 0u);
  EXPECT_EQ(w->sequence(), seq) << "a load with nothing new wrote the index";
  EXPECT_EQ(Retrieve(w.get(), tests[0], "mnist")["status"], "finished");
}

TEST_F(WatcherTest, LoadReadsOnlyTheRunThatWroteAndOnlyItsNewRecords) {
  auto done = Run("done");
  ASSERT_TRUE(done->start().ok());
  ASSERT_TRUE(done->end().ok());
  auto live = Run("live");
  ASSERT_TRUE(live->start().ok());
  live->dump_metric("acc", 0.5, Cmp::Max);
  ASSERT_TRUE(live->flush().ok());

  auto w = OpenWatcher();
  LoadStats first;
  ASSERT_TRUE(w->load(&first).ok());
  EXPECT_EQ(first.runs_read, 2u);
  const size_t whole_journal = first.bytes_read;
  EXPECT_EQ(Retrieve(w.get(), live->test_name(), "live")["metrics"]["acc"], 0.5);
  EXPECT_EQ(Retrieve(w.get(), live->test_name(), "live")["status"], "running");

  live->dump_metric("acc", 0.75, Cmp::Max);
  ASSERT_TRUE(live->flush().ok());
  LoadStats next;
  ASSERT_TRUE(w->load(&next).ok());
  EXPECT_EQ(next.markers, 2u);
  EXPECT_EQ(next.runs_read, 1u);
  // The value's MetricLog record and the one coalesced Metric record.
  EXPECT_EQ(next.records_applied, 2u);
  EXPECT_GT(next.bytes_read, 0u);
  EXPECT_LT(next.bytes_read, 400u);
  EXPECT_LT(next.bytes_read, whole_journal);
  json run = Retrieve(w.get(), live->test_name(), "live");
  EXPECT_EQ(run["metrics"]["acc"], 0.75);
  EXPECT_EQ(run["metrics_detail"]["acc"]["count"], 2);

  ASSERT_TRUE(live->end().ok());
  LoadStats last;
  ASSERT_TRUE(w->load(&last).ok());
  EXPECT_EQ(last.runs_read, 1u);
  EXPECT_EQ(Retrieve(w.get(), live->test_name(), "live")["status"], "finished");
}

// --- retrieve ---

TEST_F(WatcherTest, RetrieveByTestNameAlone) {
  auto e = Run("mnist.mlp");
  ASSERT_TRUE(e->start().ok());
  e->dump_note("first try");
  e->dump_tags({"baseline", "cpu"});
  ASSERT_TRUE(e->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), e->test_name());
  EXPECT_EQ(run["exp_name"], "mnist.mlp");
  EXPECT_EQ(run["test_name"], e->test_name());
  EXPECT_EQ(run["note"], "first try");
  EXPECT_EQ(run["tags"], json({"baseline", "cpu"}));
  EXPECT_EQ(run["progress"]["ratio"], 1.0);
  EXPECT_EQ(run["progress"]["end_code"], 0);
  EXPECT_EQ(run["info_dir"], roots_.info_root + "/mnist.mlp/" + e->test_name());

  std::string text;
  Status s = w->retrieve("991231.001.zzt", "", &text);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("991231.001.zzt"));
}

TEST_F(WatcherTest, SameTestNameUnderTwoExpNamesIsAmbiguous) {
  const std::string test = "240101.001.a1t";
  ::setenv("LUMO_EXP_TEST_NAME", test.c_str(), 1);
  auto a = Run("alpha");
  auto b = Run("beta");
  ASSERT_TRUE(a->start().ok()) << a->status().ToString();
  ASSERT_TRUE(b->start().ok()) << b->status().ToString();
  ::unsetenv("LUMO_EXP_TEST_NAME");
  EXPECT_EQ(a->test_name(), test);
  EXPECT_EQ(b->test_name(), test);
  a->dump_note("a");
  b->dump_note("b");
  ASSERT_TRUE(a->end().ok());
  ASSERT_TRUE(b->end().ok());

  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  std::string text;
  std::vector<std::string> candidates;
  Status s = w->retrieve(test, "", &text, &candidates);
  EXPECT_EQ(s.code(), Status::Code::kAmbiguous) << s.ToString();
  EXPECT_THAT(candidates, UnorderedElementsAre("alpha/" + test, "beta/" + test));
  EXPECT_THAT(s.message(), HasSubstr("alpha/" + test));
  EXPECT_THAT(s.message(), HasSubstr("beta/" + test));

  EXPECT_EQ(Retrieve(w.get(), test, "alpha")["note"], "a");
  EXPECT_EQ(Retrieve(w.get(), test, "beta")["note"], "b");
  s = w->retrieve(test, "gamma", &text);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();

  // Both runs are rows of their own in queries too.
  std::vector<std::string> runs;
  ASSERT_TRUE(w->query(Query{}, &runs).ok());
  EXPECT_THAT(Names(runs), UnorderedElementsAre("alpha/" + test, "beta/" + test));
}

// --- query ---

struct Spec {
  std::string exp;
  std::string params;  // JSON
  double acc;          // < 0: no acc metric
  std::string note;
  int code;
};

class QueryTest : public WatcherTest {
 protected:
  void SetUp() override {
    WatcherTest::SetUp();
    const Spec specs[] = {
        {"mnist", R"({"lr": 0.1, "seed": 1, "layers": [64, 32], "opt": {"name": "sgd"}, "warm": true})",
         0.80, "bravo", 0},
        {"mnist", R"({"lr": 0.01, "seed": 2, "layers": [128], "opt": {"name": "adam"}, "warm": 3})",
         0.91, "alpha", 0},
        {"mnist", R"({"lr": 0.001, "seed": 3, "layers": [32, 32, 32]})", -1, "delta", 1},
        {"cifar", R"({"lr": 0.05, "seed": 1, "layers": [256, 1], "warm": "yes"})", 0.75, "charlie", 0},
        {"cifar", R"({"lr": 0.2, "seed": 2, "layers": [16], "warm": false})", 0.95, "echo", 0},
        {"mnist-big", R"({"lr": 0.02, "seed": 4})", 0.60, "foxtrot", 0},
    };
    for (const Spec& spec : specs) {
      auto e = Run(spec.exp);
      ASSERT_TRUE(e->start().ok());
      ASSERT_TRUE(e->dump_info("params", spec.params).ok());
      if (spec.acc >= 0) e->dump_metric("acc", spec.acc, Cmp::Max);
      e->dump_note(spec.note);
      ASSERT_TRUE(e->end(spec.code).ok());
      names_.push_back(spec.exp + "/" + e->test_name());
    }
    watcher_ = OpenWatcher();
    ASSERT_TRUE(watcher_->load().ok());
    for (const std::string& name : names_) {
      size_t slash = name.find('/');
      all_.push_back(Retrieve(watcher_.get(), name.substr(slash + 1),
                              name.substr(0, slash)));
    }
  }

  // The same query answered by brute force over every run's JSON.
  std::vector<std::string> Expected(const Query& q) {
    std::vector<CompiledFilter> filters;
    std::vector<Filter> all = q.filters;
    if (!q.status.empty()) all.push_back(Filter{"status", "==", q.status});
    for (const Filter& f : all) {
      CompiledFilter c;
      EXPECT_TRUE(CompiledFilter::Compile(f, &c).ok());
      filters.push_back(c);
    }
    std::vector<json> matching;
    for (const json& run : all_) {
      if (!q.exp_name.empty() && run["exp_name"] != q.exp_name) continue;
      bool ok = true;
      for (const auto& f : filters) ok = ok && f.Matches(run);
      if (ok) matching.push_back(run);
    }
    auto key = [](const json& r) {
      return r["exp_name"].get<std::string>() + std::string(1, '\0') +
             r["test_name"].get<std::string>();
    };
    std::sort(matching.begin(), matching.end(), [&](const json& a, const json& b) {
      const json* va = LookupPath(a, q.sort_field);
      const json* vb = LookupPath(b, q.sort_field);
      if ((va == nullptr) != (vb == nullptr)) return va != nullptr;
      if (va != nullptr) {
        int c = CompareJson(*va, *vb);
        if (c != 0) return q.descending ? c > 0 : c < 0;
      }
      return key(a) < key(b);  // runs lacking the field: in key order
    });
    matching.erase(matching.begin(),
                   matching.begin() + static_cast<long>(std::min(q.offset, matching.size())));
    if (q.limit != 0 && matching.size() > q.limit) matching.resize(q.limit);
    std::vector<std::string> out;
    for (const json& r : matching) out.push_back(r.dump());
    return Names(out);
  }

  std::vector<std::string> Ask(const Query& q) {
    std::vector<std::string> runs;
    Status s = watcher_->query(q, &runs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return Names(runs);
  }

  static Query Make(std::vector<std::string> filters, std::string exp = "",
                    std::string sort = "", bool desc = false, size_t limit = 0,
                    std::string status = "") {
    Query q;
    for (const auto& text : filters) {
      Filter f;
      Status s = Filter::Parse(text, &f);
      EXPECT_TRUE(s.ok()) << s.ToString();
      q.filters.push_back(f);
    }
    q.exp_name = std::move(exp);
    q.sort_field = std::move(sort);
    q.descending = desc;
    q.limit = limit;
    q.status = std::move(status);
    return q;
  }

  std::string Name(size_t i) const { return names_[i]; }

  std::vector<std::string> names_;  // "exp/test", in the order of the specs
  std::vector<json> all_;
  std::unique_ptr<Watcher> watcher_;
};

TEST_F(QueryTest, FiltersSelectTheRightRuns) {
  EXPECT_THAT(Ask(Make({"params.seed == 1"})), UnorderedElementsAre(Name(0), Name(3)));
  EXPECT_THAT(Ask(Make({"params.lr < 0.05"})),
              UnorderedElementsAre(Name(1), Name(2), Name(5)));
  EXPECT_THAT(Ask(Make({"params.lr > 0.05"})), UnorderedElementsAre(Name(0), Name(4)));
  EXPECT_THAT(Ask(Make({"exp_name ~ ^mnist"})),
              UnorderedElementsAre(Name(0), Name(1), Name(2), Name(5)));
  EXPECT_THAT(Ask(Make({"exp_name ~ ^mnist$"})),
              UnorderedElementsAre(Name(0), Name(1), Name(2)));
  EXPECT_THAT(Ask(Make({}, "", "", false, 0, "failed")), UnorderedElementsAre(Name(2)));
  EXPECT_THAT(Ask(Make({"status == finished", "metrics.acc >= 0.8"})),
              UnorderedElementsAre(Name(0), Name(1), Name(4)));
  EXPECT_THAT(Ask(Make({"params.opt.name == adam"})), UnorderedElementsAre(Name(1)));
  // --exp is the exact exp_name, not a prefix: mnist-big stays out.
  EXPECT_THAT(Ask(Make({}, "mnist")),
              UnorderedElementsAre(Name(0), Name(1), Name(2)));
  EXPECT_THAT(Ask(Make({}, "nothing")), ::testing::IsEmpty());
}

TEST_F(QueryTest, SortByIndexedMetricPutsRunsWithoutItLast) {
  EXPECT_EQ(Ask(Make({}, "", "metrics.acc", false)),
            (std::vector<std::string>{Name(5), Name(3), Name(0), Name(1), Name(4),
                                      Name(2)}));
  EXPECT_EQ(Ask(Make({}, "", "metrics.acc", true)),
            (std::vector<std::string>{Name(4), Name(1), Name(0), Name(3), Name(5),
                                      Name(2)}));
  EXPECT_EQ(Ask(Make({}, "", "metrics.acc", true, 3)),
            (std::vector<std::string>{Name(4), Name(1), Name(0)}));
  EXPECT_EQ(Ask(Make({}, "mnist", "metrics.acc", true, 0)),
            (std::vector<std::string>{Name(1), Name(0), Name(2)}));
}

TEST_F(QueryTest, SortByFieldsTheIndexDoesNotHold) {
  EXPECT_EQ(Ask(Make({}, "", "note", false)),
            (std::vector<std::string>{Name(1), Name(0), Name(3), Name(2), Name(4),
                                      Name(5)}));
  EXPECT_EQ(Ask(Make({}, "", "note", true, 2)),
            (std::vector<std::string>{Name(5), Name(4)}));
  // A list param: compared by its JSON text; the run without one comes last.
  EXPECT_EQ(Ask(Make({}, "", "params.layers", false)), Expected(Make({}, "", "params.layers")));
  std::vector<std::string> desc = Ask(Make({}, "", "params.layers", true));
  EXPECT_EQ(desc, Expected(Make({}, "", "params.layers", true)));
  ASSERT_FALSE(desc.empty());
  EXPECT_EQ(desc.back(), Name(5));
  EXPECT_EQ(Ask(Make({}, "", "params.layers", true, 2)),
            Expected(Make({}, "", "params.layers", true, 2)));
  // Mixed types order as CompareJson says: bool < number < string.
  EXPECT_EQ(Ask(Make({}, "", "params.warm", false)),
            (std::vector<std::string>{Name(4), Name(0), Name(1), Name(3), Name(2),
                                      Name(5)}));
  EXPECT_EQ(Ask(Make({}, "", "params.warm", true, 2)),
            (std::vector<std::string>{Name(3), Name(1)}));
}

TEST_F(QueryTest, EveryQueryEqualsBruteForce) {
  const std::vector<std::vector<std::string>> filter_sets = {
      {},
      {"params.seed == 1"},
      {"params.lr <= 0.05"},
      {"exp_name ~ mnist"},
      {"status != failed"},
      {"metrics.acc > 0.7", "params.seed != 2"},
      {"note ~ ^[a-d]"},
  };
  const std::vector<std::string> sorts = {"metrics.acc", "params.lr", "params.seed2",
                                          "note",        "params.layers",
                                          "params.opt.name", "params.warm", "test_name"};
  int checked = 0;
  for (const auto& filters : filter_sets) {
    for (const char* exp : {"", "mnist", "cifar"}) {
      for (const std::string& sort : sorts) {
        for (bool desc : {false, true}) {
          for (size_t limit : {0, 1, 3}) {
            for (size_t offset : {0, 2}) {
              Query q = Make(filters, exp, sort, desc, limit);
              q.offset = offset;
              EXPECT_EQ(Ask(q), Expected(q))
                  << "filters " << ::testing::PrintToString(filters) << " exp '" << exp
                  << "' sort " << (desc ? "-" : "") << sort << " limit " << limit << " offset "
                  << offset;
              checked++;
            }
          }
        }
      }
      // Default order (newest first) has ties within a second; compare sets.
      Query q = Make(filters, exp);
      std::vector<std::string> got = Ask(q), want = Expected(q);
      std::sort(got.begin(), got.end());
      std::sort(want.begin(), want.end());
      EXPECT_EQ(got, want);
    }
  }
  EXPECT_GT(checked, 1000);
}

// The bulk read: rows with typed columns, the index's own order, counts.
TEST_F(QueryTest, ReadHandsOverTypedColumnsInTheOrderAsked) {
  ReadOptions options;
  options.columns = {"test_name", "params.lr", "params.seed", "params.layers", "note",
                     "params.warm", "metrics.acc", "missing"};
  Query q;
  q.sort_field = "exp_name";  // the index's own order
  std::vector<std::string> keys;
  std::vector<FieldValue::Type> warm;
  ReadStats stats;
  Status s = watcher_->read(
      q, options,
      [&](const RunRow& row) {
        keys.push_back(row.exp_name() + "/" + row.test_name());
        FieldValue name = row.column(0);
        EXPECT_EQ(name.type, FieldValue::Type::kString);
        EXPECT_EQ(name.text, row.test_name());
        FieldValue lr = row.column(1);
        EXPECT_EQ(lr.type, FieldValue::Type::kDouble);
        EXPECT_GT(lr.number, 0);
        FieldValue seed = row.column(2);
        EXPECT_EQ(seed.type, FieldValue::Type::kInt);
        EXPECT_GE(seed.integer, 1);
        FieldValue layers = row.column(3);  // a list, or absent (mnist-big has none)
        if (row.exp_name() != "mnist-big") {
          EXPECT_EQ(layers.type, FieldValue::Type::kJson);
          EXPECT_EQ(layers.text.front(), '[');
        } else {
          EXPECT_EQ(layers.type, FieldValue::Type::kAbsent);
        }
        EXPECT_EQ(row.column(4).type, FieldValue::Type::kString);
        warm.push_back(row.column(5).type);
        EXPECT_EQ(row.column(7).type, FieldValue::Type::kAbsent);
        EXPECT_EQ(row.column_json(7), "null");
        json projected = json::parse(row.json());
        EXPECT_EQ(projected.size(), options.columns.size());
        EXPECT_EQ(projected["test_name"], row.test_name());
        EXPECT_TRUE(projected["missing"].is_null());
        return Status::OK();
      },
      &stats);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> sorted = names_;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
    return a.substr(0, a.find('/')) + std::string(1, '\0') + a.substr(a.find('/') + 1) <
           b.substr(0, b.find('/')) + std::string(1, '\0') + b.substr(b.find('/') + 1);
  });
  EXPECT_EQ(keys, sorted);
  EXPECT_EQ(stats.rows, names_.size());
  EXPECT_EQ(stats.matched, names_.size());
  EXPECT_TRUE(stats.matched_exact);
  // true, 3, absent, "yes", false, absent: every type a column can have.
  EXPECT_THAT(warm, ::testing::Contains(FieldValue::Type::kBool));
  EXPECT_THAT(warm, ::testing::Contains(FieldValue::Type::kInt));
  EXPECT_THAT(warm, ::testing::Contains(FieldValue::Type::kString));
  EXPECT_THAT(warm, ::testing::Contains(FieldValue::Type::kAbsent));

  // A visitor's error stops the read and is what read() returns.
  int visited = 0;
  s = watcher_->read(q, options, [&](const RunRow&) {
    ++visited;
    return Status::IOError("stop here");
  });
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_EQ(visited, 1);
}

TEST_F(QueryTest, QueryRowsAreWholeRuns) {
  std::vector<std::string> runs;
  ASSERT_TRUE(watcher_->query(Make({"note == alpha"}), &runs).ok());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(json::parse(runs[0]), all_[1]);
}

TEST_F(QueryTest, BadStatusOrRegexIsInvalidArgument) {
  std::vector<std::string> runs;
  Status s = watcher_->query(Make({}, "", "", false, 0, "done"), &runs);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("done"));
  s = watcher_->query(Make({"exp_name ~ ("}), &runs);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("exp_name"));
}

// --- dump_metric as the index records it ---

TEST_F(WatcherTest, MetricsKeepBestValuesAndTheirExtras) {
  auto e = Run("metrics");
  ASSERT_TRUE(e->start().ok());
  EXPECT_EQ(e->dump_metric("acc", 0.5, Cmp::Max, R"({"epoch": 1})"), 0.5);
  EXPECT_EQ(e->dump_metric("acc", 0.7, Cmp::Max, R"({"epoch": 2})"), 0.7);
  EXPECT_EQ(e->dump_metric("loss", 1.0, Cmp::Min), 1.0);
  EXPECT_EQ(e->dump_metric("lr", 0.1), 0.1);
  ASSERT_TRUE(e->flush().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());  // the index sees the first half, then the rest

  EXPECT_EQ(e->dump_metric("acc", 0.6, Cmp::Max, R"({"epoch": 3})"), 0.7);
  EXPECT_EQ(e->dump_metric("acc", 0.7, Cmp::Max, R"({"epoch": 4})"), 0.7);
  EXPECT_EQ(e->dump_metric("acc", 0.65, Cmp::Max, R"({"epoch": 5})"), 0.7);
  EXPECT_EQ(e->dump_metric("loss", 0.5, Cmp::Min, R"({"at": "low"})"), 0.5);
  EXPECT_EQ(e->dump_metric("loss", 0.8, Cmp::Min, R"({"at": "high"})"), 0.5);
  EXPECT_EQ(e->dump_metric("lr", 0.3), 0.3);
  EXPECT_EQ(e->dump_metric("lr", 0.2), 0.2);
  ASSERT_TRUE(e->end().ok());
  ASSERT_TRUE(w->load().ok());

  json run = Retrieve(w.get(), e->test_name());
  const json& m = run["metrics"];
  EXPECT_EQ(m["acc"], 0.7);
  EXPECT_EQ(m["epoch"], 2) << "extras change only when the value improves";
  EXPECT_EQ(m["loss"], 0.5);
  EXPECT_EQ(m["at"], "low");
  EXPECT_EQ(m["lr"], 0.2) << "Cmp::None keeps the latest";
  const json& d = run["metrics_detail"];
  EXPECT_EQ(d["acc"], json({{"cmp", "max"}, {"last", 0.65}, {"count", 5}, {"last_step", 4}}));
  EXPECT_EQ(d["loss"], json({{"cmp", "min"}, {"last", 0.8}, {"count", 3}, {"last_step", 2}}));
  EXPECT_EQ(d["lr"], json({{"cmp", "none"}, {"last", 0.2}, {"count", 3}, {"last_step", 2}}));
  EXPECT_FALSE(d.contains("epoch"));

  // The secondary index follows the best value: the old best is gone.
  std::vector<std::string> runs;
  Query q;
  Filter f;
  ASSERT_TRUE(Filter::Parse("metrics.acc < 0.6", &f).ok());
  q.filters = {f};
  ASSERT_TRUE(w->query(q, &runs).ok());
  EXPECT_TRUE(runs.empty());
  q.filters.clear();
  q.sort_field = "metrics.acc";
  ASSERT_TRUE(w->query(q, &runs).ok());
  EXPECT_EQ(runs.size(), 1u) << "one index entry per run and metric";
}

TEST_F(WatcherTest, MetricErrorsLeaveTheBestValueAlone) {
  auto e = Run("metrics");
  ASSERT_TRUE(e->start().ok());
  e->dump_metric("acc", 0.5, Cmp::Max);
  EXPECT_EQ(e->dump_metric("acc", 0.9, Cmp::Max, "[1, 2]"), 0.9);
  EXPECT_TRUE(e->last_error().IsInvalidArgument());
  EXPECT_THAT(e->last_error().message(), HasSubstr("acc"));
  ASSERT_TRUE(e->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), e->test_name())["metrics"]["acc"], 0.5);
}

// --- dump_info and reruns ---

TEST_F(WatcherTest, InvalidJsonInfoIsRejectedAndHarmsNothing) {
  auto e = Run("info");
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->dump_info("params", R"({"lr": 0.1, "opt": {"name": "sgd"}})").ok());
  ASSERT_TRUE(e->dump_info("dataset", R"("mnist")").ok());
  Status s = e->dump_info("params", R"({"lr": 0.2,)");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("params"));
  s = e->dump_info("broken_key", "not json");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), HasSubstr("broken_key"));
  ASSERT_TRUE(e->end().ok());

  auto w = OpenWatcher();
  LoadStats stats;
  ASSERT_TRUE(w->load(&stats).ok());
  EXPECT_EQ(stats.corrupt_records, 0u);
  json run = Retrieve(w.get(), e->test_name());
  EXPECT_EQ(run["params"], json::parse(R"({"lr": 0.1, "opt": {"name": "sgd"}})"));
  EXPECT_EQ(run["dataset"], "mnist");
  EXPECT_FALSE(run.contains("broken_key"));
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(json::parse(e->properties())["params"]["lr"], 0.1);
}

TEST_F(WatcherTest, RerunsAreLinkedBothWaysAndAllKept) {
  auto x = Run("base");
  ASSERT_TRUE(x->start().ok());
  ASSERT_TRUE(x->end().ok());
  std::vector<std::string> reruns;
  for (int repeat = 1; repeat <= 2; ++repeat) {
    auto r = Run(repeat == 1 ? "base" : "other");
    ASSERT_TRUE(r->start().ok());
    json rerun = {{"from", x->test_name()}, {"repeat", repeat}};
    ASSERT_TRUE(r->dump_info("rerun", rerun.dump()).ok());
    ASSERT_TRUE(r->end().ok());
    reruns.push_back(r->test_name());
  }
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json base = Retrieve(w.get(), x->test_name(), "base");
  ASSERT_TRUE(base.contains("rerun")) << base.dump(2);
  EXPECT_THAT(base["rerun"]["reruns"].get<std::vector<std::string>>(),
              UnorderedElementsAre(reruns[0], reruns[1]));
  json first = Retrieve(w.get(), reruns[0], "base");
  EXPECT_EQ(first["rerun"]["from"], x->test_name());
  EXPECT_EQ(first["rerun"]["repeat"], 1);
  EXPECT_EQ(Retrieve(w.get(), reruns[1], "other")["rerun"]["repeat"], 2);
}

// --- read-only second Watcher ---

TEST_F(WatcherTest, SecondWatcherOpensReadOnlyAndFollowsTheWriter) {
  auto e = Run("shared");
  ASSERT_TRUE(e->start().ok());
  e->dump_metric("acc", 0.4, Cmp::Max);
  ASSERT_TRUE(e->end().ok());
  auto writer = OpenWatcher();
  ASSERT_FALSE(writer->read_only());
  ASSERT_TRUE(writer->load().ok());

  auto reader = OpenWatcher();
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->read_only());
  EXPECT_EQ(reader->db_path(), writer->db_path());
  EXPECT_EQ(Retrieve(reader.get(), e->test_name())["metrics"]["acc"], 0.4);
  std::vector<std::string> runs;
  ASSERT_TRUE(reader->query(Query{}, &runs).ok());
  EXPECT_EQ(runs.size(), 1u);
  Status s = reader->reindex();
  EXPECT_EQ(s.code(), Status::Code::kBusy) << s.ToString();

  auto later = Run("shared");
  ASSERT_TRUE(later->start().ok());
  later->dump_metric("acc", 0.9, Cmp::Max);
  ASSERT_TRUE(later->end().ok());
  ASSERT_TRUE(writer->load().ok());
  ASSERT_TRUE(reader->load().ok());  // catches up with the writer
  runs.clear();
  Query q;
  q.sort_field = "metrics.acc";
  q.descending = true;
  ASSERT_TRUE(reader->query(q, &runs).ok());
  EXPECT_EQ(Names(runs), (std::vector<std::string>{"shared/" + later->test_name(),
                                                   "shared/" + e->test_name()}));
  EXPECT_EQ(Retrieve(reader.get(), later->test_name())["status"], "finished");
}

TEST_F(WatcherTest, ReadOnlyWithoutAnIndexIsNotFound) {
  WatcherOptions options;
  options.writer_wait_ms = 500;  // tests never wait long for another writer
  options.db_path = dir_ / "nothing";
  options.read_only = true;
  std::unique_ptr<Watcher> w;
  Status s = Watcher::Open(roots_, options, &w);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr(dir_ / "nothing"));
}

// --- Experiment: names and lifecycle ---

TEST_F(WatcherTest, BadExpNamesAreRejectedByName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "exp_name ''"},
      {"a/b", "a/b"},
      {"..", "'..'"},
      {std::string("a\0b", 3), "a\\0b"},
  };
  for (const auto& [name, shown] : cases) {
    Experiment e(name, roots_);
    EXPECT_TRUE(e.status().IsInvalidArgument()) << shown;
    EXPECT_THAT(e.status().message(), HasSubstr(shown));
    Status s = e.start();
    EXPECT_TRUE(s.IsInvalidArgument()) << shown;
    EXPECT_THAT(s.message(), HasSubstr(shown));
    EXPECT_FALSE(e.started());
    EXPECT_TRUE(e.test_name().empty());
  }
  // Nothing was created for them.
  EXPECT_FALSE(std::filesystem::exists(roots_.info_root + "/a"));
  EXPECT_FALSE(std::filesystem::exists(roots_.info_root + "/.lumodb/active"));
}

TEST_F(WatcherTest, CallsOutOfOrderAreIllegalState) {
  auto e = Run("life");
  EXPECT_EQ(e->dump_metric("acc", 0.3, Cmp::Max), 0.3);
  Status s = e->last_error();
  EXPECT_EQ(s.code(), Status::Code::kIllegalState) << s.ToString();
  EXPECT_EQ(s.message(), "dump_metric() called on a run that never started");
  s = e->end();
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  EXPECT_EQ(s.message(), "end() called on a run that never started");
  s = e->dump_info("params", "{}");
  EXPECT_EQ(s.message(), "dump_info() called on a run that never started");

  ASSERT_TRUE(e->start().ok());
  s = e->start();
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  EXPECT_EQ(s.message(), "start() called twice on run " + e->test_name());
  ASSERT_TRUE(e->end().ok());
  EXPECT_TRUE(e->ended());
  s = e->end();
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  EXPECT_EQ(s.message(), "end() called twice on run " + e->test_name());
  s = e->dump_note("late");
  EXPECT_EQ(s.code(), Status::Code::kIllegalState);
  EXPECT_EQ(s.message(), "dump_note() called on run " + e->test_name() + " after end()");

  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), e->test_name());
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["note"], "");
}

// --- hooks ---

class RecordingHook : public ExpHook {
 public:
  explicit RecordingHook(std::vector<std::string>* events) : events_(events) {}
  std::string name() const override { return "Recorder"; }
  void on_start(Experiment& exp) override {
    events_->push_back("start " + exp.test_name());
  }
  void on_progress(Experiment&, double ratio) override {
    events_->push_back("progress " + std::to_string(ratio).substr(0, 4));
  }
  void on_end(Experiment&, int code) override {
    events_->push_back("end " + std::to_string(code));
  }

 private:
  std::vector<std::string>* events_;
};

class ThrowingHook : public ExpHook {
 public:
  std::string name() const override { return "Boom"; }
  void on_end(Experiment&, int) override { throw std::runtime_error("kaboom"); }
};

// Throws something that is not a std::exception, as C++ allows.
class ThrowingIntHook : public ExpHook {
 public:
  std::string name() const override { return "BoomInt"; }
  void on_start(Experiment&) override { throw 42; }
  void on_end(Experiment&, int) override { throw 7; }
};

TEST_F(WatcherTest, UserHookSeesTheLifecycleInOrder) {
  std::vector<std::string> events;
  auto e = Run("hooks");
  e->add_hook(std::make_shared<RecordingHook>(&events));
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->dump_progress(0.5).ok());
  ASSERT_TRUE(e->dump_progress(0.75).ok());
  ASSERT_TRUE(e->end(0).ok());
  EXPECT_EQ(events, (std::vector<std::string>{"start " + e->test_name(),
                                              "progress 0.50", "progress 0.75",
                                              "end 0"}));
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), e->test_name());
  for (const char* hook : {"LastCmd", "RecordAbort", "LockFile", "Recorder"}) {
    EXPECT_TRUE(run["hooks"].contains(hook)) << hook << " in " << run["hooks"].dump();
  }
  EXPECT_FALSE(run.contains("hook_errors"));
}

TEST_F(WatcherTest, HookThatThrowsInOnEndIsRecordedAndTheEndStill) {
  auto e = Run("hooks");
  e->add_hook(std::make_shared<ThrowingHook>());
  ASSERT_TRUE(e->start().ok());
  Status s = e->end(0);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(e->ended());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), e->test_name());
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["progress"]["end_code"], 0);
  ASSERT_TRUE(run["hook_errors"].is_array()) << run.dump(2);
  ASSERT_EQ(run["hook_errors"].size(), 1u);
  EXPECT_EQ(run["hook_errors"][0]["hook"], "Boom");
  EXPECT_EQ(run["hook_errors"][0]["stage"], "on_end");
  EXPECT_EQ(run["hook_errors"][0]["message"], "kaboom");
}

TEST_F(WatcherTest, HookThatThrowsANonStdExceptionIsRecordedToo) {
  auto e = Run("hooks");
  e->add_hook(std::make_shared<ThrowingIntHook>());
  Status s;
  EXPECT_NO_THROW(s = e->start());
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_NO_THROW(s = e->end(0));
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json run = Retrieve(w.get(), e->test_name());
  EXPECT_EQ(run["status"], "finished");
  ASSERT_EQ(run["hook_errors"].size(), 2u) << run.dump(2);
  EXPECT_EQ(run["hook_errors"][0]["hook"], "BoomInt");
  EXPECT_EQ(run["hook_errors"][0]["stage"], "on_start");
  EXPECT_EQ(run["hook_errors"][1]["stage"], "on_end");
  EXPECT_FALSE(run["hook_errors"][1]["message"].get<std::string>().empty());
}

TEST_F(WatcherTest, LockFileRecordsLibraryVersions) {
  auto e = Run("lock");
  ASSERT_TRUE(e->start().ok());
  ASSERT_TRUE(e->end().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  json lock = Retrieve(w.get(), e->test_name())["lock"];
  const auto linked = LockFile::LinkedVersions();
  for (const char* lib : {"rocksdb", "flatbuffers", "libgit2", "lumodb"}) {
    ASSERT_TRUE(lock.contains(lib)) << lib << " in " << lock.dump();
    EXPECT_THAT(lock[lib].get<std::string>(), ::testing::MatchesRegex("[0-9]+\\..*"));
    EXPECT_EQ(lock[lib], linked.at(lib));
  }
}

TEST_F(WatcherTest, LastCmdAppendsToTheHistoryInTheWorkingDirectory) {
  std::vector<std::string> tests;
  for (int i = 0; i < 2; ++i) {
    auto e = Run("lastcmd");
    ASSERT_TRUE(e->start().ok());
    ASSERT_TRUE(e->end().ok());
    tests.push_back(e->test_name());
  }
  const std::string path =
      dir_ / ("run_" + std::string(program_invocation_short_name) + ".sh");
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  std::string history = testing::ReadFile(path);
  EXPECT_THAT(history, HasSubstr("# lastcmd " + tests[0]));
  EXPECT_THAT(history, HasSubstr("# lastcmd " + tests[1]));
  EXPECT_THAT(history, HasSubstr(program_invocation_short_name));
  EXPECT_LT(history.find(tests[0]), history.find(tests[1]));
}

// --- change feed ---

std::vector<std::string> ChangedNames(Watcher* w, int64_t after, int64_t* latest) {
  std::vector<RunName> runs;
  Status s = w->changed_runs(after, &runs, latest);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r.exp_name + "/" + r.test_name);
  return out;
}

TEST_F(WatcherTest, ChangeFeedNamesOnlyTheRunsWrittenSinceAStamp) {
  auto a = Run("feed");
  auto b = Run("feed");
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(b->start().ok());
  ASSERT_TRUE(a->flush().ok());
  ASSERT_TRUE(b->flush().ok());
  auto w = OpenWatcher();
  ASSERT_TRUE(w->load().ok());
  int64_t all_latest = 0;
  std::vector<std::string> all = ChangedNames(w.get(), 0, &all_latest);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"feed/" + a->test_name(), "feed/" + b->test_name()}));
  int64_t newest = -1;
  EXPECT_TRUE(ChangedNames(w.get(), -1, &newest).empty());
  EXPECT_EQ(newest, all_latest);

  // Nothing written: nothing changed, the stamp stays.
  ASSERT_TRUE(w->load().ok());
  int64_t latest = 0;
  EXPECT_TRUE(ChangedNames(w.get(), all_latest, &latest).empty());
  EXPECT_EQ(latest, all_latest);

  // One run writes: only it, once (its old entry is gone), with a newer stamp.
  ASSERT_TRUE(b->dump_note("changed").ok());
  ASSERT_TRUE(b->flush().ok());
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(ChangedNames(w.get(), all_latest, &latest),
            (std::vector<std::string>{"feed/" + b->test_name()}));
  EXPECT_GT(latest, all_latest);
  EXPECT_EQ(ChangedNames(w.get(), 0, &newest).size(), 2u);

  // A rebuilt index stamps every run anew, above the old stamps.
  ASSERT_TRUE(w->reindex().ok());
  int64_t after_reindex = 0;
  EXPECT_EQ(ChangedNames(w.get(), latest, &after_reindex).size(), 2u);
  EXPECT_GT(after_reindex, latest);
  ASSERT_TRUE(a->end().ok());
  ASSERT_TRUE(b->end().ok());
}

}  // namespace
}  // namespace lumodb

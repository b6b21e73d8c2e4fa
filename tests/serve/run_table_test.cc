// The dashboard's in-memory runs table answers exactly what `lumo-db query`
// (Watcher::read) answers for the same filters and sort: mixed types,
// absent fields, ties, pages, groups; and stays so after new runs, changes
// of live runs and a reindex.
#include "serve/run_table.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

using cli::RunTable;
using cli::TablePage;
using cli::TableRequest;
using nlohmann::json;

class RunTableTest : public testing::InProcessTest {
 protected:
  void SetUp() override {
    InProcessTest::SetUp();
    // Values chosen for ties (lr), mixed types (warm), absent fields
    // (acc, seed), strings that sort differently from numbers (tag).
    const std::vector<std::string> params = {
        R"({"lr": 0.1, "seed": 1, "warm": true, "tag": "b"})",
        R"({"lr": 0.01, "seed": 2, "warm": 3, "tag": "a10"})",
        R"({"lr": 0.1, "warm": "yes", "tag": "a9"})",
        R"({"lr": 0.001, "seed": 3, "layers": [32, 32], "tag": "c"})",
        R"({"lr": 0.1, "seed": 1, "warm": null, "opt": {"name": "sgd"}})",
        R"({"lr": 0.01, "seed": 10, "warm": false})",
    };
    for (int i = 0; i < 24; ++i) {
      AddRun(i % 3 == 0 ? "mnist" : i % 3 == 1 ? "cifar" : "mnist-big", params[i % params.size()],
             i % 4 == 3 ? -1.0 : 0.5 + 0.01 * (i % 7), i % 5 == 4 ? 1 : 0);
    }
    watcher_ = OpenWatcher();
    ASSERT_TRUE(watcher_->load().ok());
    table_ = std::make_unique<RunTable>(watcher_.get());
    ASSERT_TRUE(table_->Refresh().ok());
  }

  void AddRun(const std::string& exp, const std::string& params, double acc, int code) {
    Experiment e(exp, roots_, ExperimentOptions{});
    ASSERT_TRUE(e.start().ok());
    ASSERT_TRUE(e.dump_info("params", params).ok());
    if (acc >= 0) e.dump_metric("acc", acc, Cmp::Max);
    ASSERT_TRUE(e.end(code).ok());
  }

  std::unique_ptr<Watcher> OpenWatcher() {
    WatcherOptions options;
    options.writer_wait_ms = 500;
    options.db_path = dir_ / "db";
    std::unique_ptr<Watcher> w;
    Status s = Watcher::Open(roots_, options, &w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }

  static std::vector<Filter> Filters(const std::vector<std::string>& texts) {
    std::vector<Filter> out;
    for (const std::string& t : texts) {
      Filter f;
      Status s = Filter::Parse(t, &f);
      EXPECT_TRUE(s.ok()) << s.ToString();
      out.push_back(f);
    }
    return out;
  }

  // "exp/test" of a query's runs as the engine answers it.
  std::vector<std::string> Engine(const TableRequest& r, const std::string& exp = "") {
    Query q;
    q.filters = r.filters;
    q.sort_field = r.sort_field;
    q.descending = r.descending;
    q.offset = r.offset;
    q.limit = r.limit;
    q.exp_name = exp;
    ReadOptions options;
    options.columns = {"exp_name"};
    std::vector<std::string> out;
    Status s = watcher_->read(q, options, [&](const RunRow& row) {
      out.push_back(row.exp_name() + "/" + row.test_name());
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  std::vector<std::string> Table(const TableRequest& r, TablePage* page = nullptr) {
    TablePage local;
    if (page == nullptr) page = &local;
    Status s = table_->Page(r, page);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> out;
    for (const RunName& n : page->runs) out.push_back(n.exp_name + "/" + n.test_name);
    return out;
  }

  // Every combination of these filters and sorts, whole and in pages.
  void ExpectSameAsEngine() {
    const std::vector<std::vector<std::string>> filter_sets = {
        {},
        {"params.lr == 0.1"},
        {"params.lr < 0.05", "status == finished"},
        {"params.warm != 3"},
        {"params.tag ~ ^a"},
        {"metrics.acc >= 0.53"},
        {"params.seed > 1"},
        {"params.opt.name == sgd"},
        {"exp_name ~ big$"},
    };
    const std::vector<std::string> sorts = {"",           "metrics.acc", "params.lr",
                                            "params.warm", "params.tag", "params.seed",
                                            "exp_name",   "test_name",   "params.layers",
                                            "status",     "no.such.field"};
    size_t compared = 0;
    for (const auto& texts : filter_sets) {
      for (const std::string& sort : sorts) {
        for (bool desc : {false, true}) {
          TableRequest r;
          r.filters = Filters(texts);
          r.sort_field = sort;
          r.descending = desc;
          r.limit = 1000;
          TablePage page;
          const std::vector<std::string> whole = Table(r, &page);
          ASSERT_EQ(whole, Engine(r)) << "filters " << ::testing::PrintToString(texts)
                                      << " sort " << (desc ? "-" : "") << sort;
          EXPECT_EQ(page.total, whole.size());
          r.offset = 5;
          r.limit = 7;
          ASSERT_EQ(Table(r), Engine(r)) << "a page of the same";
          compared += whole.size();
        }
      }
    }
    EXPECT_GT(compared, 500u) << "the queries select runs at all";
  }

  std::unique_ptr<Watcher> watcher_;
  std::unique_ptr<RunTable> table_;
};

TEST_F(RunTableTest, AnswersAsTheEngineDoes) { ExpectSameAsEngine(); }

TEST_F(RunTableTest, GroupsAreTheEngineAnswerPerExpNameInNameOrder) {
  TableRequest r;
  r.sort_field = "metrics.acc";
  r.descending = true;
  r.group = true;
  r.limit = 1000;
  TablePage page;
  const std::vector<std::string> grouped = Table(r, &page);
  std::vector<std::string> expected;
  ASSERT_EQ(page.groups.size(), 3u);
  for (const cli::TableGroup& g : page.groups) {
    const std::vector<std::string> of_exp = Engine(r, g.exp_name);
    EXPECT_EQ(g.count, of_exp.size()) << g.exp_name;
    expected.insert(expected.end(), of_exp.begin(), of_exp.end());
  }
  EXPECT_EQ(page.groups[0].exp_name, "cifar");
  EXPECT_EQ(page.groups[1].exp_name, "mnist");
  EXPECT_EQ(page.groups[2].exp_name, "mnist-big");
  EXPECT_EQ(grouped, expected);

  // A collapsed group keeps its count and leaves the rows.
  r.collapsed = {"mnist"};
  const std::vector<std::string> collapsed = Table(r, &page);
  EXPECT_EQ(page.groups[1].count, Engine(r, "mnist").size());
  EXPECT_EQ(page.total, grouped.size() - Engine(r, "mnist").size());
  for (const std::string& name : collapsed) EXPECT_EQ(name.rfind("mnist/", 0), std::string::npos);
}

TEST_F(RunTableTest, FollowsNewRunsLiveRunsAndAReindex) {
  TableRequest by_acc;
  by_acc.sort_field = "metrics.acc";
  by_acc.descending = true;
  by_acc.limit = 1000;
  const size_t before = Table(by_acc).size();

  // A new finished run and a live one that goes on logging.
  AddRun("cifar", R"({"lr": 0.3, "seed": 7})", 0.99, 0);
  Experiment live("mnist", roots_, ExperimentOptions{});
  ASSERT_TRUE(live.start().ok());
  ASSERT_TRUE(live.dump_info("params", R"({"lr": 0.5})").ok());
  live.dump_metric("acc", 0.1, Cmp::Max);
  ASSERT_TRUE(live.flush().ok());
  ASSERT_TRUE(watcher_->load().ok());
  ASSERT_TRUE(table_->Refresh().ok());
  std::vector<std::string> now = Table(by_acc);
  EXPECT_EQ(now.size(), before + 2);
  EXPECT_EQ(now.front().rfind("cifar/", 0), 0u) << "the new best run leads";
  ExpectSameAsEngine();

  live.dump_metric("acc", 2.0, Cmp::Max);
  ASSERT_TRUE(live.flush().ok());
  ASSERT_TRUE(watcher_->load().ok());
  ASSERT_TRUE(table_->Refresh().ok());
  EXPECT_EQ(Table(by_acc).front(), "mnist/" + live.test_name()) << "a live change moves a run";
  ASSERT_TRUE(live.end(0).ok());

  ASSERT_TRUE(watcher_->reindex().ok());
  ASSERT_TRUE(table_->Refresh().ok());
  EXPECT_EQ(Table(by_acc).size(), before + 2);
  ExpectSameAsEngine();
}

TEST_F(RunTableTest, ValuesAreTheColumnsOfTheSelectedRuns) {
  TableRequest r;
  r.filters = Filters({"params.lr == 0.1"});
  r.sort_field = "test_name";
  size_t total = 0;
  std::vector<json> rows;
  ASSERT_TRUE(table_->Values(r, {"params.lr", "params.warm", "metrics.acc"}, 3, &total, &rows).ok());
  r.limit = 1000;
  const std::vector<std::string> expected = Engine(r);
  EXPECT_EQ(total, expected.size());
  ASSERT_EQ(rows.size(), 3u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i][0].get<std::string>() + "/" + rows[i][1].get<std::string>(), expected[i]);
    EXPECT_EQ(rows[i][2], 0.1);
  }
}

}  // namespace
}  // namespace lumodb

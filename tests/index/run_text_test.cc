// Tests for engine/src/index/run_text.cc and run_view.cc: a run written
// straight from the index, without a JSON tree, is byte for byte the JSON
// the reference model (reference_run_json.cc: the tree the engine built
// before) gives, less lumo's raw values, which only raw shows.
#include "index/run_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "index/filter.h"
#include "index/index.h"
#include "index/reference_run_json.h"
#include "index/run_view.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void Quiet(const std::string&) {}

class RunTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("LUMO_EXP_TEST_NAME");
    ::unsetenv("LUMO_RERUN_FROM");
    roots_.home = dir_ / "home";
    roots_.info_root = dir_ / "info";
    roots_.blob_root = dir_ / "blob";
    roots_.cache_root = dir_ / "cache";
    roots_.timezone = "Asia/Shanghai";
  }

  // Records runs of every shape, imports the lumo fixtures, then opens the
  // index read-only.
  void Build() {
    ExperimentOptions opts;
    opts.default_hooks = false;
    {
      Experiment e("shapes", roots_, opts);
      ASSERT_TRUE(e.start().ok());
      ASSERT_TRUE(e.dump_info("params", R"({"lr": 0.1, "opt": {"name": "sgd"}, "n": 3})").ok());
      e.dump_metric("acc", 0.9906442466474564, Cmp::Max, R"({"best_epoch": 7, "loss": 0.5})");
      e.dump_metric("loss", 0.25, Cmp::Min, R"({"best_epoch": 9, "lr_at_best": 1e-05})");
      e.dump_metric("steps", 12, Cmp::None);
      ASSERT_TRUE(e.dump_tags({"a", "b \"quoted\"", "\xc3\xa9"}).ok());
      ASSERT_TRUE(e.dump_note("line one\nline two\ttab \\ back").ok());
      ASSERT_TRUE(e.dump_string("log", "some\ntext").ok());
      ASSERT_TRUE(e.dump_exception("ValueError", "bad \"value\"").ok());
      ASSERT_TRUE(e.dump_info("status.x", R"({"dotted": true})").ok());
      ASSERT_TRUE(e.dump_info("user_key", R"([1, 2.5, "x", null, {"k": []}])").ok());
      ASSERT_TRUE(e.end(1).ok());
      first_ = e.test_name();
    }
    {
      // A rerun of the first, and a run whose user note and tags are
      // info values.
      ::setenv("LUMO_RERUN_FROM", first_.c_str(), 1);
      Experiment e("shapes", roots_, opts);
      ASSERT_TRUE(e.start().ok());
      ::unsetenv("LUMO_RERUN_FROM");
      ASSERT_TRUE(e.dump_info("note", R"("an info note")").ok());
      ASSERT_TRUE(e.dump_info("tags", R"(["t1"])").ok());
      ASSERT_TRUE(e.dump_info("metrics_detail", R"({"none": "here"})").ok());
      ASSERT_TRUE(e.end(0).ok());
    }
    {
      Experiment e("still.running", roots_, opts);
      ASSERT_TRUE(e.start().ok());
      e.dump_progress(0.25);
      ASSERT_TRUE(e.flush(true).ok());
      // Left running until the end of the test.
      keep_ = std::make_unique<Experiment>("still.running2", roots_, opts);
      ASSERT_TRUE(keep_->start().ok());
      ASSERT_TRUE(keep_->flush(true).ok());
    }
    fs::copy(testing::FixturesDir() + "/lumo-home", dir_ / "lumo-home",
             fs::copy_options::recursive);
    {
      WatcherOptions options;
      options.db_path = dir_ / "db";
      options.warn = Quiet;
      std::unique_ptr<Watcher> w;
      ASSERT_TRUE(Watcher::Open(roots_, options, &w).ok());
      ASSERT_TRUE(w->load().ok());
      ImportReport report;
      ASSERT_TRUE(w->import_lumo({dir_ / "lumo-home"}, "", &report).ok());
      ASSERT_EQ(report.imported, 13u);
    }
    ASSERT_TRUE(Index::OpenSnapshot(dir_ / "db", &index_).ok());
  }

  static json WithoutInfo(json j) {
    j.erase("info");
    return j;
  }

  testing::TempDir dir_;
  Roots roots_;
  std::string first_;
  std::unique_ptr<Experiment> keep_;
  std::unique_ptr<Index> index_;
};

TEST_F(RunTextTest, EveryRunIsTheReferenceJsonByteForByte) {
  Build();
  RunText text(roots_.timezone);
  RunScanner scanner(index_.get(), "", ReadPlan(), nullptr);
  RunReader reader(index_.get(), ReadPlan(), nullptr);
  RunView view, point;
  size_t runs = 0;
  std::set<std::string> exps;
  while (scanner.Next(&view)) {
    ++runs;
    exps.insert(view.exp);
    json ref;
    ASSERT_TRUE(
        testing::BuildRunJson(index_.get(), view.exp, view.test, roots_.timezone, &ref).ok());
    std::string plain, raw;
    text.AppendRun(view, false, &plain);
    text.AppendRun(view, true, &raw);
    EXPECT_EQ(plain, WithoutInfo(ref).dump()) << view.exp << "/" << view.test;
    EXPECT_EQ(json::parse(raw), ref) << view.exp << "/" << view.test;
    // Reading by key gives the same run.
    ASSERT_TRUE(reader.Read(view.exp, view.test, &point).ok());
    std::string again;
    text.AppendRun(point, false, &again);
    EXPECT_EQ(again, plain);
  }
  ASSERT_TRUE(scanner.status().ok()) << scanner.status().ToString();
  EXPECT_EQ(runs, 13u + 4u);
  EXPECT_EQ(exps, (std::set<std::string>{"ablation_v2", "cifar10.resnet", "mnist.mlp", "shapes",
                                         "still.running", "still.running2"}));
}

TEST_F(RunTextTest, RawValuesOfImportedRunsAreShownOnlyWhenAsked) {
  Build();
  RunText text(roots_.timezone);
  RunReader reader(index_.get(), ReadPlan(), nullptr);
  RunView view;
  ASSERT_TRUE(reader.Read("mnist.mlp", "261128.000.d6t", &view).ok());
  std::string plain, raw;
  text.AppendRun(view, false, &plain);
  text.AppendRun(view, true, &raw);
  json p = json::parse(plain), r = json::parse(raw);
  EXPECT_FALSE(p.contains("info"));
  ASSERT_TRUE(r.contains("info"));
  // lumo's own progress and pinfo, as lumo wrote them.
  EXPECT_EQ(r["info"]["progress"]["end_code"], 0);
  EXPECT_TRUE(r["info"]["pinfo"].contains("hash"));
  EXPECT_EQ(r["info"]["exp_name"], "mnist.mlp");
  // Each fact once: the derived keys, and the other info keys as they are.
  const json lumo_progress = json::parse(testing::ReadFile(
      testing::FixturesDir() + "/lumo-home/experiments/mnist.mlp/261128.000.d6t/info/progress.json"));
  EXPECT_EQ(p["progress"]["start"], lumo_progress["start"]);
  EXPECT_EQ(p["pinfo"]["pid"], 16154);
  EXPECT_TRUE(p.contains("params"));
  EXPECT_TRUE(p.contains("lock"));
  EXPECT_LT(plain.size() + 500, raw.size()) << "raw adds lumo's own copies";
  // The raw values are addressable as columns whether or not they are shown.
  std::string scratch;
  std::string_view value;
  ASSERT_TRUE(text.Resolve(view, "info.progress.end_code", &scratch, &value));
  EXPECT_EQ(value, "0");
}

TEST_F(RunTextTest, ColumnsResolveAsLookupPathDoesOnTheWholeRun) {
  Build();
  RunText text(roots_.timezone);
  RunScanner scanner(index_.get(), "", ReadPlan(), nullptr);
  RunView view;
  const std::vector<std::string> paths = {"exp_name",
                                          "test_name",
                                          "status",
                                          "progress.ratio",
                                          "progress.start",
                                          "progress.end_code",
                                          "params.lr",
                                          "params.opt.name",
                                          "params.opt",
                                          "params",
                                          "metrics.acc",
                                          "metrics.best_epoch",
                                          "metrics.lr_at_best",
                                          "metrics_detail.acc.cmp",
                                          "tags",
                                          "tags.1",
                                          "note",
                                          "text.log",
                                          "exception.exception_type",
                                          "rerun.from",
                                          "rerun.reruns.0",
                                          "status.x.dotted",
                                          "user_key.4.k",
                                          "pinfo.pid",
                                          "execute.exec_argv.0",
                                          "journal.source",
                                          "git.commit",
                                          "nothing",
                                          "params.nope"};
  size_t found = 0;
  while (scanner.Next(&view)) {
    json ref;
    ASSERT_TRUE(
        testing::BuildRunJson(index_.get(), view.exp, view.test, roots_.timezone, &ref).ok());
    ref = WithoutInfo(ref);
    for (const std::string& path : paths) {
      const json* want = LookupPath(ref, path);
      std::string scratch;
      std::string_view got;
      const bool have = text.Resolve(view, path, &scratch, &got);
      ASSERT_EQ(have, want != nullptr) << view.test << " " << path;
      if (have) {
        EXPECT_EQ(json::parse(got), *want) << view.test << " " << path;
        ++found;
      }
    }
  }
  EXPECT_GT(found, 200u);
}

TEST_F(RunTextTest, AUserKeyNamedLikeADerivedOneNeverHidesIt) {
  ExperimentOptions opts;
  opts.default_hooks = false;
  Experiment e("collide", roots_, opts);
  ASSERT_TRUE(e.start().ok());
  e.dump_metric("acc", 0.5, Cmp::Max);
  ASSERT_TRUE(e.dump_info("metrics", R"({"fake": 1})").ok());
  ASSERT_TRUE(e.dump_info("status", R"("made up")").ok());
  ASSERT_TRUE(e.end(0).ok());
  {
    WatcherOptions options;
    options.db_path = dir_ / "db";
    std::unique_ptr<Watcher> w;
    ASSERT_TRUE(Watcher::Open(roots_, options, &w).ok());
    ASSERT_TRUE(w->load().ok());
    std::string plain, raw;
    ASSERT_TRUE(w->retrieve(e.test_name(), "", &plain).ok());
    ASSERT_TRUE(w->retrieve(e.test_name(), "", &raw, nullptr, true).ok());
    json p = json::parse(plain), r = json::parse(raw);
    EXPECT_EQ(p["metrics"], json({{"acc", 0.5}}));
    EXPECT_EQ(p["status"], "finished");
    EXPECT_FALSE(p.contains("info"));
    EXPECT_EQ(r["info"]["metrics"], json({{"fake", 1}}));
    EXPECT_EQ(r["info"]["status"], "made up");
  }
}

TEST_F(RunTextTest, ColumnReadsReadOnlyTheInfoEntriesTheyName) {
  Build();
  ReadPlan plan;
  plan.info_names = {"params", "params.lr"};
  plan.text = plan.metrics = plan.reruns = false;
  RunScanner scanner(index_.get(), "mnist.mlp", plan, nullptr);
  RunView view;
  size_t runs = 0;
  while (scanner.Next(&view)) {
    ++runs;
    EXPECT_EQ(view.n_metrics, 0u);
    EXPECT_EQ(view.n_text, 0u);
    ASSERT_EQ(view.n_info, 1u) << view.test;
    EXPECT_EQ(view.info[0].name, "params");
    EXPECT_EQ(view.exp, "mnist.mlp");
  }
  EXPECT_EQ(runs, 8u);
}

}  // namespace
}  // namespace lumodb

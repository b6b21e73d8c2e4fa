// Tests for tools/lumo-db/main.cc: the real lumo-db binary run as a child,
// over runs recorded by real example_trainer children, all under a
// temporary $HOME (lumo's default roots and the default index live there).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

extern char** environ;

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

using testing::Lines;
using testing::Result;

class CliTest : public testing::ProgramTest {
 protected:
  // Runs program with args in work_, HOME=home_, stdout and stderr captured.
  Result Exec(const std::string& program, const std::vector<std::string>& args,
              const std::map<std::string, std::string>& env = {}) {
    return Run(testing::BinPath(program), args, "", env);
  }

  Result Cli(const std::vector<std::string>& args) { return Exec("lumo-db", args); }

  // Records one run; returns its test_name.
  std::string Train(const std::string& exp, const std::string& lr, int seed,
                    std::vector<std::string> extra = {},
                    const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {"--exp", exp, "--lr", lr, "--seed",
                                     std::to_string(seed), "--epochs", "3",
                                     "--sleep-ms", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = Exec("example_trainer", args, env);
    EXPECT_EQ(r.code, 0) << r.err;
    std::istringstream in(r.out);
    std::string e, test;
    in >> e >> test;
    EXPECT_EQ(e, exp) << r.out;
    return test;
  }

  // Five runs: four finished, one failed at epoch 2.
  void Populate() {
    t_mnist_01_ = Train("mnist", "0.1", 1);
    t_mnist_005_ = Train("mnist", "0.05", 2, {"--note", "best one"});
    t_mnist_0001_ = Train("mnist", "0.001", 3);
    t_cifar_001_ = Train("cifar", "0.01", 1);
    Result failed = Exec("example_trainer", {"--exp", "cifar", "--lr", "0.2", "--seed",
                                             "2", "--epochs", "3", "--sleep-ms", "1",
                                             "--fail-at", "2"});
    ASSERT_NE(failed.code, 0);
    EXPECT_THAT(failed.err, HasSubstr("loss diverged at epoch 2"));
  }

  // query --format jsonl, parsed.
  std::vector<json> QueryJsonl(std::vector<std::string> args) {
    args.insert(args.begin(), "query");
    args.push_back("--format=jsonl");
    Result r = Cli(args);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<json> rows;
    for (const auto& line : Lines(r.out)) rows.push_back(json::parse(line));
    return rows;
  }

  // "exp/test": test_names are unique within an exp_name only.
  static std::string Key(const json& row) {
    return row["exp_name"].get<std::string>() + "/" + row["test_name"].get<std::string>();
  }

  static std::vector<std::string> Column(const std::vector<json>& rows,
                                         const std::string& key) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.value(key, json()).dump());
    return out;
  }

  std::string t_mnist_01_, t_mnist_005_, t_mnist_0001_, t_cifar_001_;
};

// --- help and usage errors ---

TEST_F(CliTest, HelpForTheAppAndEveryCommand) {
  Result app = Cli({"--help"});
  EXPECT_EQ(app.code, 0) << app.err;
  for (const char* word : {"query", "show", "dump", "load", "reindex", "--db",
                           "--info-root", "--cache-root", "--no-load", "--version"}) {
    EXPECT_THAT(app.out, HasSubstr(word));
  }
  const std::map<std::string, std::vector<std::string>> options = {
      {"query", {"filters", "--exp", "--status", "--sort", "--desc", "--limit",
                 "--columns", "--format", "jsonl", "csv"}},
      {"show", {"test_name", "--exp", "--format"}},
      {"dump", {"test_names", "--exp"}},
      {"load", {"--db", "--no-load"}},
      {"reindex", {"--db", "--info-root"}},
  };
  for (const auto& [command, words] : options) {
    Result r = Cli({command, "--help"});
    EXPECT_EQ(r.code, 0) << command << ": " << r.err;
    EXPECT_THAT(r.out, HasSubstr("lumo-db " + command)) << command;
    for (const auto& word : words) {
      EXPECT_THAT(r.out, HasSubstr(word)) << command << " --help lacks " << word;
    }
  }
  Result version = Cli({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_THAT(version.out, HasSubstr("lumo-db "));
}

TEST_F(CliTest, UnknownFlagOrCommandIsAUsageErrorNamingIt) {
  Result r = Cli({"--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
  r = Cli({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("frobnicate"));
  r = Cli({"query", "--frob"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--frob"));
  r = Cli({"query", "--format", "xml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("xml"));
  r = Cli({});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("command is required"));
  r = Cli({"show"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("test_name"));
}

TEST_F(CliTest, BadFilterOrStatusIsAUsageErrorNamingIt) {
  Result r = Cli({"query", "params.lr >> 1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("params.lr >> 1"));
  r = Cli({"query", "params.lr"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("params.lr"));
  EXPECT_THAT(r.err, HasSubstr("no operator"));
  r = Cli({"query", "exp_name ~ ("});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad regex"));
  r = Cli({"query", "--status", "done"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("'done'"));
  r = Cli({"query", "--columns", "a,,b"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("a,,b"));
}

// --- show ---

TEST_F(CliTest, ShowPrintsOneRunOrNamesTheMissingOne) {
  Populate();
  Result r = Cli({"show", t_mnist_005_, "--exp", "mnist"});
  ASSERT_EQ(r.code, 0) << r.err;
  json run = json::parse(r.out);
  EXPECT_EQ(run["test_name"], t_mnist_005_);
  EXPECT_EQ(run["exp_name"], "mnist");
  EXPECT_EQ(run["note"], "best one");
  EXPECT_EQ(run["params"]["lr"], 0.05);
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["text"]["summary"], "trained 3 epochs");

  r = Cli({"show", t_mnist_005_, "--exp", "mnist", "--format", "jsonl"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_EQ(json::parse(r.out), run);

  r = Cli({"show", "991231.001.zzt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("991231.001.zzt"));
  EXPECT_EQ(r.out, "");
}

TEST_F(CliTest, AmbiguousShowListsTheCandidates) {
  const std::string test = "240101.001.a1t";
  Train("alpha", "0.1", 1, {}, {{"LUMO_EXP_TEST_NAME", test}});
  Train("beta", "0.1", 2, {}, {{"LUMO_EXP_TEST_NAME", test}});
  Result r = Cli({"show", test});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("alpha/" + test));
  EXPECT_THAT(r.err, HasSubstr("beta/" + test));
  EXPECT_THAT(r.err, HasSubstr("--exp"));
  EXPECT_THAT(Lines(r.out), ::testing::UnorderedElementsAre("alpha/" + test,
                                                            "beta/" + test));
  r = Cli({"show", test, "--exp", "beta"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["params"]["seed"], 2);
}

// --- query output ---

TEST_F(CliTest, QueryTable) {
  Populate();
  Result r = Cli({"query"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u + 5u) << r.out;
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(
                            "exp_name +test_name +status +progress.start +progress.ratio"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("-+  -+  -+  -+  -+"));
  EXPECT_THAT(r.out, HasSubstr(t_cifar_001_));
  EXPECT_THAT(r.out, HasSubstr("failed"));
  // A filter's and the sort's field become columns of their own.
  r = Cli({"query", "params.lr", "<", "0.06", "--sort", "metrics.acc"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u + 3u) << r.out;
  EXPECT_THAT(lines[0], HasSubstr("params.lr"));
  EXPECT_THAT(lines[0], HasSubstr("metrics.acc"));
  EXPECT_THAT(lines[2], HasSubstr(t_mnist_0001_));
  EXPECT_THAT(lines[4], HasSubstr(t_mnist_005_));
}

TEST_F(CliTest, QueryJsonIsAnArrayOfWholeRuns) {
  Populate();
  Result r = Cli({"query", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json runs = json::parse(r.out);
  ASSERT_TRUE(runs.is_array());
  ASSERT_EQ(runs.size(), 5u);
  for (const auto& run : runs) {
    EXPECT_TRUE(run.contains("params"));
    EXPECT_TRUE(run.contains("metrics"));
    EXPECT_TRUE(run.contains("execute"));
  }
  r = Cli({"query", "--format=json", "--columns", "test_name,params.lr", "--exp", "mnist"});
  ASSERT_EQ(r.code, 0) << r.err;
  runs = json::parse(r.out);
  ASSERT_EQ(runs.size(), 3u);
  for (const auto& run : runs) {
    EXPECT_EQ(run.size(), 2u) << run.dump();
    EXPECT_TRUE(run["params.lr"].is_number());
  }
}

TEST_F(CliTest, QueryJsonlIsOneObjectPerLineWithTheColumns) {
  Populate();
  Result r = Cli({"query", "--format", "jsonl", "--columns",
                  "exp_name,test_name,metrics.acc,params.seed,note"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u);
  std::set<std::string> tests;
  for (const auto& line : lines) {
    json row = json::parse(line);
    ASSERT_TRUE(row.is_object());
    std::vector<std::string> keys;
    for (auto& [k, v] : row.items()) keys.push_back(k);
    EXPECT_THAT(keys, ::testing::UnorderedElementsAre("exp_name", "test_name",
                                                      "metrics.acc", "params.seed",
                                                      "note"));
    tests.insert(Key(row));
    if (row["test_name"] == t_mnist_005_) {
      EXPECT_EQ(row["note"], "best one");
    }
  }
  EXPECT_EQ(tests.size(), 5u);
  EXPECT_EQ(tests.count("mnist/" + t_mnist_01_), 1u);
  // An absent column is null.
  r = Cli({"query", "--format", "jsonl", "--columns", "test_name,params.nothing"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(json::parse(Lines(r.out).at(0))["params.nothing"].is_null());
}

TEST_F(CliTest, QueryCsvHasAHeaderAndOneRowPerRun) {
  Populate();
  Result r = Cli({"query", "--format", "csv"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0], "exp_name,test_name,status,progress.start,progress.ratio");
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_THAT(lines[i], ::testing::MatchesRegex(
                              "(mnist|cifar),[0-9]{6}\\.[0-9]{3}\\.[a-z0-9]{2}t,"
                              "(finished|failed),[0-9-]+,[0-9.]+"));
  }
  r = Cli({"query", "--format", "csv", "--columns", "test_name,note", "--exp", "mnist",
           "note ~ best"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "test_name,note\n" + t_mnist_005_ + ",best one\n");
}

TEST_F(CliTest, QuerySortDescendingWithLimit) {
  Populate();
  std::vector<json> rows =
      QueryJsonl({"--sort=-metrics.acc", "--limit", "3", "--columns", "test_name,metrics.acc"});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(Column(rows, "test_name"),
            (std::vector<std::string>{json(t_mnist_005_).dump(), json(t_mnist_01_).dump(),
                                      json(t_cifar_001_).dump()}));
  EXPECT_GT(rows[0]["metrics.acc"].get<double>(), rows[1]["metrics.acc"].get<double>());
  EXPECT_GT(rows[1]["metrics.acc"].get<double>(), rows[2]["metrics.acc"].get<double>());
  // --desc says the same as a leading '-'.
  EXPECT_EQ(rows, QueryJsonl({"--sort", "metrics.acc", "--desc", "--limit", "3",
                              "--columns", "test_name,metrics.acc"}));
  std::vector<json> asc = QueryJsonl({"--sort", "metrics.acc", "--columns", "test_name"});
  ASSERT_EQ(asc.size(), 5u);
  EXPECT_EQ(asc.back()["test_name"], t_mnist_005_);
}

TEST_F(CliTest, QueryByStatus) {
  Populate();
  std::vector<json> failed =
      QueryJsonl({"--status", "failed", "--columns",
                  "exp_name,status,progress.end_code,exception.exception_content"});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["exp_name"], "cifar");
  EXPECT_EQ(failed[0]["status"], "failed");
  EXPECT_NE(failed[0]["progress.end_code"], 0);
  EXPECT_THAT(failed[0]["exception.exception_content"].get<std::string>(),
              HasSubstr("loss diverged"));
  EXPECT_EQ(QueryJsonl({"status == failed", "--columns", "exp_name,status"}),
            QueryJsonl({"--status=failed", "--columns", "exp_name,status"}));
  EXPECT_EQ(QueryJsonl({"--status", "finished"}).size(), 4u);
  EXPECT_EQ(QueryJsonl({"--status", "running"}).size(), 0u);
}

// --- dump ---

TEST_F(CliTest, DumpPrintsOneRunPerLineWithLumosKeys) {
  Populate();
  Result r = Cli({"dump"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u);
  std::set<std::string> tests;
  for (const auto& line : lines) {
    json run = json::parse(line);
    for (const char* key : {"exp_name", "test_name", "status", "progress", "execute",
                            "pinfo", "params", "metrics", "tags", "note", "roots",
                            "info_dir", "blob_dir", "cache_dir", "hooks", "lock"}) {
      EXPECT_TRUE(run.contains(key)) << key << " missing in " << line;
    }
    EXPECT_TRUE(run["progress"].contains("start"));
    EXPECT_TRUE(run["execute"].contains("exec_argv"));
    EXPECT_TRUE(run["pinfo"].contains("pid"));
    EXPECT_TRUE(run["metrics"].contains("acc"));
    tests.insert(Key(run));
  }
  EXPECT_EQ(tests.size(), 5u);

  r = Cli({"dump", t_mnist_01_, "--exp", "mnist"});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  json run = json::parse(lines[0]);
  EXPECT_EQ(run["test_name"], t_mnist_01_);
  EXPECT_EQ(run["params"]["lr"], 0.1);
  EXPECT_EQ(run["metrics_detail"]["acc"]["count"], 3);
  EXPECT_EQ(run["tags"], json({"lr=0.1000", "seed=1"}));

  r = Cli({"dump", "--exp", "cifar"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), 2u);

  r = Cli({"dump", t_mnist_01_, "991231.001.zzt", "--exp", "mnist"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(Lines(r.out).size(), 1u);
  EXPECT_THAT(r.err, HasSubstr("991231.001.zzt"));
}

// --- load, --no-load, reindex ---

TEST_F(CliTest, NoLoadDoesNotSeeRunsRecordedAfterTheLastLoad) {
  Populate();
  Result r = Cli({"load"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("loaded: 5 journals read"));
  EXPECT_THAT(r.out, HasSubstr(home_ + "/.cache/lumo/lumodb/index"));
  r = Cli({"load"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("loaded: 0 journals read, 0 records applied"));

  std::string late = Train("late", "0.3", 9);
  std::vector<json> before =
      QueryJsonl({"--no-load", "--columns", "exp_name,test_name"});
  EXPECT_EQ(before.size(), 5u);
  for (const auto& row : before) EXPECT_NE(Key(row), "late/" + late);
  Result show = Cli({"--no-load", "show", late});
  EXPECT_EQ(show.code, 1);
  EXPECT_THAT(show.err, HasSubstr(late));

  std::vector<json> after = QueryJsonl({"--columns", "exp_name,test_name"});
  ASSERT_EQ(after.size(), 6u);
  std::set<std::string> keys;
  for (const auto& row : after) keys.insert(Key(row));
  EXPECT_EQ(keys.count("late/" + late), 1u);
}

TEST_F(CliTest, ReindexGivesTheSameAnswers) {
  Populate();
  std::vector<json> before = QueryJsonl({});
  Result sorted_before = Cli({"query", "--sort=-metrics.acc", "--format", "csv"});
  ASSERT_EQ(before.size(), 5u);
  Result r = Cli({"reindex"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reindexed: 5 journals read"));
  EXPECT_EQ(QueryJsonl({"--no-load"}), before);
  EXPECT_EQ(QueryJsonl({}), before);
  Result sorted_after = Cli({"query", "--no-load", "--sort=-metrics.acc", "--format", "csv"});
  EXPECT_EQ(sorted_after.out, sorted_before.out);
  // A reindex of a deleted index rebuilds it too.
  r = Cli({"--db", dir_ / "fresh", "reindex"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(QueryJsonl({"--db", dir_ / "fresh", "--no-load"}), before);
}

TEST_F(CliTest, InfoRootAndDbOptionsPointElsewhere) {
  Populate();
  // An empty info_root and a fresh index: no runs.
  ASSERT_EQ(::mkdir((dir_ / "empty").c_str(), 0755), 0);
  Result r = Cli({"--info-root", dir_ / "empty", "--db", dir_ / "other", "query",
                  "--format", "jsonl"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  // $LUMODB_DB is the default index when --db is not given.
  Result env = Exec("lumo-db", {"load"}, {{"LUMODB_DB", dir_ / "from-env"}});
  ASSERT_EQ(env.code, 0) << env.err;
  EXPECT_THAT(env.out, HasSubstr(dir_ / "from-env"));
}

TEST_F(CliTest, DbThatIsAFileIsAClearError) {
  const std::string file = dir_ / "not-a-dir";
  testing::WriteFile(file, "hello");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--db", file, "query"},
        std::vector<std::string>{"query", "--db", file},
        std::vector<std::string>{"--db", file, "load"},
        std::vector<std::string>{"--db", file, "--no-load", "show", "240101.001.aat"}}) {
    Result r = Cli(args);
    EXPECT_EQ(r.code, 1) << ::testing::PrintToString(args);
    EXPECT_THAT(r.err, HasSubstr(file));
    EXPECT_THAT(r.err, HasSubstr("directory"));
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(testing::ReadFile(file), "hello");
}

}  // namespace
}  // namespace lumodb

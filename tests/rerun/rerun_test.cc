// Tests for engine/src/rerun*.cc, lineage.cc and the rerun and lineage
// commands: override merging as a unit, then the real lumo-db rerunning
// real child programs (example_trainer, rerun_child) under a temporary
// $HOME, and lumo's own fixture tree imported into a TempDir.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "rerun/command.h"
#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using testing::Lines;
using testing::Result;
using Words = std::vector<std::string>;

Words Merge(const Words& args, const Words& overrides) {
  Words out;
  Status s = MergeOverrides(args, overrides, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// --- MergeOverrides ---

TEST(RerunOverrides, ValueReplacesEitherFormAndKeepsIt) {
  EXPECT_EQ(Merge({"--lr", "0.1", "--seed=1", "--epochs", "3"}, {"--lr=0.2", "--seed", "7"}),
            (Words{"--lr", "0.2", "--seed=7", "--epochs", "3"}));
}

TEST(RerunOverrides, MissingOptionsAreAppendedInTheFormGiven) {
  EXPECT_EQ(Merge({"--lr", "0.1"}, {"--seed=2", "--epochs", "5"}),
            (Words{"--lr", "0.1", "--seed=2", "--epochs", "5"}));
}

TEST(RerunOverrides, BareFlagsAndNoFlags) {
  const Words args = {"--fast", "--no-augment", "--lr", "0.1"};
  // --no-fast replaces --fast, --augment replaces --no-augment.
  EXPECT_EQ(Merge(args, {"--no-fast", "--augment"}),
            (Words{"--no-fast", "--augment", "--lr", "0.1"}));
  // A flag already there is kept once; a new one is appended.
  EXPECT_EQ(Merge(args, {"--fast", "--verbose"}),
            (Words{"--fast", "--no-augment", "--lr", "0.1", "--verbose"}));
  EXPECT_EQ(Merge({"--lr", "0.1"}, {"--no-cuda"}), (Words{"--lr", "0.1", "--no-cuda"}));
}

TEST(RerunOverrides, PositionalArgumentsStayInPlace) {
  EXPECT_EQ(Merge({"train.csv", "--lr", "0.1", "val.csv"}, {"--lr", "0.3"}),
            (Words{"train.csv", "--lr", "0.3", "val.csv"}));
}

TEST(RerunOverrides, ValuesAreVerbatim) {
  EXPECT_EQ(Merge({"--lr", "0.1", "--seed", "1"}, {"--lr=1e-3", "--seed", "-1"}),
            (Words{"--lr", "1e-3", "--seed", "-1"}));
  EXPECT_EQ(Merge({}, {"--name=a b 'c'", "--empty="}),
            (Words{"--name=a b 'c'", "--empty="}));
}

TEST(RerunOverrides, EveryOccurrenceIsReplaced) {
  // lumo's own rerun appends: "--lr 0.1 ... --lr=0.2".
  EXPECT_EQ(Merge({"--lr", "0.1", "--seed", "1", "--lr=0.2"}, {"--lr=0.5"}),
            (Words{"--lr", "0.5", "--seed", "1", "--lr=0.5"}));
}

TEST(RerunOverrides, SingleDashOptions) {
  EXPECT_EQ(Merge({"-n", "3", "-v"}, {"-n", "5"}), (Words{"-n", "5", "-v"}));
}

TEST(RerunOverrides, LoneDashPassesWordsThrough) {
  // Options go before the command's own "--"; words after the overrides'
  // "--" are appended unparsed, even when they look like overrides.
  EXPECT_EQ(Merge({"--lr", "0.1", "--", "--raw"}, {"--seed=2", "--", "--lr=9", "x"}),
            (Words{"--lr", "0.1", "--seed=2", "--", "--raw", "--lr=9", "x"}));
  EXPECT_EQ(Merge({"--lr", "0.1"}, {"--", "extra.txt"}), (Words{"--lr", "0.1", "extra.txt"}));
}

TEST(RerunOverrides, StrayPositionalWordIsNamed) {
  Words out = {"untouched"};
  Status s = MergeOverrides({"--lr", "0.1"}, {"data.csv"}, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), HasSubstr("'data.csv'"));
  EXPECT_EQ(out, Words{"untouched"});
}

TEST(RerunCommandLine, LumoRunDropsTheRepeatedScript) {
  RecordedExecute e;
  e.exec_file = "train.py";
  e.exec_bin = "/usr/bin/python3";
  e.exec_argv = {"train.py", "train.py", "--lr", "0.1", "--lr=0.2"};
  e.from_lumo = true;
  Words program, args;
  ASSERT_TRUE(SplitRecordedCommand(e, &program, &args).ok());
  EXPECT_EQ(program, (Words{"/usr/bin/python3", "train.py"}));
  EXPECT_EQ(args, (Words{"--lr", "0.1", "--lr=0.2"}));
}

TEST(RerunCommandLine, LumoDbRunUsesTheResolvedExecutable) {
  RecordedExecute e;
  e.exec_file = "./trainer";
  e.exec_bin = "/opt/bin/trainer";
  e.exec_argv = {"./trainer", "--lr", "0.1"};
  Words program, args;
  ASSERT_TRUE(SplitRecordedCommand(e, &program, &args).ok());
  EXPECT_EQ(program, Words{"/opt/bin/trainer"});
  EXPECT_EQ(args, (Words{"--lr", "0.1"}));
  EXPECT_TRUE(SplitRecordedCommand(RecordedExecute{}, &program, &args).IsNotFound());
}

TEST(RerunCommandLine, ExitStatusAsAShellGivesIt) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(3);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(ShellExitStatus(status), 3);
  pid = ::fork();
  if (pid == 0) {
    ::raise(SIGKILL);
    ::_exit(0);
  }
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(ShellExitStatus(status), 128 + SIGKILL);
}

// --- lumo-db rerun and lineage, with real children ---

class RerunCliTest : public testing::ProgramTest {
 protected:
  Result Exec(const std::string& program, const Words& args, const std::string& cwd = "") {
    return Run(testing::BinPath(program), args, cwd);
  }
  Result Cli(const Words& args) { return Exec("lumo-db", args); }

  // The test_name a child printed ("exp test" on its last line).
  static std::string Printed(const Result& r) {
    std::vector<std::string> lines = Lines(r.out);
    if (lines.empty()) return "";
    std::istringstream in(lines.back());
    std::string exp, test;
    in >> exp >> test;
    return test;
  }

  std::string Train(const std::string& lr, int seed, const std::string& cwd = "") {
    Result r = Exec("example_trainer",
                    {"--exp", "mnist", "--lr", lr, "--seed", std::to_string(seed),
                     "--epochs", "2", "--sleep-ms", "1"},
                    cwd);
    EXPECT_EQ(r.code, 0) << r.err;
    return Printed(r);
  }

  json Show(const std::string& test) {
    Result r = Cli({"show", test, "--format", "jsonl"});
    EXPECT_EQ(r.code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  // A rerun that must succeed; returns the new test_name.
  std::string Rerun(const Words& args) {
    Words all = {"rerun"};
    all.insert(all.end(), args.begin(), args.end());
    Result r = Cli(all);
    EXPECT_EQ(r.code, 0) << r.err;
    return Printed(r);
  }

  static Words Argv(const json& run) {
    return run["execute"]["exec_argv"].get<Words>();
  }

};

TEST_F(RerunCliTest, HelpAndUsageErrors) {
  Result app = Cli({"--help"});
  EXPECT_THAT(app.out, HasSubstr("rerun"));
  EXPECT_THAT(app.out, HasSubstr("lineage"));
  Result help = Cli({"rerun", "--help"});
  EXPECT_EQ(help.code, 0) << help.err;
  for (const char* word : {"--dry-run", "--detach", "--cwd", "--exp", "--key=value",
                           "--no-flag", "LUMO_RERUN_FROM", "Examples"}) {
    EXPECT_THAT(help.out, HasSubstr(word));
  }
  help = Cli({"lineage", "--help"});
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_THAT(help.out, HasSubstr("--format"));

  Result none = Cli({"rerun"});
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("TEST_NAME"));
  Result bogus = Cli({"rerun", "--bogus", "261128.000.aat"});
  EXPECT_EQ(bogus.code, 2);
  EXPECT_THAT(bogus.err, HasSubstr("--bogus"));
  EXPECT_EQ(Cli({"lineage"}).code, 2);
  EXPECT_EQ(Cli({"lineage", "261128.000.aat"}).code, 1);
}

TEST_F(RerunCliTest, TrainerRerunWithChangedFlagsRecordsArgvParamsAndLineage) {
  const std::string original = Train("0.1", 1);
  const std::string rerun = Rerun({original, "--seed=2", "--lr", "0.05"});
  ASSERT_FALSE(rerun.empty());
  ASSERT_NE(rerun, original);

  json run = Show(rerun);
  EXPECT_EQ(run["status"], "finished");
  Words argv = Argv(run);
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(Words(argv.begin() + 1, argv.end()),
            (Words{"--exp", "mnist", "--lr", "0.05", "--seed", "2", "--epochs", "2",
                   "--sleep-ms", "1"}));
  EXPECT_EQ(run["execute"]["cwd"], Show(original)["execute"]["cwd"]);
  EXPECT_EQ(run["params"]["lr"], 0.05);
  EXPECT_EQ(run["params"]["seed"], 2);
  EXPECT_EQ(run["rerun"]["from"], original);
  EXPECT_EQ(run["rerun"]["repeat"], 1);
  EXPECT_EQ(Show(original)["rerun"]["reruns"], json::array({rerun}));
}

TEST_F(RerunCliTest, AllOverrideFormsReachTheChild) {
  Result first = Exec("rerun_child", {"--lr", "0.1", "--fast", "--no-aug", "--seed=1",
                                      "data.csv"});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string original = Printed(first);
  const std::string rerun = Rerun({original, "--seed=3", "--lr", "1e-3", "--no-fast", "--aug",
                                   "--verbose", "--", "--raw=1", "more.csv"});
  json run = Show(rerun);
  Words argv = Argv(run);
  const Words expected = {"--lr", "1e-3", "--no-fast", "--aug", "--seed=3", "data.csv",
                          "--verbose", "--raw=1", "more.csv"};
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(Words(argv.begin() + 1, argv.end()), expected);
  EXPECT_EQ(run["params"]["argv"].get<Words>(), expected);
}

TEST_F(RerunCliTest, DryRunPrintsTheCommandAndRunsNothing) {
  Result first = Exec("rerun_child", {"--note", "it's here", "--lr", "0.1"});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string original = Printed(first);
  // --exp after the test_name is the program's, not lumo-db's.
  Result r = Cli({"rerun", "--dry-run", original, "--lr=2e-1", "--exp", "other"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], testing::BinPath("rerun_child") +
                          " --note 'it'\\''s here' --lr 2e-1 --exp other");
  EXPECT_THAT(lines[1], HasSubstr("cwd: "));
  EXPECT_THAT(r.out, HasSubstr("env: LUMO_RERUN_FROM=" + original + "\n"));
  EXPECT_THAT(r.out, HasSubstr("env: LUMO_RERUN_REPEAT=1\n"));
  EXPECT_FALSE(Show(original)["rerun"].is_object()) << "a dry run started a rerun";
  std::set<std::string> runs;
  for (const auto& e : std::filesystem::directory_iterator(home_ + "/.lumo/experiments/rerun.child")) {
    runs.insert(e.path().filename());
  }
  EXPECT_EQ(runs, std::set<std::string>{original});
}

TEST_F(RerunCliTest, MissingCwdIsNamedAndCwdChoosesAnother) {
  const std::string gone = dir_ / "gone";
  ASSERT_EQ(::mkdir(gone.c_str(), 0755), 0);
  const std::string original = Train("0.1", 1, gone);
  std::filesystem::remove_all(gone);
  Result r = Cli({"rerun", original, "--seed=5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(gone));
  EXPECT_THAT(r.err, HasSubstr("--cwd"));
  EXPECT_THAT(Cli({"rerun", "--cwd", dir_ / "nowhere", original}).err, HasSubstr("nowhere"));

  const std::string rerun = Rerun({"--cwd", work_, original, "--seed=5"});
  json run = Show(rerun);
  EXPECT_EQ(run["execute"]["cwd"], work_);
  EXPECT_EQ(run["params"]["seed"], 5);
  EXPECT_EQ(run["rerun"]["from"], original);
}

TEST_F(RerunCliTest, FailingChildsExitStatusIsPassedOn) {
  Result first = Exec("rerun_child", {"--lr", "0.1"});
  ASSERT_EQ(first.code, 0) << first.err;
  const std::string original = Printed(first);

  Result failed = Cli({"rerun", original, "--exit=3"});
  EXPECT_EQ(failed.code, 3) << failed.err;
  json run = Show(Printed(failed));
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(run["progress"]["end_code"], 3);
  EXPECT_EQ(run["rerun"]["from"], original);

  Result killed = Cli({"rerun", original, "--signal=9"});
  EXPECT_EQ(killed.code, 128 + SIGKILL) << killed.err;

  // A program that stops before it starts a run: its status, and no run.
  const std::string trained = Train("0.1", 1);
  const auto count = [&] {
    size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(home_ + "/.lumo/experiments/mnist")) {
      (void)e;
      ++n;
    }
    return n;
  };
  const size_t before = count();
  Result usage = Cli({"rerun", trained, "--bogus=1"});
  EXPECT_EQ(usage.code, 2);
  EXPECT_THAT(usage.err, HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(usage.err, HasSubstr("recorded no run"));
  EXPECT_EQ(count(), before) << "the claimed folder was left behind";
  EXPECT_EQ(Cli({"rerun", "261128.999.zzt"}).code, 1);
  EXPECT_EQ(Cli({"rerun", trained, "stray"}).code, 2);
}

TEST_F(RerunCliTest, ThreeRerunsAndARerunOfARerunAreLinkedBothWays) {
  const std::string original = Train("0.1", 1);
  const std::string r1 = Rerun({original, "--seed=2"});
  const std::string r2 = Rerun({original, "--seed=3"});
  const std::string r3 = Rerun({original, "--lr", "0.2"});
  const std::string r4 = Rerun({r2, "--epochs", "3"});

  EXPECT_THAT(Show(original)["rerun"]["reruns"].get<Words>(), UnorderedElementsAre(r1, r2, r3));
  json two = Show(r2);
  EXPECT_EQ(two["rerun"]["from"], original);
  EXPECT_EQ(two["rerun"]["repeat"], 1);
  EXPECT_EQ(two["rerun"]["reruns"], json::array({r4}));
  json four = Show(r4);
  EXPECT_EQ(four["rerun"]["from"], r2);
  EXPECT_EQ(four["rerun"]["repeat"], 2);
  EXPECT_EQ(four["params"]["seed"], 3);  // inherited from r2's command
  EXPECT_EQ(four["params"]["epochs"], 3);

  // The whole tree, asked from its deepest run.
  Result tree = Cli({"lineage", r4, "--format", "json"});
  ASSERT_EQ(tree.code, 0) << tree.err;
  json root = json::parse(tree.out);
  EXPECT_EQ(root["test_name"], original);
  ASSERT_EQ(root["reruns"].size(), 3u);
  std::map<std::string, json> children;
  for (const auto& c : root["reruns"]) children[c["test_name"]] = c;
  ASSERT_EQ(children.count(r2), 1u);
  EXPECT_EQ(children[r2]["changes"], "seed: 1 -> 3");
  ASSERT_EQ(children[r2]["reruns"].size(), 1u);
  EXPECT_EQ(children[r2]["reruns"][0]["test_name"], r4);
  EXPECT_EQ(children[r2]["reruns"][0]["repeat"], 2);
  EXPECT_EQ(children[r2]["reruns"][0]["changes"], "epochs: 2 -> 3");
  EXPECT_EQ(children[r1]["reruns"].size(), 0u);

  Result text = Cli({"lineage", r1});
  ASSERT_EQ(text.code, 0) << text.err;
  std::vector<std::string> lines = Lines(text.out);
  ASSERT_EQ(lines.size(), 5u) << text.out;
  EXPECT_THAT(lines[0], HasSubstr(original));
  size_t marked = 0;
  for (const auto& line : lines) {
    if (line.find("<- this run") != std::string::npos) {
      ++marked;
      EXPECT_THAT(line, HasSubstr(r1));
    }
  }
  EXPECT_EQ(marked, 1u);
  EXPECT_THAT(text.out, HasSubstr("│   └── " + r4));  // under r2, which has a sibling after it
}

TEST_F(RerunCliTest, DetachPrintsTheNewTestNameAndTheRunFinishes) {
  const std::string original = Train("0.1", 1);
  Result r = Cli({"rerun", "--detach", original, "--seed=4"});
  ASSERT_EQ(r.code, 0) << r.err;
  // The detached child shares lumo-db's stdout ("mnist TEST" when it
  // ends): lumo-db's own line is the bare test_name.
  std::string rerun;
  for (const auto& line : Lines(r.out)) {
    if (line.find(' ') == std::string::npos) rerun = line;
  }
  ASSERT_FALSE(rerun.empty()) << r.out;
  json run;
  for (int i = 0; i < 200; ++i) {  // waits for the background child, up to 20 s
    Result shown = Cli({"show", rerun, "--format", "jsonl"});
    if (shown.code == 0) {
      run = json::parse(shown.out);
      if (run["status"] == "finished") break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(run["status"], "finished");
  EXPECT_EQ(run["params"]["seed"], 4);
  EXPECT_EQ(run["rerun"]["from"], original);
}

// --- runs imported from lumo's fixture tree ---

class RerunLumoTest : public RerunCliTest {
 protected:
  void SetUp() override {
    RerunCliTest::SetUp();
    tree_ = dir_ / "lumo-home";
    std::filesystem::copy(testing::FixturesDir() + "/lumo-home", tree_,
                          std::filesystem::copy_options::recursive);
  }
  void Import() {
    Result r = Cli({"import", tree_ + "/experiments"});
    ASSERT_EQ(r.code, 0) << r.err << r.out;
  }
  std::string tree_;
};

TEST_F(RerunLumoTest, DryRunOfAMovedTreeStillPrintsTheCommand) {
  // A tree copied from another machine: the recorded working folder is
  // not here (the copy's execute.json names a folder that does not exist).
  const std::string gone = dir_ / "other-machine/project";
  const std::string execute = tree_ + "/experiments/mnist.mlp/261128.007.adt/info/execute.json";
  json exec = json::parse(testing::ReadFile(execute));
  exec["cwd"] = gone;
  testing::WriteFile(execute, exec.dump(2));
  ASSERT_FALSE(std::filesystem::exists(gone));
  Import();

  Result r = Cli({"rerun", "--dry-run", "261128.007.adt", "--seed=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0],
            "/usr/bin/python3 train.py --exp mnist.mlp --lr 0.1 --seed 3 --epochs 4 --lr=0.2");
  EXPECT_EQ(lines[1], "cwd: " + gone);
  EXPECT_THAT(r.out, HasSubstr("env: LUMO_RERUN_FROM=261128.007.adt\n"));
  EXPECT_THAT(r.err, HasSubstr("warning: working folder " + gone));
  EXPECT_THAT(r.err, HasSubstr("--cwd"));

  // Only a real rerun refuses, naming the folder, and claims nothing.
  Result real = Cli({"rerun", "261128.007.adt", "--seed=3"});
  EXPECT_EQ(real.code, 1);
  EXPECT_THAT(real.err, HasSubstr(gone));
  EXPECT_THAT(real.err, HasSubstr("--cwd"));
  EXPECT_FALSE(std::filesystem::exists(home_ + "/.lumo/experiments/mnist.mlp"))
      << "a refused rerun claimed a test_name";
}

TEST_F(RerunLumoTest, DryRunOfAnImportedRerunDropsTheRepeatedScript) {
  Import();
  Result r = Cli({"rerun", "--dry-run", "--cwd", work_, "261128.007.adt", "--seed=3"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0],
            "/usr/bin/python3 train.py --exp mnist.mlp --lr 0.1 --seed 3 --epochs 4 --lr=0.2");
  EXPECT_EQ(lines[1], "cwd: " + work_);
  EXPECT_THAT(r.out, HasSubstr("env: LUMO_RERUN_FROM=261128.007.adt\n"));
  EXPECT_THAT(r.out, HasSubstr("env: LUMO_RERUN_REPEAT=2\n"));  // 007 is repeat 1
  EXPECT_FALSE(std::filesystem::exists(home_ + "/.lumo/experiments/mnist.mlp"))
      << "a dry run claimed a test_name";
}

TEST_F(RerunLumoTest, NeverStartedRerunIsShownAsSuchAndInTheLineage) {
  // What lumo leaves when a rerun's child fails at once: the rerun record.
  const std::string never = tree_ + "/experiments/mnist.mlp/261128.008.fft";
  std::filesystem::create_directories(never + "/info");
  testing::WriteFile(never + "/info/rerun.json",
                     R"({"from": "261128.000.d6t", "repeat": 1})");
  Import();
  json run = Show("261128.008.fft");
  EXPECT_EQ(run["status"], "not_started");
  EXPECT_EQ(run["rerun"]["from"], "261128.000.d6t");
  EXPECT_THAT(Show("261128.000.d6t")["rerun"]["reruns"].get<Words>(),
              UnorderedElementsAre("261128.006.74t", "261128.007.adt", "261128.008.fft"));
  Result listed = Cli({"query", "--status", "not_started", "--format", "jsonl"});
  ASSERT_EQ(listed.code, 0) << listed.err;
  ASSERT_EQ(Lines(listed.out).size(), 1u) << listed.out;

  Result tree = Cli({"lineage", "261128.008.fft"});
  ASSERT_EQ(tree.code, 0) << tree.err;
  EXPECT_THAT(tree.out, HasSubstr("261128.008.fft  not_started"));
  EXPECT_THAT(tree.out, HasSubstr("261128.006.74t  finished"));
  EXPECT_THAT(tree.out, HasSubstr("seed: 1 -> 7"));

  Result rerun = Cli({"rerun", "--cwd", work_, "261128.008.fft"});
  EXPECT_EQ(rerun.code, 1);
  EXPECT_THAT(rerun.err, HasSubstr("never started"));

  // Exported back to lumo's layout it is still only its rerun record.
  const std::string out = dir_ / "exported";
  Result dumped = Cli({"dump", "--format", "lumo-dir", out, "261128.008.fft"});
  ASSERT_EQ(dumped.code, 0) << dumped.err;
  EXPECT_FALSE(std::filesystem::exists(out + "/mnist.mlp/261128.008.fft/info/test_name.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/mnist.mlp/261128.008.fft/info/rerun.json"));
  Result again = Cli({"--db", dir_ / "db2", "import", out});
  ASSERT_EQ(again.code, 0) << again.err;
  Result shown = Cli({"--db", dir_ / "db2", "show", "261128.008.fft", "--format", "jsonl"});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(json::parse(shown.out)["status"], "not_started");
}

TEST_F(RerunLumoTest, RealRerunOfALumoRunWritesLumosRerunRecord) {
  // A stand-in for lumo's Python: /bin/sh runs the recorded "script",
  // which starts the run under $LUMO_EXP_TEST_NAME as lumo would.
  const std::string exp_dir = tree_ + "/experiments/mnist.mlp";
  testing::WriteFile(work_ + "/train.py",
                     "mkdir -p \"$EXPS/$LUMO_EXP_TEST_NAME/info\"\n"
                     "printf '\"%s\"' \"$LUMO_EXP_TEST_NAME\" > "
                     "\"$EXPS/$LUMO_EXP_TEST_NAME/info/test_name.json\"\n"
                     "printf '%s ' \"$@\" > \"$EXPS/$LUMO_EXP_TEST_NAME/argv.txt\"\n"
                     "exit 4\n");
  json execute = json::parse(testing::ReadFile(exp_dir + "/261128.000.d6t/info/execute.json"));
  execute["exec_bin"] = "/bin/sh";
  execute["cwd"] = work_;
  testing::WriteFile(exp_dir + "/261128.000.d6t/info/execute.json", execute.dump(2));
  testing::WriteFile(home_ + "/.lumorc.json",
                     json({{"exp_root", tree_ + "/experiments"}}).dump());
  Import();
  std::set<std::string> before;
  for (const auto& e : std::filesystem::directory_iterator(exp_dir)) {
    before.insert(e.path().filename());
  }
  Result r = testing::RunProgram(testing::BinPath("lumo-db"), {"rerun", "261128.000.d6t", "--seed=9"},
                                 home_, work_, dir_ / "real", {{"EXPS", exp_dir}});
  EXPECT_EQ(r.code, 4) << r.err;
  std::string made;
  for (const auto& e : std::filesystem::directory_iterator(exp_dir)) {
    std::string name = e.path().filename();
    if (before.count(name) == 0) made = name;
  }
  ASSERT_FALSE(made.empty()) << r.err;
  EXPECT_EQ(json::parse(testing::ReadFile(exp_dir + "/" + made + "/info/rerun.json")),
            json({{"from", "261128.000.d6t"}, {"repeat", 1}}));
  EXPECT_EQ(testing::ReadFile(exp_dir + "/" + made + "/argv.txt"),
            "--exp mnist.mlp --lr 0.1 --seed 9 --epochs 4 ");
}

// --checkout: the original's code snapshot is written into a temporary
// folder and the command runs there, in the recorded folder's place inside
// the repository, not in the edited working tree.
TEST_F(RerunLumoTest, CheckoutRunsTheSnapshotNotTheEditedWorkTree) {
  const std::string repo = dir_ / "proj";
  std::filesystem::create_directories(repo + "/sub");
  auto git = [&](const Words& args) {
    Result r = Git(repo, args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  };
  git({"init", "-q", "-b", "main"});
  testing::WriteFile(repo + "/sub/run.sh", "echo v1 \"$@\" > \"$OUT\"; pwd >> \"$OUT\"\n");
  git({"add", "-A"});
  git({"commit", "-q", "-m", "v1"});
  const std::string commit = Lines(git({"rev-parse", "HEAD"}))[0];
  testing::WriteFile(repo + "/sub/run.sh", "echo v2 > \"$OUT\"\n");  // edited since

  const std::string run_dir = tree_ + "/experiments/mnist.mlp/261128.000.d6t";
  testing::WriteFile(run_dir + "/info/execute.json",
                     json({{"repo", repo}, {"cwd", repo + "/sub"}, {"exec_file", "run.sh"},
                           {"exec_bin", "/bin/sh"},
                           {"exec_argv", {"run.sh", "--seed", "1"}}}).dump());
  testing::WriteFile(run_dir + "/info/git.json",
                     json({{"commit", commit.substr(0, 8)}, {"repo", repo}}).dump());
  testing::WriteFile(home_ + "/.lumorc.json", json({{"exp_root", dir_ / "own"}}).dump());
  Import();

  Result dry = Cli({"rerun", "--checkout", "--dry-run", "261128.000.d6t", "--seed=2"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("cwd: '<checkout>/sub'\n"));
  EXPECT_THAT(dry.out, HasSubstr("checkout: " + commit + " from " + repo));

  const std::string tmp = dir_ / "tmp";
  ASSERT_EQ(::mkdir(tmp.c_str(), 0755), 0);
  const std::string out = dir_ / "out.txt";
  Result r = testing::RunProgram(testing::BinPath("lumo-db"),
                                 {"rerun", "--checkout", "261128.000.d6t", "--seed=2"}, home_,
                                 work_, dir_ / "checkout", {{"OUT", out}, {"TMPDIR", tmp}});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(testing::ReadFile(out));
  ASSERT_EQ(lines.size(), 2u) << testing::ReadFile(out);
  EXPECT_EQ(lines[0], "v1 --seed 2");
  EXPECT_THAT(lines[1], ::testing::StartsWith(tmp + "/lumodb-rerun-"));
  EXPECT_THAT(lines[1], ::testing::EndsWith("/code/sub"));
  EXPECT_THAT(r.err, HasSubstr("checked out in " + lines[1]));
  // The user's working tree is as it was.
  EXPECT_EQ(testing::ReadFile(repo + "/sub/run.sh"), "echo v2 > \"$OUT\"\n");

  // No snapshot to check out: named, nothing run.
  testing::WriteFile(run_dir + "/info/git.json", json({{"repo", repo}}).dump());
  Cli({"import", tree_ + "/experiments"});
  Result none = Cli({"rerun", "--checkout", "261128.000.d6t"});
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("261128.000.d6t"));
  Result both = Cli({"rerun", "--checkout", "--cwd", work_, "261128.000.d6t"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("--cwd"));
}

}  // namespace
}  // namespace lumodb

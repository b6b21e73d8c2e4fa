// Tests for Watcher::export_lumo and `lumo-db dump --format lumo-dir`:
// runs written in lumo's layout read back by the importer, compared with
// the runs they came from. Fixtures are copied into a TempDir first.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lumo/pickle.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

void FailOnWarning(const std::string& message) { ADD_FAILURE() << "warning: " << message; }

// Fields of a run's JSON that name where the run's files lie, not what the
// run recorded: they differ between a tree and its export by design.
//   info_dir      the run folder the importer read
//   journal.path  the same folder (an imported run has no journal)
//   lumo_markers  whether lumo's heartbeat/pid markers exist in the cache
//                 folder beside the source tree (importer bookkeeping; an
//                 exported tree has no lumo cache)
const std::vector<std::vector<std::string>> kLocationFields = {
    {"info_dir"}, {"journal", "path"}, {"lumo_markers"}};

json WithoutLocation(json run) {
  for (const auto& path : kLocationFields) {
    json* node = &run;
    for (size_t i = 0; i + 1 < path.size() && node != nullptr; ++i) {
      node = node->contains(path[i]) ? &(*node)[path[i]] : nullptr;
    }
    if (node != nullptr && node->is_object()) node->erase(path.back());
  }
  return run;
}

// Every file under dir (relative path -> bytes).
std::map<std::string, std::string> Tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = fs::relative(e.path(), dir).string();
    out[rel] = e.is_regular_file() ? testing::ReadFile(e.path().string()) : "<dir>";
  }
  return out;
}

// Whether DecodePickle is the real decoder (in this tree it may still be the
// stub that decodes every pickle as an empty dict).
bool RealPickleDecoder() {
  json out;
  Status s = DecodePickle(EncodePickleFloatDict({{"a", 0.5}}), &out, nullptr);
  return s.ok() && out == json{{"a", 0.5}};
}

class LumoExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("LUMO_EXP_TEST_NAME");
    ::unsetenv("LUMODB_DB");
    char buf[4096];
    ASSERT_NE(::getcwd(buf, sizeof(buf)), nullptr);
    old_cwd_ = buf;
    ASSERT_EQ(::chdir(dir_.path().c_str()), 0);  // LastCmd writes run_*.sh here
    roots_.home = dir_ / "home";
    roots_.info_root = dir_ / "info";
    roots_.blob_root = dir_ / "blob";
    roots_.cache_root = dir_ / "cache";
  }
  void TearDown() override { EXPECT_EQ(::chdir(old_cwd_.c_str()), 0); }

  std::unique_ptr<Watcher> Open(const std::string& db) {
    WatcherOptions options;
    options.writer_wait_ms = 500;  // tests never wait long for another writer
    options.db_path = dir_ / db;
    options.warn = FailOnWarning;
    std::unique_ptr<Watcher> w;
    Status s = Watcher::Open(roots_, options, &w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }

  // A copy of the fixtures' lumo home and cache, imported into index "db".
  std::unique_ptr<Watcher> ImportFixtures() {
    fs::copy(testing::FixturesDir() + "/lumo-home", dir_ / "lumo-home",
             fs::copy_options::recursive);
    fs::copy(testing::FixturesDir() + "/lumo-cache", dir_ / "lumo-cache",
             fs::copy_options::recursive);
    std::unique_ptr<Watcher> w = Open("db");
    ImportReport report;
    Status s = w->import_lumo({dir_ / "lumo-home"}, dir_ / "lumo-cache", &report);
    EXPECT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(report.imported, 13u);
    return w;
  }

  static std::map<std::string, json> AllRuns(Watcher* w) {
    std::vector<std::string> runs;
    Status s = w->query(Query{}, &runs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::map<std::string, json> out;
    for (const auto& r : runs) {
      json j = json::parse(r);
      out[j["exp_name"].get<std::string>() + "/" + j["test_name"].get<std::string>()] = j;
    }
    return out;
  }

  // Records one lumo-db run and returns its test_name.
  std::string RecordRun() {
    Experiment exp("mnist.native", roots_);
    EXPECT_TRUE(exp.start().ok());
    EXPECT_TRUE(exp.dump_info("params", R"({"lr": 0.05, "layers": [64, 32], "opt": {"name": "sgd"}})").ok());
    EXPECT_TRUE(exp.dump_tags({"baseline", "seed=3"}).ok());
    exp.dump_metric("acc", 0.81, Cmp::Max, R"({"best_epoch": 2})");
    exp.dump_metric("acc", 0.79, Cmp::Max);
    exp.dump_metric("loss", 0.4, Cmp::Min);
    EXPECT_TRUE(exp.dump_string("summary", "all good\n").ok());
    EXPECT_TRUE(exp.dump_note("first try: ünïcode and \"quotes\"\n").ok());
    EXPECT_TRUE(exp.dump_progress(1.0).ok());
    EXPECT_TRUE(exp.end(0).ok());
    return exp.test_name();
  }

  testing::TempDir dir_;
  Roots roots_;
  std::string old_cwd_;
};

TEST_F(LumoExportTest, FixturesRoundTripThroughLumoLayout) {
  std::unique_ptr<Watcher> first = ImportFixtures();
  size_t exported = 0;
  Status s = first->export_lumo(Query{}, dir_ / "out", &exported);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(exported, 13u);

  std::unique_ptr<Watcher> second = Open("db2");
  ImportReport report;
  s = second->import_lumo({dir_ / "out"}, "", &report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(report.imported, 13u);
  EXPECT_TRUE(report.problems.empty());
  EXPECT_EQ(report.skipped, 0u);

  std::map<std::string, json> before = AllRuns(first.get());
  std::map<std::string, json> after = AllRuns(second.get());
  ASSERT_EQ(before.size(), 13u);
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [name, run] : before) {
    ASSERT_EQ(after.count(name), 1u) << name;
    EXPECT_EQ(WithoutLocation(after[name]).dump(2), WithoutLocation(run).dump(2)) << name;
    // The location fields do change, to the exported folder.
    EXPECT_EQ(after[name]["info_dir"], dir_ / ("out/" + name));
  }
  // lumo's lost rerun link is kept as lumo wrote it, not repaired.
  EXPECT_EQ(after["mnist.mlp/261128.000.d6t"]["rerun"]["rerun_at"],
            before["mnist.mlp/261128.000.d6t"]["rerun"]["rerun_at"]);

  // The files parse as lumo's readers expect.
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "out")) {
    const std::string path = e.path().string();
    if (e.path().extension() == ".json") {
      json j = json::parse(testing::ReadFile(path), nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << path;
    }
    if (e.path().filename() == "metric.pkl") {
      std::string bytes = testing::ReadFile(path);
      ASSERT_GE(bytes.size(), 2u);
      EXPECT_EQ(bytes.substr(0, 2), std::string("\x80\x04", 2)) << path;
    }
    EXPECT_EQ(path.find(".tmp"), std::string::npos) << path;
    EXPECT_EQ(path.find(".lumodb-export-"), std::string::npos) << path;
  }
  // The same values lumo wrote, key for key (lumo's key order aside).
  const std::string src = dir_ / "lumo-home/experiments/mnist.mlp/261128.000.d6t";
  const std::string dst = dir_ / "out/mnist.mlp/261128.000.d6t";
  for (const auto& e : fs::directory_iterator(src + "/info")) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(json::parse(testing::ReadFile(dst + "/info/" + name)),
              json::parse(testing::ReadFile(e.path().string())))
        << name;
  }
  EXPECT_EQ(testing::ReadFile(dst + "/text/summary.str"),
            testing::ReadFile(src + "/text/summary.str"));
}

TEST_F(LumoExportTest, RecordedRunKeepsWhatItRecorded) {
  const std::string test = RecordRun();
  std::unique_ptr<Watcher> first = Open("db");
  ASSERT_TRUE(first->load().ok());
  json before;
  {
    std::string text;
    ASSERT_TRUE(first->retrieve(test, "mnist.native", &text).ok());
    before = json::parse(text);
  }
  ASSERT_EQ(before["status"], "finished");

  Query q;
  q.exp_name = "mnist.native";
  size_t exported = 0;
  Status s = first->export_lumo(q, dir_ / "out", &exported);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(exported, 1u);

  const std::string run_dir = dir_ / ("out/mnist.native/" + test);
  // lumo's keys, as lumo writes them.
  json progress = json::parse(testing::ReadFile(run_dir + "/info/progress.json"));
  EXPECT_EQ(progress["start"], before["progress"]["start"]);
  EXPECT_EQ(progress["end"], before["progress"]["end"]);
  EXPECT_EQ(progress["end_code"], 0);
  EXPECT_TRUE(progress.contains("update_from") && progress["update_from"].is_null());
  EXPECT_EQ(progress["ratio"], 1.0);
  json pinfo = json::parse(testing::ReadFile(run_dir + "/info/pinfo.json"));
  EXPECT_EQ(pinfo["pid"], ::getpid());
  EXPECT_EQ(pinfo["obj"]["argv"], before["execute"]["exec_argv"]);
  EXPECT_EQ(pinfo["hash"].get<std::string>().size(), 32u);
  EXPECT_EQ(json::parse(testing::ReadFile(run_dir + "/info/exp_name.json")), "mnist.native");
  EXPECT_EQ(json::parse(testing::ReadFile(run_dir + "/info/test_name.json")), test);
  EXPECT_TRUE(json::parse(testing::ReadFile(run_dir + "/info/hooks.json")).is_object());
  EXPECT_EQ(testing::ReadFile(run_dir + "/note.md"), "first try: ünïcode and \"quotes\"\n");
  EXPECT_EQ(testing::ReadFile(run_dir + "/text/summary.str"), "all good\n");
  // As Python's json.dump(value, f, indent=2).
  EXPECT_THAT(testing::ReadFile(run_dir + "/info/params.json"), HasSubstr("{\n  \""));
  for (const auto& e : fs::directory_iterator(run_dir + "/info")) {
    EXPECT_FALSE(json::parse(testing::ReadFile(e.path().string()), nullptr, false).is_discarded())
        << e.path();
  }
  // metric.pkl: the metrics dict (best values and the extras beside them).
  const std::string pkl = testing::ReadFile(run_dir + "/metric.pkl");
  ASSERT_GE(pkl.size(), 2u);
  EXPECT_EQ(pkl.substr(0, 2), std::string("\x80\x04", 2));
  EXPECT_EQ(pkl, EncodePickleFloatDict({{"acc", 0.81}, {"best_epoch", 2.0}, {"loss", 0.4}}));

  std::unique_ptr<Watcher> second = Open("db2");
  ImportReport report;
  s = second->import_lumo({dir_ / "out"}, "", &report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(report.imported, 1u);
  EXPECT_TRUE(report.problems.empty());
  std::string text;
  ASSERT_TRUE(second->retrieve(test, "mnist.native", &text).ok());
  json after = json::parse(text);
  for (const char* key : {"exp_name", "test_name", "status", "params", "note", "tags",
                          "execute", "roots", "text", "hooks", "lock"}) {
    EXPECT_EQ(after[key], before[key]) << key;
  }
  EXPECT_EQ(after["execute"]["exec_argv"], before["execute"]["exec_argv"]);
  // Times to the second, as lumo's time strings hold them.
  for (const char* key : {"start", "end", "end_code", "ratio", "last_edit_time"}) {
    EXPECT_EQ(after["progress"][key], before["progress"][key]) << key;
  }
  EXPECT_EQ(after["progress"]["start_utc"].get<std::string>().substr(0, 19),
            before["progress"]["start_utc"].get<std::string>().substr(0, 19));
  EXPECT_EQ(after["pinfo"]["pid"], before["pinfo"]["pid"]);
  EXPECT_EQ(after["pinfo"]["pstart"], before["pinfo"]["pstart"]);
}

// Needs the real metric.pkl decoder; skipped while only the stub is built.
TEST_F(LumoExportTest, RecordedRunKeepsItsMetrics) {
  if (!RealPickleDecoder()) GTEST_SKIP() << "DecodePickle is still the stub";
  const std::string test = RecordRun();
  std::unique_ptr<Watcher> first = Open("db");
  ASSERT_TRUE(first->load().ok());
  size_t exported = 0;
  ASSERT_TRUE(first->export_lumo(Query{}, dir_ / "out", &exported).ok());
  std::unique_ptr<Watcher> second = Open("db2");
  ImportReport report;
  ASSERT_TRUE(second->import_lumo({dir_ / "out"}, "", &report).ok());
  std::string a, b;
  ASSERT_TRUE(first->retrieve(test, "", &a).ok());
  ASSERT_TRUE(second->retrieve(test, "", &b).ok());
  EXPECT_EQ(json::parse(b)["metrics"], json::parse(a)["metrics"]);
}

TEST_F(LumoExportTest, ExistingRunFolderIsRefusedAndNothingIsWritten) {
  std::unique_ptr<Watcher> w = ImportFixtures();
  size_t exported = 0;
  ASSERT_TRUE(w->export_lumo(Query{}, dir_ / "out", &exported).ok());
  const auto tree = Tree(dir_ / "out");

  // Again into the same folder: refused, every file as it was.
  Status s = w->export_lumo(Query{}, dir_ / "out", &exported);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_THAT(s.message(), HasSubstr(dir_ / "out/"));
  EXPECT_THAT(s.message(), HasSubstr("exists"));
  EXPECT_EQ(exported, 0u);
  EXPECT_EQ(Tree(dir_ / "out"), tree);

  // One run folder present among runs that are not: none is written.
  const std::string taken = dir_ / "out2/cifar10.resnet/261128.002.b1t";
  fs::create_directories(taken);
  testing::WriteFile(taken + "/mine.txt", "keep me");
  s = w->export_lumo(Query{}, dir_ / "out2", &exported);
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_THAT(s.message(), HasSubstr(taken));
  EXPECT_EQ(exported, 0u);
  EXPECT_EQ(Tree(dir_ / "out2"), (std::map<std::string, std::string>{
                                     {"cifar10.resnet", "<dir>"},
                                     {"cifar10.resnet/261128.002.b1t", "<dir>"},
                                     {"cifar10.resnet/261128.002.b1t/mine.txt", "keep me"}}));

  // A selection that names the other runs only goes through.
  Query q;
  q.exp_name = "mnist.mlp";
  ASSERT_TRUE(w->export_lumo(q, dir_ / "out2", &exported).ok());
  EXPECT_EQ(exported, 8u);
  EXPECT_EQ(testing::ReadFile(taken + "/mine.txt"), "keep me");
}

TEST_F(LumoExportTest, KeysThatCannotBeFileNamesAreRefused) {
  {
    Experiment exp("odd", roots_);
    ASSERT_TRUE(exp.start().ok());
    ASSERT_TRUE(exp.dump_info("../escape", "1").ok());
    ASSERT_TRUE(exp.end(0).ok());
  }
  std::unique_ptr<Watcher> w = Open("db");
  ASSERT_TRUE(w->load().ok());
  size_t exported = 0;
  Status s = w->export_lumo(Query{}, dir_ / "out", &exported);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_THAT(s.message(), HasSubstr("../escape"));
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  EXPECT_FALSE(fs::exists(dir_ / "escape.json"));
}

// Byte for byte what Python 3.11 writes (pickle.dumps(d, protocol=4)).
TEST(PickleEncodeTest, MatchesPython) {
  auto hex = [](const std::string& bytes) {
    static const char* kDigits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
    return out;
  };
  EXPECT_EQ(hex(EncodePickleFloatDict({})), "80047d942e");
  EXPECT_EQ(hex(EncodePickleFloatDict({{"a", 1.0}})),
            "80049511000000000000007d948c016194473ff0000000000000732e");
  EXPECT_EQ(hex(EncodePickleFloatDict({{"acc", 0.5}, {"loss", 1.25}})),
            "80049524000000000000007d94288c0361636394473fe00000000000008c046c6f737394"
            "473ff4000000000000752e");
  std::string e200;
  for (int i = 0; i < 200; ++i) e200 += "\xc3\xa9";
  std::string expect = "800495b1010000000000007d94285890010000";
  for (int i = 0; i < 200; ++i) expect += "c3a9";
  expect += "944740000000000000008c016294478000000000000000752e";
  EXPECT_EQ(hex(EncodePickleFloatDict({{e200, 2.0}, {"b", -0.0}})), expect);
}

TEST_F(LumoExportTest, CliDumpLumoDir) {
  std::unique_ptr<Watcher> w = ImportFixtures();
  w.reset();
  auto run = [&](const std::string& args, std::string* out, std::string* err) {
    const std::string cmd = "HOME=" + dir_ / "home" + " " + testing::BinPath("lumo-db") +
                            " --db " + dir_ / "db" + " --info-root " + dir_ / "info" +
                            " " + args + " >" + dir_ / "cli.out" + " 2>" + dir_ / "cli.err";
    int rc = std::system(cmd.c_str());
    *out = testing::ReadFile(dir_ / "cli.out");
    *err = testing::ReadFile(dir_ / "cli.err");
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  std::string out, err;
  EXPECT_EQ(run("dump --format lumo-dir " + dir_ / "out", &out, &err), 0) << err;
  EXPECT_EQ(out, "exported 13 runs to " + dir_ / "out" + "\n");
  EXPECT_EQ(run("dump --format lumo-dir " + dir_ / "out", &out, &err), 1);
  EXPECT_THAT(err, HasSubstr(dir_ / "out/"));
  EXPECT_EQ(run("dump --format lumo-dir " + dir_ / "sel" +
                    " --exp mnist.mlp 261128.000.d6t 261128.007.adt",
                &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "exported 2 runs to " + dir_ / "sel" + "\n");
  EXPECT_TRUE(fs::exists(dir_ / "sel/mnist.mlp/261128.007.adt/info/progress.json"));
  EXPECT_EQ(run("dump --format lumo-dir " + dir_ / "none" + " 261128.999.zzz", &out, &err), 1);
  EXPECT_FALSE(fs::exists(dir_ / "none"));
  // The JSON lines stay the default.
  EXPECT_EQ(run("dump --exp ablation_v2", &out, &err), 0) << err;
  EXPECT_EQ(json::parse(out)["test_name"], "261128.000.7at");
}

}  // namespace
}  // namespace lumodb

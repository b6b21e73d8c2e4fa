// Tests for Watcher::import_lumo (engine/src/lumo_import.cc and the import
// code in engine/src/watcher.cc) over copies of the real lumo tree in
// ../shared/fixtures: lumo-home (info_root under experiments/) and
// lumo-cache (heartbeat/ and pid/ markers). The fixtures are never touched:
// every test copies them into its own TempDir first.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "experiment/process_info.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

// Warnings of load() and reindex() (problems of runs they re-read).
std::vector<std::string>* g_warnings = nullptr;
void RecordWarning(const std::string& message) {
  if (g_warnings != nullptr) g_warnings->push_back(message);
}

// The 13 runs of fixtures/lumo-home, as exp_name/test_name.
const std::vector<std::string> kAllRuns = {
    "mnist.mlp/261128.000.d6t",      "mnist.mlp/261128.001.cat",
    "mnist.mlp/261128.002.13t",      "mnist.mlp/261128.003.eat",
    "mnist.mlp/261128.004.05t",      "mnist.mlp/261128.005.28t",
    "mnist.mlp/261128.006.74t",      "mnist.mlp/261128.007.adt",
    "cifar10.resnet/261128.000.a2t", "cifar10.resnet/261128.001.15t",
    "cifar10.resnet/261128.002.b1t", "cifar10.resnet/261128.003.6at",
    "ablation_v2/261128.000.7at"};

// Every file and folder under root: type, mode, size, mtime (ns) and, for
// files, the content. Compared before and after an import.
std::map<std::string, std::string> Snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string path = it->path().string();
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      out[path] = "unstatable";
      continue;
    }
    std::ostringstream entry;
    entry << (S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other")
          << " mode=" << std::oct << (st.st_mode & 07777) << std::dec
          << " size=" << st.st_size << " mtime=" << st.st_mtim.tv_sec << "."
          << st.st_mtim.tv_nsec;
    if (S_ISREG(st.st_mode)) entry << " content=" << testing::ReadFile(path);
    out[path] = entry.str();
  }
  return out;
}

// "" when equal, else the paths that differ.
std::string Diff(const std::map<std::string, std::string>& before,
                 const std::map<std::string, std::string>& after) {
  std::string diff;
  for (const auto& [path, entry] : before) {
    auto it = after.find(path);
    if (it == after.end()) {
      diff += "deleted: " + path + "\n";
    } else if (it->second != entry) {
      diff += "changed: " + path + "\n";
    }
  }
  for (const auto& [path, entry] : after) {
    if (before.count(path) == 0) diff += "created: " + path + "\n";
  }
  return diff;
}

void AppendFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << data;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The value of an info key as a run shows it: under "info" when the key
// names something the engine derives (progress, pinfo, ...), else on top.
json InfoValue(const json& run, const std::string& key) {
  if (run.contains("info") && run["info"].contains(key)) return run["info"][key];
  return run.value(key, json());
}

class LumoImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_warnings = &warnings_;
    home_ = dir_ / "lumo-home";
    cache_ = dir_ / "lumo-cache";
    exps_ = home_ + "/experiments";
    fs::copy(testing::FixturesDir() + "/lumo-home", home_, fs::copy_options::recursive);
    fs::copy(testing::FixturesDir() + "/lumo-cache", cache_, fs::copy_options::recursive);
    // lumo-db's own roots: apart from the imported tree.
    roots_.home = dir_ / "own-home";
    roots_.info_root = dir_ / "own-info";
    roots_.blob_root = dir_ / "own-blob";
    roots_.cache_root = dir_ / "own-cache";
    roots_.timezone = "Asia/Shanghai";
  }
  void TearDown() override { g_warnings = nullptr; }

  std::unique_ptr<Watcher> Open(const std::string& db = "db") {
    WatcherOptions options;
    options.writer_wait_ms = 500;  // tests never wait long for another writer
    options.db_path = dir_ / db;
    options.warn = RecordWarning;
    std::unique_ptr<Watcher> w;
    Status s = Watcher::Open(roots_, options, &w);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }

  ImportReport Import(Watcher* w, const std::vector<std::string>& paths,
                      const std::string& cache) {
    ImportReport report;
    Status s = w->import_lumo(paths, cache, &report);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return report;
  }

  // Imports the whole copied home with the copied cache.
  std::unique_ptr<Watcher> OpenAndImportHome() {
    std::unique_ptr<Watcher> w = Open();
    ImportReport r = Import(w.get(), {home_}, cache_);
    EXPECT_EQ(r.imported, kAllRuns.size());
    return w;
  }

  static json Retrieve(Watcher* w, const std::string& test, const std::string& exp = "") {
    std::string text;
    Status s = w->retrieve(test, exp, &text, nullptr, /*raw=*/true);
    EXPECT_TRUE(s.ok()) << test << ": " << s.ToString();
    return s.ok() ? json::parse(text) : json();
  }

  static std::vector<json> All(Watcher* w, const std::vector<Filter>& filters = {}) {
    Query q;
    q.filters = filters;
    std::vector<std::string> rows;
    Status s = w->query(q, &rows);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<json> out;
    for (const auto& r : rows) out.push_back(json::parse(r));
    return out;
  }

  static std::vector<std::string> Keys(const std::vector<json>& runs) {
    std::vector<std::string> keys;
    for (const auto& r : runs) {
      keys.push_back(r["exp_name"].get<std::string>() + "/" +
                     r["test_name"].get<std::string>());
    }
    return keys;
  }

  static size_t CountWith(Watcher* w, const std::string& filter) {
    Filter f;
    Status s = Filter::Parse(filter, &f);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return All(w, {f}).size();
  }

  std::string Run(const std::string& exp_test) const { return exps_ + "/" + exp_test; }

  testing::TempDir dir_;
  std::string home_, cache_, exps_;
  Roots roots_;
  std::vector<std::string> warnings_;
};

// 1. Read-only: every file and folder of the tree and of the cache (lumo's
// heartbeat and pid markers included) is as it was, after an import, a
// second import, a load() and a load() from a fresh Watcher.
TEST_F(LumoImportTest, ImportsThirteenRunsAndLeavesTheTreeByteIdentical) {
  const auto home_before = Snapshot(home_);
  const auto cache_before = Snapshot(cache_);
  ASSERT_GT(home_before.size(), 200u);
  ASSERT_EQ(cache_before.size(), 2u + 2u + 3u + 3u + 13u);  // dirs, .hb, dirs, .pid

  std::unique_ptr<Watcher> w = Open();
  ImportReport r = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(r.imported, 13u);
  EXPECT_EQ(r.updated, 0u);
  EXPECT_EQ(r.unchanged, 0u);
  EXPECT_EQ(r.partial, 0u);
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_TRUE(r.skipped_paths.empty());
  EXPECT_TRUE(r.problems.empty()) << r.problems.front().path << ": " << r.problems.front().what;
  EXPECT_EQ(Diff(home_before, Snapshot(home_)), "");
  EXPECT_EQ(Diff(cache_before, Snapshot(cache_)), "");
  EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(kAllRuns));

  ImportReport again = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(again.imported, 0u);
  EXPECT_EQ(again.updated, 0u);
  EXPECT_EQ(again.unchanged, 13u);
  EXPECT_EQ(Diff(home_before, Snapshot(home_)), "");
  EXPECT_EQ(Diff(cache_before, Snapshot(cache_)), "");

  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Diff(home_before, Snapshot(home_)), "");
  EXPECT_EQ(Diff(cache_before, Snapshot(cache_)), "");
  w.reset();
  w = Open();
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Diff(home_before, Snapshot(home_)), "");
  EXPECT_EQ(Diff(cache_before, Snapshot(cache_)), "");
  EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(kAllRuns));
  for (const char* hb : {"mnist.mlp/261128.000.d6t.hb", "mnist.mlp/261128.007.adt.hb",
                         "ablation_v2/261128.000.7at.hb"}) {
    EXPECT_TRUE(Exists(cache_ + "/heartbeat/" + hb)) << hb;
  }
  for (const std::string& run : kAllRuns) {
    EXPECT_TRUE(Exists(cache_ + "/pid/" + run + ".pid")) << run;
  }
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

// 2. Status comes from lumo's records, never from lumo's relabelling.
TEST_F(LumoImportTest, StatusFromLumosRecords) {
  // A copy of a finished run made to look alive: our own pid and start time,
  // no end; and one whose pid is ours but whose start time is not (the pid
  // was reused), which is dead.
  auto make_unended = [&](const std::string& exp, const std::string& test, double pstart) {
    const std::string dir = exps_ + "/" + exp + "/" + test;
    fs::create_directories(exps_ + "/" + exp);
    fs::copy(Run("mnist.mlp/261128.001.cat"), dir, fs::copy_options::recursive);
    testing::WriteFile(dir + "/info/exp_name.json", json(exp).dump());
    testing::WriteFile(dir + "/info/test_name.json", json(test).dump());
    json progress = json::parse(testing::ReadFile(dir + "/info/progress.json"));
    progress.erase("end");
    progress.erase("end_code");
    progress["ratio"] = 0.5;
    testing::WriteFile(dir + "/info/progress.json", progress.dump(2));
    json pinfo = json::parse(testing::ReadFile(dir + "/info/pinfo.json"));
    pinfo["pid"] = ::getpid();
    pinfo["obj"]["pid"] = ::getpid();
    pinfo["obj"]["pstart"] = pstart;
    testing::WriteFile(dir + "/info/pinfo.json", pinfo.dump(2));
  };
  const double my_start = ProcessStartTime(::getpid());
  ASSERT_GT(my_start, 0);
  make_unended("live.exp", "261128.000.11t", my_start);
  make_unended("live.exp", "261128.001.22t", my_start - 1000);

  std::unique_ptr<Watcher> w = Open();
  ImportReport r = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(r.imported, 15u);

  for (const char* test : {"261128.000.d6t", "261128.001.cat", "261128.002.13t",
                           "261128.003.eat", "261128.004.05t", "261128.005.28t",
                           "261128.006.74t", "261128.007.adt"}) {
    json run = Retrieve(w.get(), test, "mnist.mlp");
    EXPECT_EQ(run["status"], "finished") << test;
    EXPECT_EQ(run["progress"].value("end_code", -99), 0) << test;
  }
  json failed = Retrieve(w.get(), "261128.002.b1t", "cifar10.resnet");
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["progress"].value("end_code", -99), 1);
  EXPECT_EQ(failed["exception"]["exception_type"], "RuntimeError");
  EXPECT_THAT(failed["exception"]["exception_content"].get<std::string>(),
              HasSubstr("CUDA out of memory"));

  json killed = Retrieve(w.get(), "261128.003.6at", "cifar10.resnet");
  EXPECT_EQ(killed["status"], "killed");
  EXPECT_FALSE(killed["progress"].contains("end")) << killed["progress"].dump();
  EXPECT_FALSE(killed["progress"].contains("end_code")) << killed["progress"].dump();

  for (const char* test : {"261128.000.a2t", "261128.001.15t"}) {
    EXPECT_EQ(Retrieve(w.get(), test, "cifar10.resnet")["status"], "finished") << test;
  }
  EXPECT_EQ(Retrieve(w.get(), "261128.000.7at", "ablation_v2")["status"], "finished");

  json live = Retrieve(w.get(), "261128.000.11t", "live.exp");
  EXPECT_EQ(live["status"], "running");
  EXPECT_FALSE(live["progress"].contains("end_code"));
  EXPECT_EQ(Retrieve(w.get(), "261128.001.22t", "live.exp")["status"], "killed");

  // Loads keep judging the same way; lumo's -10 never shows anywhere.
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), "261128.000.11t", "live.exp")["status"], "running");
  EXPECT_EQ(Retrieve(w.get(), "261128.003.6at", "cifar10.resnet")["status"], "killed");
  std::vector<json> all = All(w.get());
  ASSERT_EQ(all.size(), 15u);
  for (const json& run : all) {
    EXPECT_NE(run["progress"].value("end_code", 0), -10) << run["test_name"];
    EXPECT_NE(InfoValue(run, "progress").value("end_code", 0), -10) << run["test_name"];
  }
  Filter running;
  ASSERT_TRUE(Filter::Parse("status == running", &running).ok());
  EXPECT_THAT(Keys(All(w.get(), {running})), UnorderedElementsAre("live.exp/261128.000.11t"));
}

// 3. lumo's time strings are read in lumo's zone; the strings stay as lumo
// wrote them under info.progress.
TEST_F(LumoImportTest, TimesAreReadInTheConfiguredZone) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  json run = Retrieve(w.get(), "261128.000.d6t", "mnist.mlp");
  EXPECT_THAT(run["progress"]["start_utc"].get<std::string>(),
              ::testing::StartsWith("2026-11-28T13:22:21"));
  EXPECT_THAT(run["progress"]["end_utc"].get<std::string>(),
              ::testing::StartsWith("2026-11-28T13:22:21"));
  EXPECT_EQ(run["progress"]["start"], "26-11-28-212221");
  EXPECT_EQ(InfoValue(run, "progress")["start"], "26-11-28-212221");
  EXPECT_EQ(run["info"]["progress"]["start"], "26-11-28-212221");
  EXPECT_EQ(run["info"]["progress"]["end"], "26-11-28-212221");

  // Sorting by start time follows the strings.
  Query q;
  q.sort_field = "progress.start";
  std::vector<std::string> rows;
  ASSERT_TRUE(w->query(q, &rows).ok());
  ASSERT_EQ(rows.size(), 13u);
  EXPECT_EQ(json::parse(rows.front())["test_name"], "261128.000.d6t");
  EXPECT_EQ(json::parse(rows.back())["test_name"], "261128.000.7at");
}

TEST_F(LumoImportTest, TimesFollowAnotherConfiguredZone) {
  roots_.timezone = "UTC";
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  json run = Retrieve(w.get(), "261128.000.d6t", "mnist.mlp");
  EXPECT_THAT(run["progress"]["start_utc"].get<std::string>(),
              ::testing::StartsWith("2026-11-28T21:22:21"));
  EXPECT_EQ(run["info"]["progress"]["start"], "26-11-28-212221");
}

// 4. Both reruns of d6t are linked, though lumo's rerun.json on d6t names
// only the later one.
TEST_F(LumoImportTest, RerunsLinkedBothWays) {
  ASSERT_EQ(json::parse(testing::ReadFile(Run("mnist.mlp/261128.000.d6t/info/rerun.json"))),
            json::parse(R"({"rerun_at": {"261128.007.adt": true}})"));
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  json first = Retrieve(w.get(), "261128.000.d6t");
  EXPECT_THAT(first["rerun"]["reruns"], UnorderedElementsAre("261128.006.74t", "261128.007.adt"));
  for (const char* test : {"261128.006.74t", "261128.007.adt"}) {
    json rerun = Retrieve(w.get(), test);
    EXPECT_EQ(InfoValue(rerun, "rerun")["from"], "261128.000.d6t") << test;
    EXPECT_EQ(InfoValue(rerun, "rerun")["repeat"], 1) << test;
  }
  // A run nobody reran has no reruns.
  EXPECT_FALSE(Retrieve(w.get(), "261128.001.cat")["rerun"].contains("reruns"));
}

// 5. Every info/<key>.json is kept as lumo wrote it; text and note too.
TEST_F(LumoImportTest, EveryInfoKeyTextAndNoteKept) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  for (const std::string& key : kAllRuns) {
    const std::string exp = key.substr(0, key.find('/'));
    const std::string test = key.substr(key.find('/') + 1);
    json run = Retrieve(w.get(), test, exp);
    size_t keys = 0;
    for (const auto& entry : fs::directory_iterator(Run(key) + "/info")) {
      const std::string name = entry.path().filename().string();
      const std::string info_key = name.substr(0, name.size() - 5);
      json expected = json::parse(testing::ReadFile(entry.path().string()));
      json shown = InfoValue(run, info_key);
      // rerun also shows every rerun link (RerunsLinkedBothWays) beside
      // lumo's own keys.
      if (info_key == "rerun") shown.erase("reruns");
      EXPECT_EQ(shown, expected) << key << " info key " << info_key;
      keys++;
    }
    EXPECT_GE(keys, 11u) << key;
    for (const char* k : {"git", "lock", "hooks", "params", "execute", "pinfo", "roots"}) {
      EXPECT_FALSE(InfoValue(run, k).is_null()) << key << " lacks " << k;
    }
    EXPECT_EQ(run["text"]["summary"], testing::ReadFile(Run(key) + "/text/summary.str")) << key;
  }
  json a2t = Retrieve(w.get(), "261128.000.a2t", "cifar10.resnet");
  EXPECT_EQ(a2t["note"], "wider model, not committed yet");
  EXPECT_EQ(a2t["text"]["summary"], "final acc 0.6448 after 3 epochs");
  EXPECT_EQ(InfoValue(a2t, "git")["commit"], "df7f5e6a");
  EXPECT_EQ(InfoValue(a2t, "params")["lr"], 0.05);
  EXPECT_EQ(a2t["tags"], json::parse(testing::ReadFile(Run("cifar10.resnet/261128.000.a2t/info/tags.json"))));
  EXPECT_EQ(Retrieve(w.get(), "261128.001.15t", "cifar10.resnet")["note"], "");
  // Indexed: params are queryable.
  EXPECT_EQ(CountWith(w.get(), "params.lr == 0.05"), 2u);
  EXPECT_EQ(CountWith(w.get(), "params.lr == 0.1"), 4u);
}

// TODO(metric.pkl): metric decoding is a stub until the safe decoder lands
// (engine/src/pickle_stub_tmp.cc). Once it does, enable this test. Values
// read from the fixtures with pickletools:
//   mnist.mlp/261128.000.d6t  acc 0.7855860341440297 best_epoch 3
//                             loss 0.2538501334127459 val_acc 0.7755860341440297
//                             val_f1 0.7555860341440297
//   mnist.mlp/261128.001.cat  acc 0.786311531292728 best_epoch 3 loss 0.2290952915867292
//   mnist.mlp/261128.002.13t  acc 0.6269931884804981 loss 0.4124429790762775
//   mnist.mlp/261128.003.eat  acc 0.6277186856291964 loss 0.3876881372502608
//   mnist.mlp/261128.004.05t  acc 0.5512955442220475 loss 0.47890827996160595
//   mnist.mlp/261128.005.28t  acc 0.5520210413707458 loss 0.4633857815087114
//   mnist.mlp/261128.006.74t  acc 0.7618422722261075 loss 0.2635295144333636
//   mnist.mlp/261128.007.adt  acc 0.8697765375931457 best_epoch 3 loss 0.16965962996363
//   cifar10.resnet/261128.000.a2t  acc 0.6447661428349684 best_epoch 2
//                                  loss 0.37770841040446856
//   cifar10.resnet/261128.001.15t  numpy scalars: acc f8 0.6447661428349684,
//                                  loss f4 0.37770840525627136 (as float32),
//                                  best_epoch 2, val_acc 0.6347661428349683,
//                                  val_f1 0.6147661428349683
//   cifar10.resnet/261128.002.b1t  acc 0.8953738048683807 loss 0.12211729387505205
//   cifar10.resnet/261128.003.6at  acc 0.8336978481950431 loss 0.1887767050443938
//   ablation_v2/261128.000.7at     acc 0.691026330321454 best_epoch 1
//                                  loss 0.3217271209655171 val_f1 0.661026330321454
TEST_F(LumoImportTest, MetricsFromMetricPklAreDecodedAsData) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  json d6t = Retrieve(w.get(), "261128.000.d6t", "mnist.mlp");
  EXPECT_DOUBLE_EQ(d6t["metrics"]["acc"].get<double>(), 0.7855860341440297);
  EXPECT_DOUBLE_EQ(d6t["metrics"]["loss"].get<double>(), 0.2538501334127459);
  EXPECT_EQ(d6t["metrics"]["best_epoch"], 3);
  json numpy = Retrieve(w.get(), "261128.001.15t", "cifar10.resnet");
  EXPECT_DOUBLE_EQ(numpy["metrics"]["acc"].get<double>(), 0.6447661428349684);
  EXPECT_DOUBLE_EQ(numpy["metrics"]["loss"].get<double>(), 0.37770840525627136);
  EXPECT_DOUBLE_EQ(numpy["metrics"]["val_f1"].get<double>(), 0.6147661428349683);
  json ablation = Retrieve(w.get(), "261128.000.7at", "ablation_v2");
  EXPECT_DOUBLE_EQ(ablation["metrics"]["acc"].get<double>(), 0.691026330321454);
  EXPECT_EQ(CountWith(w.get(), "metrics.acc > 0.8"), 3u);  // adt, b1t, 6at
}

// 6. Folders that are not runs are skipped and listed.
TEST_F(LumoImportTest, NotARunFoldersAreSkippedAndListed) {
  const std::string exp = exps_ + "/mnist.mlp";
  testing::WriteFile(exp + "/stray.txt", "not a run\n");
  fs::create_directories(exp + "/not-a-test-name/info");
  testing::WriteFile(exp + "/not-a-test-name/info/test_name.json", "\"not-a-test-name\"");
  fs::create_directories(exp + "/261128.099.fft/text");
  testing::WriteFile(exp + "/261128.099.fft/text/summary.str", "no info");
  const auto before = Snapshot(home_);

  std::unique_ptr<Watcher> w = Open();
  ImportReport r = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(r.imported, 13u);
  EXPECT_EQ(r.skipped, 3u);
  std::vector<std::string> skipped;
  for (const auto& p : r.skipped_paths) {
    skipped.push_back(p.path);
    EXPECT_THAT(p.what, HasSubstr("not a run")) << p.path;
  }
  EXPECT_THAT(skipped, UnorderedElementsAre(exp + "/stray.txt", exp + "/not-a-test-name",
                                            exp + "/261128.099.fft"));
  EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(kAllRuns));
  EXPECT_EQ(Diff(before, Snapshot(home_)), "");
}

// 6. Each kind of path: a lumo home, an info_root, one exp_name folder, one
// run folder (with or without a trailing slash).
TEST_F(LumoImportTest, ImportsAHomeAnInfoRootAnExpFolderOrOneRun) {
  struct Case {
    std::string path;
    std::vector<std::string> runs;
  };
  std::vector<std::string> cifar, mnist;
  for (const auto& k : kAllRuns) {
    if (k.rfind("cifar10.resnet/", 0) == 0) cifar.push_back(k);
    if (k.rfind("mnist.mlp/", 0) == 0) mnist.push_back(k);
  }
  const std::vector<Case> cases = {
      {home_, kAllRuns},
      {home_ + "/", kAllRuns},
      {exps_, kAllRuns},
      {exps_ + "/cifar10.resnet", cifar},
      {exps_ + "/mnist.mlp/", mnist},
      {Run("mnist.mlp/261128.000.d6t"), {"mnist.mlp/261128.000.d6t"}},
      {Run("ablation_v2/261128.000.7at/"), {"ablation_v2/261128.000.7at"}},
  };
  int n = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    std::unique_ptr<Watcher> w = Open("db" + std::to_string(n++));
    ImportReport r = Import(w.get(), {c.path}, cache_);
    EXPECT_EQ(r.imported, c.runs.size());
    EXPECT_EQ(r.skipped, 0u);
    EXPECT_TRUE(r.problems.empty());
    EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(c.runs));
    // What was imported stays what is indexed after a load (kept in step
    // through the heartbeat folder) and after a reindex.
    ASSERT_TRUE(w->load().ok());
    EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(c.runs)) << "after load()";
    ASSERT_TRUE(w->reindex().ok());
    EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(c.runs)) << "after reindex()";
  }
  // Several paths at once.
  std::unique_ptr<Watcher> w = Open("db-many");
  ImportReport r = Import(w.get(), {exps_ + "/cifar10.resnet", Run("mnist.mlp/261128.000.d6t")},
                          cache_);
  EXPECT_EQ(r.imported, cifar.size() + 1);
}

// 6. Relative paths name the tree where the import ran: a later load() or
// reindex() from another working directory still finds it.
TEST_F(LumoImportTest, RelativePathsStayTheTreeTheyNamed) {
  char buf[4096];
  ASSERT_NE(::getcwd(buf, sizeof(buf)), nullptr);
  const std::string old_cwd = buf;
  std::unique_ptr<Watcher> w = Open();
  ASSERT_EQ(::chdir(dir_.path().c_str()), 0);
  ImportReport report;
  Status s = w->import_lumo({"lumo-home"}, "lumo-cache", &report);
  ASSERT_EQ(::chdir(old_cwd.c_str()), 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(report.imported, 13u);
  json run = Retrieve(w.get(), "261128.000.7at", "ablation_v2");
  EXPECT_EQ(run["journal"]["path"], Run("ablation_v2/261128.000.7at"));

  AppendFile(Run("ablation_v2/261128.000.7at/note.md"), "seen from elsewhere");
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), "261128.000.7at", "ablation_v2")["note"], "seen from elsewhere");
  ASSERT_TRUE(w->reindex().ok());
  EXPECT_THAT(Keys(All(w.get())), UnorderedElementsAreArray(kAllRuns));
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

// 6. A missing path fails naming it, and nothing is imported, even when
// other paths are fine.
TEST_F(LumoImportTest, MissingPathIsNotFoundAndImportsNothing) {
  std::unique_ptr<Watcher> w = Open();
  const std::string missing = dir_ / "no-such-home";
  for (const std::vector<std::string>& paths :
       {std::vector<std::string>{missing}, std::vector<std::string>{home_, missing},
        std::vector<std::string>{missing, home_}}) {
    ImportReport report;
    Status s = w->import_lumo(paths, cache_, &report);
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    EXPECT_THAT(s.ToString(), HasSubstr(missing));
    EXPECT_EQ(report.imported, 0u);
    EXPECT_TRUE(All(w.get()).empty());
  }
  // Nothing was registered either: a load imports nothing.
  ASSERT_TRUE(w->load().ok());
  EXPECT_TRUE(All(w.get()).empty());
}

// 7. Damaged files: the run is imported with what can be read.
TEST_F(LumoImportTest, DamagedFilesGivePartialRunsNamingEachFile) {
  const std::string params = Run("mnist.mlp/261128.001.cat/info/params.json");
  const std::string git = Run("cifar10.resnet/261128.001.15t/info/git.json");
  const std::string text = testing::ReadFile(params);
  testing::WriteFile(params, text.substr(0, text.size() / 2));
  static const char kGarbage[] = "{\"commit\": \"df7f\x00\xff\xfe garbage";
  testing::WriteFile(git, std::string(kGarbage, sizeof(kGarbage) - 1));

  std::unique_ptr<Watcher> w = Open();
  ImportReport r = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(r.imported, 13u);
  EXPECT_EQ(r.partial, 2u);
  std::map<std::string, std::string> problems;
  for (const auto& p : r.problems) problems[p.path] = p.what;
  ASSERT_EQ(problems.size(), 2u);
  ASSERT_TRUE(problems.count(params));
  ASSERT_TRUE(problems.count(git));
  EXPECT_THAT(problems[params], HasSubstr("JSON"));
  EXPECT_THAT(problems[git], HasSubstr("JSON"));

  json cat = Retrieve(w.get(), "261128.001.cat", "mnist.mlp");
  EXPECT_EQ(cat["status"], "finished");
  EXPECT_TRUE(InfoValue(cat, "params").is_null()) << cat.dump();
  EXPECT_EQ(InfoValue(cat, "git")["commit"],
            json::parse(testing::ReadFile(Run("mnist.mlp/261128.001.cat/info/git.json")))["commit"]);
  EXPECT_FALSE(InfoValue(cat, "lock").is_null());
  EXPECT_EQ(cat["tags"], json::parse(R"(["lr=0.1", "seed=2"])"));
  json numpy = Retrieve(w.get(), "261128.001.15t", "cifar10.resnet");
  EXPECT_EQ(numpy["status"], "finished");
  EXPECT_TRUE(InfoValue(numpy, "git").is_null());
  EXPECT_EQ(InfoValue(numpy, "params")["lr"], json::parse(testing::ReadFile(
      Run("cifar10.resnet/261128.001.15t/info/params.json")))["lr"]);
  EXPECT_FALSE(InfoValue(numpy, "hooks").is_null());

  // Unchanged damage is not news: a second import counts them unchanged.
  ImportReport again = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(again.unchanged, 13u);
  EXPECT_EQ(again.imported + again.updated, 0u);
}

// 8. Equal test_names under two exp_names are two runs.
TEST_F(LumoImportTest, SameTestNameUnderTwoExpNamesKeepsBoth) {
  fs::copy(Run("mnist.mlp/261128.001.cat"), Run("ablation_v2/261128.001.cat"),
           fs::copy_options::recursive);
  std::unique_ptr<Watcher> w = Open();
  ImportReport r = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(r.imported, 14u);
  EXPECT_EQ(All(w.get()).size(), 14u);
  std::string text;
  std::vector<std::string> candidates;
  Status s = w->retrieve("261128.001.cat", "", &text, &candidates);
  EXPECT_EQ(s.code(), Status::Code::kAmbiguous) << s.ToString();
  EXPECT_THAT(candidates, UnorderedElementsAre("mnist.mlp/261128.001.cat",
                                               "ablation_v2/261128.001.cat"));
  EXPECT_EQ(Retrieve(w.get(), "261128.001.cat", "mnist.mlp")["exp_name"], "mnist.mlp");
  EXPECT_EQ(Retrieve(w.get(), "261128.001.cat", "ablation_v2")["exp_name"], "ablation_v2");
}

// 9. Re-import: only runs whose files changed are read again.
TEST_F(LumoImportTest, ReimportUpdatesExactlyTheChangedRun) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  ImportReport same = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(same.unchanged, 13u);
  EXPECT_EQ(same.updated, 0u);
  EXPECT_EQ(same.imported, 0u);

  AppendFile(Run("cifar10.resnet/261128.000.a2t/note.md"), "\nsecond line");
  ImportReport note = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(note.updated, 1u);
  EXPECT_EQ(note.unchanged, 12u);
  EXPECT_EQ(Retrieve(w.get(), "261128.000.a2t", "cifar10.resnet")["note"],
            "wider model, not committed yet\nsecond line");

  ASSERT_EQ(CountWith(w.get(), "params.lr == 0.1"), 4u);
  const std::string params = Run("mnist.mlp/261128.001.cat/info/params.json");
  json p = json::parse(testing::ReadFile(params));
  p["lr"] = 0.123;
  p["extra"] = "new";
  testing::WriteFile(params, p.dump(2));
  ImportReport changed = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(changed.updated, 1u);
  EXPECT_EQ(changed.unchanged, 12u);
  json cat = Retrieve(w.get(), "261128.001.cat", "mnist.mlp");
  EXPECT_EQ(InfoValue(cat, "params")["lr"], 0.123);
  EXPECT_EQ(InfoValue(cat, "params")["extra"], "new");
  EXPECT_EQ(CountWith(w.get(), "params.lr == 0.123"), 1u);
  EXPECT_EQ(CountWith(w.get(), "params.lr == 0.1"), 3u);  // the old value is gone

  ImportReport quiet = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(quiet.unchanged, 13u);
}

// Sets the mtime of every file and folder under root to an hour ago, as a
// tree lumo finished writing long before the import looks.
void AgeTree(const std::string& root) {
  const struct timespec old[2] = {{::time(nullptr) - 3600, 0}, {::time(nullptr) - 3600, 0}};
  std::vector<std::string> paths = {root};
  for (const auto& e : fs::recursive_directory_iterator(root)) paths.push_back(e.path());
  // Children first: a folder's time is set after nothing more changes in it.
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    ASSERT_EQ(::utimensat(AT_FDCWD, it->c_str(), old, 0), 0) << *it;
  }
}

// Rewrites a file in place (same folder entry, new content and mtime).
void RewriteInPlace(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// 9b. A re-import trusts lumo's pid marker, rewritten before every write
// lumo makes, and the run's folder times: a run whose marker and folders
// are as at the last import is not looked into. --full (full_check) looks
// at every file; a run whose marker was fresh when it was read gets the
// full check until it is read again settled.
TEST_F(LumoImportTest, ReimportTrustsSettledPidMarkersAndFullCheckSeesEveryFile) {
  AgeTree(home_);
  AgeTree(cache_);
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  const std::string run = Run("mnist.mlp/261128.002.13t");
  const std::string marker = cache_ + "/pid/mnist.mlp/261128.002.13t.pid";

  // An edit in place outside lumo: the quick test does not see it...
  json p = json::parse(testing::ReadFile(run + "/info/params.json"));
  p["by_hand"] = true;
  RewriteInPlace(run + "/info/params.json", p.dump(2));
  ImportReport quick = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(quick.unchanged, 13u);
  EXPECT_EQ(quick.updated, 0u);
  // ...a full check does.
  ImportOptions full;
  full.cache_root = cache_;
  full.full_check = true;
  ImportReport checked;
  ASSERT_TRUE(w->import_lumo({home_}, full, &checked).ok());
  EXPECT_EQ(checked.updated, 1u);
  EXPECT_EQ(checked.unchanged, 12u);
  EXPECT_EQ(InfoValue(Retrieve(w.get(), "261128.002.13t", "mnist.mlp"), "params")["by_hand"],
            true);

  // A write as lumo makes it: the marker first, then the data in place.
  RewriteInPlace(marker, testing::ReadFile(marker));
  p["lr"] = 0.5;
  RewriteInPlace(run + "/info/params.json", p.dump(2));
  ImportReport lumo_write = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(lumo_write.updated, 1u);
  EXPECT_EQ(lumo_write.unchanged, 12u);
  EXPECT_EQ(InfoValue(Retrieve(w.get(), "261128.002.13t", "mnist.mlp"), "params")["lr"], 0.5);

  // The marker was seconds old when that run was read: lumo may still have
  // been writing, so the next import compares its every file.
  p["lr"] = 0.25;
  RewriteInPlace(run + "/info/params.json", p.dump(2));
  ImportReport late = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(late.updated, 1u);
  EXPECT_EQ(InfoValue(Retrieve(w.get(), "261128.002.13t", "mnist.mlp"), "params")["lr"], 0.25);

  // A file created in a settled run changes its folder's time.
  const std::string other = Run("mnist.mlp/261128.003.eat");
  testing::WriteFile(other + "/text/added.str", "new text");
  ImportReport created = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(created.updated, 1u);
  EXPECT_EQ(Retrieve(w.get(), "261128.003.eat", "mnist.mlp")["text"]["added"], "new text");
}

// 10. Runs with a heartbeat marker in the imported cache are read again by
// load() (the marker is left alone); others wait for the next import.
TEST_F(LumoImportTest, LoadFollowsLumosHeartbeatMarkers) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  const std::string hb = cache_ + "/heartbeat/ablation_v2/261128.000.7at.hb";
  ASSERT_TRUE(Exists(hb));
  ASSERT_FALSE(Exists(cache_ + "/heartbeat/mnist.mlp/261128.001.cat.hb"));

  AppendFile(Run("ablation_v2/261128.000.7at/note.md"), "watched by lumo");
  const std::string adt_params = Run("mnist.mlp/261128.007.adt/info/params.json");
  json p = json::parse(testing::ReadFile(adt_params));
  p["lr"] = 0.77;
  testing::WriteFile(adt_params, p.dump(2));
  testing::WriteFile(Run("mnist.mlp/261128.001.cat/note.md"), "not watched");

  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), "261128.000.7at", "ablation_v2")["note"], "watched by lumo");
  EXPECT_EQ(InfoValue(Retrieve(w.get(), "261128.007.adt", "mnist.mlp"), "params")["lr"], 0.77);
  EXPECT_EQ(CountWith(w.get(), "params.lr == 0.77"), 1u);
  EXPECT_EQ(Retrieve(w.get(), "261128.001.cat", "mnist.mlp")["note"], "");
  EXPECT_TRUE(Exists(hb));
  EXPECT_TRUE(Exists(cache_ + "/heartbeat/mnist.mlp/261128.007.adt.hb"));

  // A fresh Watcher (a new process) does the same.
  w.reset();
  AppendFile(Run("ablation_v2/261128.000.7at/note.md"), ", twice");
  w = Open();
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), "261128.000.7at", "ablation_v2")["note"],
            "watched by lumo, twice");
  EXPECT_EQ(Retrieve(w.get(), "261128.001.cat", "mnist.mlp")["note"], "");
  EXPECT_TRUE(Exists(hb));

  ImportReport r = Import(w.get(), {home_}, cache_);
  EXPECT_EQ(r.updated, 1u);
  EXPECT_EQ(r.unchanged, 12u);
  EXPECT_EQ(Retrieve(w.get(), "261128.001.cat", "mnist.mlp")["note"], "not watched");
  EXPECT_TRUE(warnings_.empty()) << warnings_.front();
}

// A re-import that names no cache keeps following the cache named before.
TEST_F(LumoImportTest, ReimportWithoutCacheKeepsTheRegisteredCache) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  ImportReport again = Import(w.get(), {home_}, "");
  EXPECT_EQ(again.unchanged, 13u);
  AppendFile(Run("ablation_v2/261128.000.7at/note.md"), "still watched");
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), "261128.000.7at", "ablation_v2")["note"], "still watched");
}

// 11. reindex rebuilds from journals and from the imported trees alike.
TEST_F(LumoImportTest, ReindexKeepsImportedRuns) {
  const auto home_before = Snapshot(home_);
  const auto cache_before = Snapshot(cache_);
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  std::map<std::string, json> before;
  for (const json& run : All(w.get())) {
    before[run["exp_name"].get<std::string>() + "/" + run["test_name"].get<std::string>()] = run;
  }
  ASSERT_EQ(before.size(), 13u);
  ASSERT_TRUE(w->reindex().ok());
  std::map<std::string, json> after;
  for (const json& run : All(w.get())) {
    after[run["exp_name"].get<std::string>() + "/" + run["test_name"].get<std::string>()] = run;
  }
  ASSERT_EQ(after.size(), 13u);
  for (const auto& [key, run] : before) {
    ASSERT_TRUE(after.count(key)) << key;
    EXPECT_EQ(after[key], run) << key;
  }
  // Still a source: changes under a heartbeat marker still reach load().
  AppendFile(Run("ablation_v2/261128.000.7at/note.md"), "after reindex");
  ASSERT_TRUE(w->load().ok());
  EXPECT_EQ(Retrieve(w.get(), "261128.000.7at", "ablation_v2")["note"], "after reindex");
  // And from a fresh Watcher, the reindexed index reads the same.
  w.reset();
  w = Open();
  EXPECT_EQ(All(w.get()).size(), 13u);
  EXPECT_EQ(Diff(cache_before, Snapshot(cache_)), "");
  auto home_after = Snapshot(home_);
  home_after.erase(Run("ablation_v2/261128.000.7at/note.md"));
  auto home_expected = home_before;
  home_expected.erase(Run("ablation_v2/261128.000.7at/note.md"));
  home_expected.erase(Run("ablation_v2/261128.000.7at"));  // its mtime: note.md created
  home_after.erase(Run("ablation_v2/261128.000.7at"));
  EXPECT_EQ(Diff(home_expected, home_after), "");
}

// A re-import that updates a run renews its change-feed stamp: the run
// appears after the old stamp, once, and the feed still holds one entry a run.
TEST_F(LumoImportTest, ReimportRenewsOnlyTheUpdatedRunsStamp) {
  std::unique_ptr<Watcher> w = OpenAndImportHome();
  std::vector<RunName> runs;
  int64_t latest = 0;
  ASSERT_TRUE(w->changed_runs(0, &runs, &latest).ok());
  EXPECT_EQ(runs.size(), kAllRuns.size());

  AppendFile(Run("cifar10.resnet/261128.000.a2t/note.md"), "\nsecond line");
  EXPECT_EQ(Import(w.get(), {home_}, cache_).updated, 1u);
  int64_t newer = 0;
  ASSERT_TRUE(w->changed_runs(latest, &runs, &newer).ok());
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].exp_name + "/" + runs[0].test_name, "cifar10.resnet/261128.000.a2t");
  EXPECT_GT(newer, latest);
  int64_t all_latest = 0;
  ASSERT_TRUE(w->changed_runs(0, &runs, &all_latest).ok());
  EXPECT_EQ(runs.size(), kAllRuns.size());
  EXPECT_EQ(all_latest, newer);
}

}  // namespace
}  // namespace lumodb

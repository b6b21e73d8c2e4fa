// Tests for code retrieval (engine/src/code_*.cc) through the real lumo-db
// commands archive and diff: real git repositories made by the test with the
// git CLI, runs recorded by a real Experiment whose `git` record names a
// snapshot on lumo_experiments, and the fixture project (a clone of
// ../shared/fixtures/project.bundle) with its imported lumo runs.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using testing::Lines;
using ::testing::Not;
using testing::Result;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Every entry under root: relative path -> "dir", "link:<target>",
// "file:<x or ->:<content>" (x: the owner's executable bit).
std::map<std::string, std::string> ReadTree(const std::string& root) {
  std::map<std::string, std::string> out;
  if (!fs::exists(root)) return out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string rel = it->path().lexically_relative(root).string();
    struct stat st;
    EXPECT_EQ(::lstat(it->path().c_str(), &st), 0);
    if (S_ISLNK(st.st_mode)) {
      out[rel] = "link:" + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      out[rel] = "dir";
    } else {
      out[rel] = std::string("file:") + ((st.st_mode & 0100) != 0 ? "x" : "-") + ":" +
                 testing::ReadFile(it->path());
    }
  }
  return out;
}

// Names in dir starting with a dot and holding "lumodb-tmp": leftovers.
std::vector<std::string> Leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.find("lumodb-tmp") != std::string::npos) out.push_back(name);
  }
  return out;
}

// "diff --git a/X b/Y" lines and every added or removed line, in order.
std::vector<std::string> PatchLines(const std::string& patch) {
  std::vector<std::string> out;
  for (const auto& line : Lines(patch)) {
    if (line.rfind("diff --git ", 0) == 0 || line.rfind("+", 0) == 0 || line.rfind("-", 0) == 0) {
      out.push_back(line);
    }
  }
  return out;
}

std::set<std::string> Set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

class GitRetrieveTest : public testing::ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    roots_.home = dir_ / "lumo";
    roots_.info_root = dir_ / "own-info";
    roots_.blob_root = dir_ / "own-blob";
    roots_.cache_root = dir_ / "own-cache";
  }

  // lumo-db with args, in work_, HOME=home_, the test's roots and --db.
  Result Cli(std::vector<std::string> args) {
    const std::vector<std::string> common = {"--db",           dir_ / "db",    "--info-root",
                                             roots_.info_root, "--cache-root", roots_.cache_root};
    args.insert(args.end(), common.begin(), common.end());
    return Run(testing::BinPath("lumo-db"), args);
  }

  // git's stdout without the final newline; a failure fails the test.
  std::string GitOut(const std::string& cwd, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {}) {
    Result r = Git(cwd, args, env);
    EXPECT_EQ(r.code, 0) << "git " << ::testing::PrintToString(args) << ": " << r.err;
    return Trim(r.out);
  }

  // `git archive <commit>` extracted into dest: what the archive should hold.
  void GitArchive(const std::string& repo, const std::string& commit, const std::string& dest) {
    const std::string tar = dest + ".git.tar";
    GitOut(repo, {"archive", "--format=tar", "-o", tar, commit});
    ASSERT_EQ(::mkdir(dest.c_str(), 0755), 0);
    Result x = Run("/usr/bin/tar", {"-xf", tar, "-C", dest});
    ASSERT_EQ(x.code, 0) << x.err;
  }

  // The working tree as it is, committed on lumo_experiments the way the
  // snapshot hook does it: a private index, HEAD and the branch's previous
  // tip as parents, the user's index and HEAD untouched. extra_index_args
  // run as `git update-index` on the private index (a submodule entry).
  std::string Snapshot(const std::string& repo,
                       const std::vector<std::string>& extra_index_args = {}) {
    const std::string index = dir_ / "snapshot-index";
    fs::remove(index);
    const std::map<std::string, std::string> env = {{"GIT_INDEX_FILE", index}};
    GitOut(repo, {"add", "-A"}, env);
    if (!extra_index_args.empty()) {
      std::vector<std::string> args = {"update-index"};
      args.insert(args.end(), extra_index_args.begin(), extra_index_args.end());
      GitOut(repo, args, env);
    }
    const std::string tree = GitOut(repo, {"write-tree"}, env);
    std::vector<std::string> commit_args = {"commit-tree", tree, "-p", "HEAD", "-m", "snapshot"};
    Result tip = Git(repo, {"rev-parse", "--verify", "-q", "refs/heads/lumo_experiments"});
    if (tip.code == 0) {
      commit_args.push_back("-p");
      commit_args.push_back(Trim(tip.out));
    }
    const std::string commit = GitOut(repo, commit_args);
    GitOut(repo, {"update-ref", "refs/heads/lumo_experiments", commit});
    return commit;
  }

  // A run of exp_name recorded by a real Experiment, with git_record (JSON
  // text; empty: no git record). Returns its test_name.
  std::string RecordRun(const std::string& exp_name, const std::string& git_record) {
    ExperimentOptions options;
    options.default_hooks = false;  // LastCmd would write into the cwd
    Experiment exp(exp_name, roots_, options);
    EXPECT_TRUE(exp.start().ok());
    if (!git_record.empty()) {
      Status s = exp.dump_info("git", git_record);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    EXPECT_TRUE(exp.end(0).ok());
    return exp.test_name();
  }

  // The agreed record of a snapshot commit (docs/format.md).
  std::string SnapshotRecord(const std::string& repo, const std::string& commit) {
    json record = {{"commit", commit.substr(0, 8)},
                   {"repo", repo},
                   {"snapshot", commit},
                   {"tree", GitOut(repo, {"rev-parse", commit + "^{tree}"})},
                   {"branch", "lumo_experiments"},
                   {"head", GitOut(repo, {"rev-parse", "HEAD"})},
                   {"head_branch", "main"},
                   {"dirty", true},
                   {"changed", json::array()},
                   {"changed_truncated", false},
                   {"skipped", json::array()},
                   {"submodules", json::array()},
                   {"reused", false}};
    return record.dump();
  }

  Roots roots_;
};

// A project with a base commit on main and two snapshots on lumo_experiments:
// snap1 (a.py edited, new.py untracked, a submodule entry), snap2 (a.py
// edited again, run.sh deleted, b.py added). Ignored *.log files never in.
class GitRetrieveProjectTest : public GitRetrieveTest {
 protected:
  void SetUp() override {
    GitRetrieveTest::SetUp();
    repo_ = dir_ / "project";
    GitOut(dir_.path(), {"init", "-q", "-b", "main", repo_});
    testing::WriteFile(repo_ + "/a.py", "print(1)\n");
    testing::WriteFile(repo_ + "/run.sh", "#!/bin/sh\npython a.py\n");
    ASSERT_EQ(::chmod((repo_ + "/run.sh").c_str(), 0755), 0);
    ASSERT_EQ(::symlink("a.py", (repo_ + "/link").c_str()), 0);
    testing::WriteFile(repo_ + "/.gitignore", "*.log\n");
    // 248 bytes: longer than ustar's name and prefix fields allow.
    long_dir_ = "pkg/" + std::string(120, 'd');
    long_path_ = long_dir_ + "/" + std::string(120, 'f') + ".py";
    fs::create_directories(repo_ + "/" + long_dir_);
    testing::WriteFile(repo_ + "/" + long_path_, "LONG = True\n");
    GitOut(repo_, {"add", "-A"});
    GitOut(repo_, {"commit", "-q", "-m", "base"});

    testing::WriteFile(repo_ + "/a.py", "print(2)\n");
    testing::WriteFile(repo_ + "/new.py", "NEW = 1\n");
    testing::WriteFile(repo_ + "/debug.log", "ignored\n");
    submodule_commit_ = GitOut(repo_, {"rev-parse", "HEAD"});
    snap1_ =
        Snapshot(repo_, {"--add", "--cacheinfo", "160000," + submodule_commit_ + ",third_party/x"});
    testing::WriteFile(repo_ + "/a.py", "print(3)\nprint(4)\n");
    fs::remove(repo_ + "/run.sh");
    testing::WriteFile(repo_ + "/b.py", "B = 2\n");
    snap2_ = Snapshot(repo_);
    run1_ = RecordRun("proj", SnapshotRecord(repo_, snap1_));
    run2_ = RecordRun("proj", SnapshotRecord(repo_, snap2_));
  }

  std::string repo_, snap1_, snap2_, submodule_commit_, run1_, run2_, long_dir_, long_path_;
};

TEST_F(GitRetrieveProjectTest, ArchiveFolderHoldsTheSnapshotAsGitArchiveDoes) {
  const std::string index_before = testing::ReadFile(repo_ + "/.git/index");
  const std::string head_before = testing::ReadFile(repo_ + "/.git/HEAD");

  Result r = Cli({"archive", run1_, dir_ / "out"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("skipped third_party/x: submodule at commit " + submodule_commit_));
  EXPECT_THAT(r.out, HasSubstr(snap1_));

  GitArchive(repo_, snap1_, dir_ / "expected");
  auto got = ReadTree(dir_ / "out");
  EXPECT_EQ(got, ReadTree(dir_ / "expected"));
  EXPECT_EQ(got["a.py"], "file:-:print(2)\n");
  EXPECT_EQ(got["run.sh"], "file:x:#!/bin/sh\npython a.py\n");
  EXPECT_EQ(got["link"], "link:a.py");
  EXPECT_EQ(got["new.py"], "file:-:NEW = 1\n");
  EXPECT_EQ(got[long_path_], "file:-:LONG = True\n");
  EXPECT_EQ(got["third_party/x"], "dir");
  EXPECT_EQ(got.count("debug.log"), 0u) << "an ignored file was archived";
  EXPECT_EQ(got.count(".git"), 0u);
  EXPECT_THAT(Leftovers(dir_.path()), ::testing::IsEmpty());

  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/index"), index_before);
  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/HEAD"), head_before);
}

TEST_F(GitRetrieveProjectTest, ArchiveTarIsReadByTarAndHoldsTheSameFiles) {
  const std::string tar = dir_ / "code.tar";
  Result r = Cli({"archive", run2_, tar, "--exp", "proj"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result list = testing::RunProgram("/usr/bin/tar", {"-tf", tar}, home_, work_, dir_ / "tl");
  ASSERT_EQ(list.code, 0) << list.err;
  std::set<std::string> names = Set(Lines(list.out));
  EXPECT_TRUE(names.count(long_path_)) << list.out;
  EXPECT_TRUE(names.count("b.py"));
  EXPECT_FALSE(names.count("run.sh")) << "deleted before snap2";

  ASSERT_EQ(::mkdir((dir_ / "x").c_str(), 0755), 0);
  Result x = testing::RunProgram("/usr/bin/tar", {"-xf", tar, "-C", dir_ / "x"}, home_, work_,
                                 dir_ / "tx");
  ASSERT_EQ(x.code, 0) << x.err;
  GitArchive(repo_, snap2_, dir_ / "expected");
  EXPECT_EQ(ReadTree(dir_ / "x"), ReadTree(dir_ / "expected"));
  EXPECT_EQ(ReadTree(dir_ / "x")["a.py"], "file:-:print(3)\nprint(4)\n");
}

TEST_F(GitRetrieveProjectTest, DiffOfTwoRunsIsGitDiffOfTheirSnapshots) {
  Result r = Cli({"diff", run1_, run2_});
  ASSERT_EQ(r.code, 0) << r.err;
  Result git = Git(repo_, {"diff", "--no-color", "--no-renames", snap1_, snap2_});
  ASSERT_EQ(git.code, 0) << git.err;
  EXPECT_EQ(PatchLines(r.out), PatchLines(git.out));
  EXPECT_THAT(r.out, HasSubstr("diff --git a/b.py b/b.py"));
  EXPECT_THAT(r.out, HasSubstr("-print(2)\n+print(3)\n+print(4)\n"));
  EXPECT_THAT(r.out, HasSubstr("deleted file mode 100755"));

  Result stat = Cli({"diff", run1_, run2_, "--stat"});
  ASSERT_EQ(stat.code, 0) << stat.err;
  for (const char* f : {"a.py", "b.py", "new.py", "run.sh", "third_party/x"}) {
    EXPECT_EQ(stat.out.find(f) != std::string::npos, git.out.find(f) != std::string::npos)
        << f << " in --stat:\n"
        << stat.out;
  }
  EXPECT_THAT(stat.out, HasSubstr("files changed"));
  EXPECT_THAT(stat.out, Not(HasSubstr("@@")));

  Result same = Cli({"diff", run2_, run2_});
  EXPECT_EQ(same.code, 0) << same.err;
  EXPECT_EQ(same.out, "");
}

TEST_F(GitRetrieveProjectTest, DiffAgainstTheWorkTreeShowsEditsAndUntrackedButNotIgnored) {
  testing::WriteFile(repo_ + "/a.py", "print(5)\n");
  testing::WriteFile(repo_ + "/c.py", "C = 3\n");
  testing::WriteFile(repo_ + "/more.log", "ignored\n");
  const std::string index_before = testing::ReadFile(repo_ + "/.git/index");

  Result r = Cli({"diff", run2_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Set(PatchLines(r.out)),
            (std::set<std::string>{
                "diff --git a/a.py b/a.py", "--- a/a.py", "+++ b/a.py", "-print(3)", "-print(4)",
                "+print(5)", "diff --git a/c.py b/c.py", "--- /dev/null", "+++ b/c.py", "+C = 3"}))
      << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("log")));

  Result stat = Cli({"diff", run2_, "--stat"});
  ASSERT_EQ(stat.code, 0) << stat.err;
  EXPECT_THAT(stat.out, HasSubstr("2 files changed"));
  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/index"), index_before) << "diff wrote the index";
}

TEST_F(GitRetrieveProjectTest, ExistingOutIsRefusedAndLeftAsItWas) {
  ASSERT_EQ(::mkdir((dir_ / "full").c_str(), 0755), 0);
  testing::WriteFile(dir_ / "full/keep.txt", "mine");
  Result r = Cli({"archive", run1_, dir_ / "full"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_ / "full"));
  EXPECT_THAT(r.err, HasSubstr("already exists"));
  EXPECT_EQ(ReadTree(dir_ / "full"),
            (std::map<std::string, std::string>{{"keep.txt", "file:-:mine"}}));

  testing::WriteFile(dir_ / "old.tar", "not yours");
  r = Cli({"archive", run1_, dir_ / "old.tar"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_ / "old.tar"));
  EXPECT_EQ(testing::ReadFile(dir_ / "old.tar"), "not yours");

  // An empty folder is fine: it is filled.
  ASSERT_EQ(::mkdir((dir_ / "empty").c_str(), 0755), 0);
  r = Cli({"archive", run1_, dir_ / "empty"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadTree(dir_ / "empty")["a.py"], "file:-:print(2)\n");

  r = Cli({"archive", run1_, dir_ / "no/such/parent"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_ / "no/such"));
  EXPECT_THAT(Leftovers(dir_.path()), ::testing::IsEmpty());
}

TEST_F(GitRetrieveProjectTest, AFailureHalfWayLeavesNoOut) {
  // A snapshot whose tree names a blob the repository lost: reading stops
  // after some files were written.
  testing::WriteFile(repo_ + "/zz_lost.py", "LOST = 1\n");
  const std::string snap = Snapshot(repo_);
  const std::string blob = GitOut(repo_, {"rev-parse", snap + ":zz_lost.py"});
  ASSERT_EQ(::unlink((repo_ + "/.git/objects/" + blob.substr(0, 2) + "/" + blob.substr(2)).c_str()),
            0);
  const std::string run = RecordRun("proj", SnapshotRecord(repo_, snap));
  for (const std::string& out : {dir_ / "half", dir_ / "half.tar"}) {
    Result r = Cli({"archive", run, out});
    EXPECT_EQ(r.code, 1) << out;
    EXPECT_THAT(r.err, HasSubstr("zz_lost.py"));
    EXPECT_FALSE(fs::exists(out)) << out;
  }
  EXPECT_THAT(Leftovers(dir_.path()), ::testing::IsEmpty());
}

TEST_F(GitRetrieveProjectTest, BadRecordsAndPathsGetErrorsNamingThem) {
  // No git record.
  const std::string bare_run = RecordRun("proj", "");
  Result r = Cli({"archive", bare_run, dir_ / "o1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("proj/" + bare_run + " has no git record"));

  // The hook could not take a snapshot.
  const std::string failed = RecordRun("proj", R"({"error": "not a git work tree: /x/y"})");
  r = Cli({"diff", failed});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("not a git work tree: /x/y"));

  // A snapshot id the repository does not hold.
  json record = json::parse(SnapshotRecord(repo_, snap1_));
  record["snapshot"] = std::string(40, 'e');
  const std::string unknown = RecordRun("proj", record.dump());
  r = Cli({"archive", unknown, dir_ / "o2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(std::string(40, 'e')));
  EXPECT_THAT(r.err, HasSubstr("is not in repository " + repo_));

  // A recorded repository that is gone, then --repo that is no repository.
  record = json::parse(SnapshotRecord(repo_, snap1_));
  record["repo"] = dir_ / "moved-away";
  const std::string moved = RecordRun("proj", record.dump());
  r = Cli({"archive", moved, dir_ / "o3"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(dir_ / "moved-away"));
  EXPECT_THAT(r.err, HasSubstr("--repo"));
  r = Cli({"archive", moved, dir_ / "o3", "--repo", home_});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no git repository at " + home_));
  r = Cli({"archive", moved, dir_ / "o3", "--repo", repo_});
  EXPECT_EQ(r.code, 0) << r.err;

  // A bad id, an unknown run.
  record["repo"] = repo_;
  record["snapshot"] = "not-hex";
  const std::string garbled = RecordRun("proj", record.dump());
  r = Cli({"diff", garbled, run1_});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("'not-hex'"));
  r = Cli({"archive", "260101.999.zzt", dir_ / "o4"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("260101.999.zzt"));
  r = Cli({"diff", run1_, "260101.999.zzt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("260101.999.zzt"));

  for (const char* out : {"o1", "o2", "o4"}) EXPECT_FALSE(fs::exists(dir_ / out)) << out;
  EXPECT_THAT(Leftovers(dir_.path()), ::testing::IsEmpty());
}

TEST_F(GitRetrieveProjectTest, BareCloneServesArchiveAndTwoRunDiffButHasNoWorkTree) {
  const std::string bare = dir_ / "bare.git";
  GitOut(dir_.path(), {"clone", "-q", "--bare", repo_, bare});
  Result r = Cli({"archive", run1_, dir_ / "from-bare", "--repo", bare});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadTree(dir_ / "from-bare")["a.py"], "file:-:print(2)\n");
  r = Cli({"diff", run1_, run2_, "--repo", bare, "--stat"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("b.py"));
  r = Cli({"diff", run1_, "--repo", bare});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("bare"));
}

TEST_F(GitRetrieveTest, ShortIdThatNamesSeveralObjectsIsAmbiguous) {
  const std::string repo = dir_ / "many";
  GitOut(dir_.path(), {"init", "-q", "-b", "main", repo});
  // 1500 blobs: two share their first 4 hex digits (birthday bound over
  // 65536 prefixes); the contents are fixed, so the pair is always there.
  std::string paths;
  for (int i = 0; i < 1500; ++i) {
    const std::string name = repo + "/f" + std::to_string(i);
    testing::WriteFile(name, "blob " + std::to_string(i) + "\n");
    paths += name + "\n";
  }
  testing::WriteFile(dir_ / "paths", paths);
  Result hashed = testing::RunProgram(
      "/bin/sh", {"-c", "git hash-object -w --stdin-paths < " + (dir_ / "paths")}, home_, repo,
      dir_ / "hash");
  ASSERT_EQ(hashed.code, 0) << hashed.err;
  std::map<std::string, int> prefixes;
  std::string shared;
  for (const auto& id : Lines(hashed.out)) {
    if (++prefixes[id.substr(0, 4)] == 2) shared = id.substr(0, 4);
  }
  ASSERT_FALSE(shared.empty()) << "no two blobs share a 4-digit prefix";
  const std::string run = RecordRun("many", json({{"commit", shared}, {"repo", repo}}).dump());
  Result r = Cli({"archive", run, dir_ / "out"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("commit id " + shared));
  EXPECT_THAT(r.err, HasSubstr("several objects"));
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(GitRetrieveTest, HelpShowsOptionsAndExamples) {
  for (std::string command : {"archive", "diff"}) {
    Result r = Cli({command, "--help"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("lumo-db " + command));
    EXPECT_THAT(r.out, HasSubstr("Examples:"));
    for (const char* word : {"--exp", "--repo"}) EXPECT_THAT(r.out, HasSubstr(word));
  }
  EXPECT_THAT(Cli({"diff", "--help"}).out, HasSubstr("--stat"));
  Result r = Cli({"archive", "260101.000.aat"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("out"));
}

// The fixture project: lumo's own snapshots, addressed by the 8-hex ids in
// the imported runs' git.json, in a clone of project.bundle.
class GitRetrieveFixtureTest : public GitRetrieveTest {
 protected:
  void SetUp() override {
    GitRetrieveTest::SetUp();
    clone_ = dir_ / "project";
    GitOut(dir_.path(), {"clone", "-q", testing::FixturesDir() + "/project.bundle", clone_});
    lumo_home_ = dir_ / "lumo-home";
    fs::copy(testing::FixturesDir() + "/lumo-home", lumo_home_, fs::copy_options::recursive);
    Result r = Cli({"import", lumo_home_});
    ASSERT_EQ(r.code, 0) << r.err;
    for (const auto& exp : fs::directory_iterator(lumo_home_ + "/experiments")) {
      for (const auto& run : fs::directory_iterator(exp.path())) {
        json git = json::parse(testing::ReadFile(run.path() / "info/git.json"));
        runs_[run.path().filename().string()] = git["commit"].get<std::string>();
      }
    }
    ASSERT_EQ(runs_.size(), 13u);
  }

  std::string clone_, lumo_home_;
  std::map<std::string, std::string> runs_;  // test_name -> 8-hex commit
};

TEST_F(GitRetrieveFixtureTest, EveryImportedRunArchivesItsLumoCommit) {
  for (const auto& [test, commit] : runs_) {
    const std::string out = dir_ / ("out-" + test);
    Result r = Cli({"archive", test, out, "--repo", clone_});
    ASSERT_EQ(r.code, 0) << test << ": " << r.err;
    const std::string full = GitOut(clone_, {"rev-parse", commit + "^{commit}"});
    EXPECT_THAT(r.out, HasSubstr(full)) << test;
    EXPECT_EQ(GitOut(clone_, {"log", "-1", "--format=%s", full}).find(test) != std::string::npos,
              true)
        << "commit " << full << " is not lumo's snapshot of " << test;
    const std::string expected = dir_ / ("expected-" + test);
    GitArchive(clone_, full, expected);
    auto got = ReadTree(out);
    EXPECT_EQ(got, ReadTree(expected)) << test;
    EXPECT_TRUE(got.count("train.py")) << test;
  }

  const std::string tar = dir_ / "ablation.tar";
  Result r = Cli({"archive", "261128.000.7at", tar, "--exp", "ablation_v2", "--repo", clone_});
  ASSERT_EQ(r.code, 0) << r.err;
  Result list = testing::RunProgram("/usr/bin/tar", {"-tf", tar}, home_, work_, dir_ / "tl");
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(Set(Lines(list.out)),
            Set(Lines(GitOut(clone_, {"ls-tree", "-r", "--name-only", runs_["261128.000.7at"]}))));
}

TEST_F(GitRetrieveFixtureTest, DiffsMatchGitAndTheRecordedRepositoryIsNamedWhenMissing) {
  // lumo snapshotted the same tree every time: git sees no difference.
  const std::string a = "261128.000.d6t", b = "261128.003.6at";
  Result r = Cli({"diff", a, b, "--repo", clone_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, GitOut(clone_, {"diff", runs_[a], runs_[b]}));

  testing::WriteFile(clone_ + "/train.py", testing::ReadFile(clone_ + "/train.py") + "# edited\n");
  testing::WriteFile(clone_ + "/notes.py", "N = 1\n");
  r = Cli({"diff", a, "--repo", clone_});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Set(PatchLines(r.out)),
            (std::set<std::string>{"diff --git a/notes.py b/notes.py", "--- /dev/null",
                                   "+++ b/notes.py", "+N = 1", "diff --git a/train.py b/train.py",
                                   "--- a/train.py", "+++ b/train.py", "+# edited"}))
      << r.out;

  // Without --repo the run's own git.repo is tried: /srv/lumo-demo/project.
  r = Cli({"archive", a, dir_ / "out"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("/srv/lumo-demo/project"));
  EXPECT_THAT(r.err, HasSubstr("--repo"));
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

}  // namespace
}  // namespace lumodb

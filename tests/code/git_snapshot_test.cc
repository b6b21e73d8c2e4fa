// Tests for engine/src/git_snapshot.cc and the GitCommit hook: real
// repositories made with the git command in a temporary folder, real child
// processes snapshotting at once, the hook through real runs and lumo-db.
#include "code/git_snapshot.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using testing::Result;

namespace fs = std::filesystem;

class GitSnapshotTest : public testing::ProgramTest {
 protected:
  void SetUp() override {
    ProgramTest::SetUp();
    repo_ = dir_ / "repo";
    ASSERT_EQ(::mkdir(repo_.c_str(), 0755), 0);
  }

  // git's stdout without the final newline; the test fails if git does.
  std::string GitOut(const std::vector<std::string>& args, const std::string& cwd = "") {
    Result r = Git(cwd.empty() ? repo_ : cwd, args);
    EXPECT_EQ(r.code, 0) << "git " << args[0] << ": " << r.err;
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }

  void Write(const std::string& rel, const std::string& text) {
    fs::create_directories(fs::path(repo_ + "/" + rel).parent_path());
    testing::WriteFile(repo_ + "/" + rel, text);
  }

  // main with a.txt, b.txt, src/c.txt and a .gitignore for *.log and build/.
  void InitRepo() {
    GitOut({"init", "-q", "-b", "main"});
    Write("a.txt", "a1\n");
    Write("b.txt", "b1\n");
    Write("src/c.txt", "c1\n");
    Write(".gitignore", "*.log\nbuild/\n");
    GitOut({"add", "-A"});
    GitOut({"commit", "-q", "-m", "init"});
  }

  json Snap(GitSnapshotOptions options = {}, const std::string& where = "") {
    json record;
    status_ = TakeGitSnapshot(where.empty() ? repo_ : where, options, &record);
    return record;
  }

  std::set<std::string> TreeFiles(const std::string& commit) {
    std::set<std::string> files;
    for (const auto& f : testing::Lines(GitOut({"ls-tree", "-r", "--name-only", commit}))) {
      files.insert(f);
    }
    return files;
  }

  std::string Show(const std::string& commit, const std::string& path) {
    return GitOut({"show", commit + ":" + path});
  }

  // Files ending in .lock anywhere under .git.
  std::vector<std::string> LockFiles() {
    std::vector<std::string> locks;
    for (const auto& e : fs::recursive_directory_iterator(repo_ + "/.git")) {
      if (e.path().extension() == ".lock") locks.push_back(e.path());
    }
    return locks;
  }

  std::string repo_;
  Status status_;
};

TEST_F(GitSnapshotTest, TakesEveryEditAndLeavesTheUserStateAlone) {
  InitRepo();
  const std::string head = GitOut({"rev-parse", "HEAD"});
  Write("a.txt", "a2 unstaged\n");
  Write("b.txt", "b2 staged\n");
  GitOut({"add", "b.txt"});
  Write("b.txt", "b3 staged then edited\n");
  Write("new.txt", "untracked\n");
  Write("d/e.txt", "untracked in a new folder\n");
  Write("x.log", "ignored\n");
  Write("build/o.bin", "ignored folder\n");
  fs::remove(repo_ + "/src/c.txt");
  const std::string index_before = testing::ReadFile(repo_ + "/.git/index");
  const std::string head_before = testing::ReadFile(repo_ + "/.git/HEAD");
  const std::string status_before = GitOut({"status", "--porcelain"});

  GitSnapshotOptions options;
  options.message = "snapshot for run X";
  json r = Snap(options);
  ASSERT_TRUE(status_.ok()) << status_.ToString() << r.dump();

  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/index"), index_before);
  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/HEAD"), head_before);
  EXPECT_EQ(GitOut({"rev-parse", "main"}), head);
  EXPECT_EQ(GitOut({"status", "--porcelain"}), status_before);

  const std::string snap = r["snapshot"];
  EXPECT_EQ(GitOut({"rev-parse", "lumo_experiments"}), snap);
  EXPECT_EQ(r["commit"], snap.substr(0, 8));
  EXPECT_EQ(r["repo"], repo_);
  EXPECT_EQ(r["branch"], "lumo_experiments");
  EXPECT_EQ(r["head"], head);
  EXPECT_EQ(r["head_branch"], "main");
  EXPECT_EQ(r["tree"], GitOut({"rev-parse", snap + "^{tree}"}));
  EXPECT_EQ(r["dirty"], true);
  EXPECT_EQ(r["reused"], false);
  EXPECT_FALSE(r.contains("error"));
  EXPECT_FALSE(r.contains("branch_error"));
  EXPECT_EQ(TreeFiles(snap),
            (std::set<std::string>{".gitignore", "a.txt", "b.txt", "d/e.txt", "new.txt"}));
  EXPECT_EQ(Show(snap, "a.txt"), "a2 unstaged");
  EXPECT_EQ(Show(snap, "b.txt"), "b3 staged then edited");
  EXPECT_EQ(Show(snap, "new.txt"), "untracked");
  std::set<std::string> changed(r["changed"].begin(), r["changed"].end());
  EXPECT_EQ(changed, (std::set<std::string>{"a.txt", "b.txt", "d/e.txt", "new.txt",
                                            "src/c.txt"}));
  EXPECT_EQ(r["changed_truncated"], false);
  // The first snapshot's only parent is the user's HEAD; the message is ours.
  EXPECT_EQ(GitOut({"rev-parse", snap + "^@"}), head);
  EXPECT_EQ(GitOut({"log", "-1", "--format=%s", snap}), "snapshot for run X");
  EXPECT_THAT(LockFiles(), ::testing::IsEmpty());
  EXPECT_TRUE(fs::exists(repo_ + "/.git/lumodb/index"));
}

TEST_F(GitSnapshotTest, ReusesTheSnapshotWhenTheTreeIsTheSame) {
  InitRepo();
  const std::string head = GitOut({"rev-parse", "HEAD"});
  Write("a.txt", "edited\n");
  json first = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  json again = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(again["reused"], true);
  EXPECT_EQ(again["snapshot"], first["snapshot"]);
  EXPECT_EQ(GitOut({"rev-list", "--count", "lumo_experiments"}), "2");  // snapshot, init

  // A change makes a new commit whose parents are the previous tip and HEAD.
  Write("a.txt", "edited twice\n");
  json third = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(third["reused"], false);
  EXPECT_NE(third["snapshot"], first["snapshot"]);
  EXPECT_EQ(GitOut({"rev-parse", "lumo_experiments"}), third["snapshot"]);
  EXPECT_EQ(GitOut({"rev-parse", third["snapshot"].get<std::string>() + "^@"}),
            first["snapshot"].get<std::string>() + "\n" + head);
  EXPECT_EQ(Show(third["snapshot"], "a.txt"), "edited twice");

  // Touching a file without changing it changes nothing.
  Write("a.txt", "edited twice\n");
  json fourth = Snap();
  EXPECT_EQ(fourth["reused"], true);
  EXPECT_EQ(fourth["snapshot"], third["snapshot"]);
}

// A snapshot of a work tree whose folders and files are all as the last
// snapshot left them takes that snapshot's tree without comparing (the
// stat-only path); every kind of change after such a snapshot is still
// seen.
TEST_F(GitSnapshotTest, EveryChangeAfterAnUnchangedSnapshotIsSeen) {
  InitRepo();
  Write("empty/x.log", "ignored, so the folder holds nothing of the snapshot\n");
  Write("build/out.o", "ignored folder\n");
  // Snapshots until one reuses the last: stat data settled, fast path armed.
  auto settle = [&] {
    json last;
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      json r = Snap();
      EXPECT_TRUE(status_.ok()) << status_.ToString();
      if (i > 0 && r["reused"] == true && r["snapshot"] == last["snapshot"]) return r;
      last = r;
    }
    ADD_FAILURE() << "no snapshot reused the one before";
    return last;
  };
  settle();
  ASSERT_TRUE(fs::exists(repo_ + "/.git/lumodb/unchanged"));

  Write("new.txt", "n\n");
  EXPECT_THAT(TreeFiles(settle()["snapshot"]), Contains("new.txt"));
  Write("src/d.txt", "d\n");
  EXPECT_THAT(TreeFiles(settle()["snapshot"]), Contains("src/d.txt"));
  Write("empty/e.txt", "e\n");
  EXPECT_THAT(TreeFiles(settle()["snapshot"]), Contains("empty/e.txt"));
  Write("a.txt", "a2\n");  // the same size as before
  EXPECT_EQ(Show(settle()["snapshot"], "a.txt"), "a2");
  fs::remove(repo_ + "/b.txt");
  EXPECT_THAT(TreeFiles(settle()["snapshot"]), Not(Contains("b.txt")));
  ASSERT_EQ(::chmod((repo_ + "/src/c.txt").c_str(), 0755), 0);
  EXPECT_THAT(GitOut({"ls-tree", settle()["snapshot"], "src/c.txt"}), StartsWith("100755"));

  // Rewritten with its old mtime put back: the ctime still tells.
  struct stat before;
  ASSERT_EQ(::stat((repo_ + "/a.txt").c_str(), &before), 0);
  Write("a.txt", "a3\n");
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (repo_ + "/a.txt").c_str(), times, 0), 0);
  EXPECT_EQ(Show(settle()["snapshot"], "a.txt"), "a3");

  // What is ignored changes nothing.
  const json base = settle();
  Write("build/more.o", "o\n");
  Write("empty/y.log", "y\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  json after = Snap();
  EXPECT_EQ(after["reused"], true);
  EXPECT_EQ(after["snapshot"], base["snapshot"]);
  EXPECT_THAT(TreeFiles(after["snapshot"]), Not(Contains("build/more.o")));
}

TEST_F(GitSnapshotTest, CleanTreeIsNotDirty) {
  InitRepo();
  json r = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(r["dirty"], false);
  EXPECT_TRUE(r["changed"].empty());
  EXPECT_EQ(r["tree"], GitOut({"rev-parse", "HEAD^{tree}"}));
  // Ignored files stay out even when they are all that is new.
  Write("x.log", "ignored\n");
  Write("build/deep/o.bin", "ignored\n");
  json again = Snap();
  EXPECT_EQ(again["dirty"], false);
  EXPECT_EQ(again["reused"], true);
}

TEST_F(GitSnapshotTest, SnapshotsFromASubfolder) {
  InitRepo();
  Write("src/c.txt", "from below\n");
  json r = Snap({}, repo_ + "/src");
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(r["repo"], repo_);
  EXPECT_EQ(Show(r["snapshot"], "src/c.txt"), "from below");
}

TEST_F(GitSnapshotTest, NotARepositoryIsRecorded) {
  json r = Snap({}, home_);
  EXPECT_TRUE(status_.IsNotFound()) << status_.ToString();
  EXPECT_THAT(r["error"].get<std::string>(), HasSubstr("not a git repository: " + home_));
  EXPECT_FALSE(r.contains("snapshot"));
  EXPECT_FALSE(r.contains("commit"));
}

TEST_F(GitSnapshotTest, BareRepositoryIsRecorded) {
  GitOut({"init", "-q", "--bare", "-b", "main"});
  json r = Snap();
  EXPECT_FALSE(status_.ok());
  EXPECT_THAT(r["error"].get<std::string>(), HasSubstr("bare git repository"));
  EXPECT_FALSE(r.contains("snapshot"));
  EXPECT_EQ(Git(repo_, {"rev-parse", "--verify", "-q", "lumo_experiments"}).code, 1);
}

TEST_F(GitSnapshotTest, BadBranchNameIsRecorded) {
  InitRepo();
  GitSnapshotOptions options;
  options.branch = "bad..name";
  json r = Snap(options);
  EXPECT_TRUE(status_.IsInvalidArgument());
  EXPECT_THAT(r["error"].get<std::string>(), HasSubstr("'bad..name'"));
}

TEST_F(GitSnapshotTest, DetachedHead) {
  InitRepo();
  GitOut({"checkout", "-q", "--detach"});
  const std::string head_file = testing::ReadFile(repo_ + "/.git/HEAD");
  Write("a.txt", "detached edit\n");
  json r = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(r["head"], GitOut({"rev-parse", "HEAD"}));
  EXPECT_TRUE(r["head_branch"].is_null());
  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/HEAD"), head_file);
  EXPECT_EQ(Show(r["snapshot"], "a.txt"), "detached edit");
}

TEST_F(GitSnapshotTest, UnbornBranch) {
  GitOut({"init", "-q", "-b", "main"});
  Write("a.txt", "first file\n");
  Write("sub/b.txt", "second\n");
  json r = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_TRUE(r["head"].is_null());
  EXPECT_EQ(r["head_branch"], "main");
  EXPECT_EQ(r["dirty"], true);
  EXPECT_EQ(r["changed"], json({"a.txt", "sub/b.txt"}));
  EXPECT_EQ(TreeFiles(r["snapshot"]), (std::set<std::string>{"a.txt", "sub/b.txt"}));
  // No parent, no user index made, main still unborn.
  EXPECT_EQ(Git(repo_, {"rev-parse", "-q", "--verify", r["snapshot"].get<std::string>() + "^"})
                .code,
            1);
  EXPECT_FALSE(fs::exists(repo_ + "/.git/index"));
  EXPECT_EQ(Git(repo_, {"rev-parse", "-q", "--verify", "main"}).code, 1);
}

TEST_F(GitSnapshotTest, SubmoduleCommitsAreRecorded) {
  const std::string lib = dir_ / "lib";
  ASSERT_EQ(::mkdir(lib.c_str(), 0755), 0);
  GitOut({"init", "-q", "-b", "main"}, lib);
  testing::WriteFile(lib + "/lib.txt", "lib v1\n");
  GitOut({"add", "-A"}, lib);
  GitOut({"commit", "-q", "-m", "lib"}, lib);
  InitRepo();
  GitOut({"-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "third_party/lib"});
  GitOut({"commit", "-q", "-m", "add lib"});
  const std::string v1 = GitOut({"rev-parse", "HEAD"}, repo_ + "/third_party/lib");

  json r = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(r["submodules"], json::parse(R"([{"path": "third_party/lib", "commit": ")" + v1 +
                                         R"("}])"));
  EXPECT_EQ(r["dirty"], false);

  // A new commit checked out in the submodule is what the snapshot holds.
  testing::WriteFile(repo_ + "/third_party/lib/lib.txt", "lib v2\n");
  GitOut({"commit", "-q", "-am", "v2"}, repo_ + "/third_party/lib");
  const std::string v2 = GitOut({"rev-parse", "HEAD"}, repo_ + "/third_party/lib");
  json after = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(after["submodules"][0]["commit"], v2);
  EXPECT_EQ(after["changed"], json({"third_party/lib"}));
  EXPECT_THAT(GitOut({"ls-tree", after["snapshot"], "third_party/lib"}), HasSubstr(v2));
}

TEST_F(GitSnapshotTest, BigFilesAreSkippedAndListed) {
  InitRepo();
  Write("big.bin", std::string(2000, 'x'));
  Write("a.txt", std::string(1500, 'y'));  // tracked, grown past the limit
  Write("small.txt", "small\n");
  GitSnapshotOptions options;
  options.max_file_bytes = 1000;
  json r = Snap(options);
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(r["skipped"], json::parse(R"([
      {"path": "a.txt", "reason": "larger than 1000 bytes"},
      {"path": "big.bin", "reason": "larger than 1000 bytes"}])"));
  EXPECT_EQ(TreeFiles(r["snapshot"]),
            (std::set<std::string>{".gitignore", "b.txt", "small.txt", "src/c.txt"}));
  // Under the default limit both go in.
  json all = Snap();
  EXPECT_TRUE(all["skipped"].empty());
  EXPECT_EQ(Show(all["snapshot"], "big.bin"), std::string(2000, 'x'));
}

TEST_F(GitSnapshotTest, UnreadableFilesAreSkippedAndListed) {
  InitRepo();
  Write("secret.txt", "no one may read this\n");
  Write("open.txt", "readable\n");
  ASSERT_EQ(::chmod((repo_ + "/secret.txt").c_str(), 0), 0);
  std::vector<std::string> args = {testing::BinPath("git_snapshot_run"), home_};
  std::string program = args[0];
  if (::geteuid() == 0) {
    // root reads anything: the child drops to nobody, owner of everything.
    for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
      ASSERT_EQ(::lchown(e.path().c_str(), 65534, 65534), 0) << e.path();
    }
    ASSERT_EQ(::chown(dir_.path().c_str(), 65534, 65534), 0);
    program = "/usr/bin/setpriv";
    args.insert(args.begin(), {"--reuid=65534", "--regid=65534", "--clear-groups"});
  } else {
    args.erase(args.begin());
  }
  Result child = testing::RunProgram(program, args, home_, repo_, dir_ / "child",
                                     {{"LUMODB_GIT_SNAPSHOT", "1"}});
  if (::geteuid() == 0) {
    // Back to root, or git refuses a repository of another owner.
    for (const auto& e : fs::recursive_directory_iterator(dir_.path())) {
      ASSERT_EQ(::lchown(e.path().c_str(), 0, 0), 0) << e.path();
    }
  }
  ASSERT_EQ(child.code, 0) << child.err;
  json r = json::parse(child.out)["git"];
  ASSERT_TRUE(r.contains("snapshot")) << r.dump();
  ASSERT_EQ(r["skipped"].size(), 1u) << r.dump();
  EXPECT_EQ(r["skipped"][0]["path"], "secret.txt");
  EXPECT_THAT(r["skipped"][0]["reason"].get<std::string>(), StartsWith("unreadable"));
  EXPECT_THAT(TreeFiles(r["snapshot"]), Contains("open.txt"));
  EXPECT_THAT(TreeFiles(r["snapshot"]), Not(Contains("secret.txt")));
}

TEST_F(GitSnapshotTest, UserIndexLockIsNoObstacleAndStays) {
  InitRepo();
  Write(".git/index.lock", "another git is staging");
  Write("a.txt", "edited while git was busy\n");
  json r = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(Show(r["snapshot"], "a.txt"), "edited while git was busy");
  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/index.lock"), "another git is staging");
}

TEST_F(GitSnapshotTest, LockedBranchIsRetriedThenRecorded) {
  InitRepo();
  json first = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  const std::string ref_lock = repo_ + "/.git/refs/heads/lumo_experiments.lock";
  testing::WriteFile(ref_lock, "held by another git\n");

  // Held for good: the commit exists, the branch stays, the lock is not ours.
  Write("a.txt", "while the branch is locked\n");
  GitSnapshotOptions options;
  options.branch_wait_ms = 200;
  json r = Snap(options);
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_THAT(r["branch_error"].get<std::string>(), HasSubstr("refs/heads/lumo_experiments"));
  EXPECT_EQ(GitOut({"cat-file", "-t", r["snapshot"]}), "commit");
  EXPECT_EQ(GitOut({"rev-parse", "lumo_experiments"}), first["snapshot"]);
  EXPECT_TRUE(fs::exists(ref_lock));

  // Released while we retry: the branch moves.
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    fs::remove(ref_lock);
  });
  Write("a.txt", "after the lock goes\n");
  options.branch_wait_ms = 10000;
  json moved = Snap(options);
  release.join();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_FALSE(moved.contains("branch_error")) << moved.dump();
  EXPECT_EQ(GitOut({"rev-parse", "lumo_experiments"}), moved["snapshot"]);
  EXPECT_THAT(LockFiles(), ::testing::IsEmpty());
}

TEST_F(GitSnapshotTest, BusyPrivateIndexFallsBackToAReadOnlyView) {
  InitRepo();
  json first = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  const std::string index = repo_ + "/.git/lumodb/index";
  const std::string saved = testing::ReadFile(index);
  // Another snapshot holds the private index and does not let go.
  int fd = ::open((repo_ + "/.git/lumodb/index.mutex").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  Write("a.txt", "while the index is busy\n");
  GitSnapshotOptions options;
  options.index_wait_ms = 100;
  json r = Snap(options);
  ::close(fd);
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_EQ(Show(r["snapshot"], "a.txt"), "while the index is busy");
  EXPECT_EQ(GitOut({"rev-parse", "lumo_experiments"}), r["snapshot"]);
  EXPECT_EQ(testing::ReadFile(index), saved);  // not ours to write
  EXPECT_THAT(LockFiles(), ::testing::IsEmpty());
}

TEST_F(GitSnapshotTest, CheckedOutSnapshotBranchIsNotMoved) {
  InitRepo();
  GitOut({"checkout", "-q", "-b", "lumo_experiments"});
  const std::string head = GitOut({"rev-parse", "HEAD"});
  Write("a.txt", "edit\n");
  json r = Snap();
  ASSERT_TRUE(status_.ok()) << status_.ToString();
  EXPECT_THAT(r["branch_error"].get<std::string>(), HasSubstr("checked-out"));
  EXPECT_EQ(GitOut({"rev-parse", "HEAD"}), head);
}

TEST_F(GitSnapshotTest, EightProcessesAtOnce) {
  InitRepo();
  constexpr int kChildren = 8;
  const std::string go = dir_ / "go";
  std::vector<Result> results(kChildren);
  std::vector<std::thread> threads;
  for (int i = 0; i < kChildren; ++i) {
    threads.emplace_back([&, i] {
      results[i] = testing::RunProgram(
          testing::BinPath("git_snapshot_run"),
          {home_, "--wait-for", go, "--write", "child_" + std::to_string(i) + ".txt",
           "child " + std::to_string(i)},
          home_, repo_, dir_ / ("child" + std::to_string(i)), {{"LUMODB_GIT_SNAPSHOT", "1"}});
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  testing::WriteFile(go, "");
  for (auto& t : threads) t.join();

  const std::string tip = GitOut({"rev-parse", "lumo_experiments"});
  std::set<std::string> snapshots;
  for (int i = 0; i < kChildren; ++i) {
    ASSERT_EQ(results[i].code, 0) << results[i].err;
    json r = json::parse(results[i].out)["git"];
    ASSERT_TRUE(r.contains("snapshot")) << r.dump();
    EXPECT_FALSE(r.contains("branch_error")) << r.dump();
    const std::string snap = r["snapshot"];
    snapshots.insert(snap);
    // Its own file is in, and no snapshot is lost from the branch.
    const std::string mine = "child_" + std::to_string(i) + ".txt";
    EXPECT_EQ(Show(snap, mine), "child " + std::to_string(i));
    EXPECT_EQ(Git(repo_, {"merge-base", "--is-ancestor", snap, tip}).code, 0) << snap;
  }
  // The last snapshot saw every child's file.
  for (int i = 0; i < kChildren; ++i) {
    EXPECT_THAT(TreeFiles(tip), Contains("child_" + std::to_string(i) + ".txt"));
  }
  EXPECT_THAT(LockFiles(), ::testing::IsEmpty());
  Result fsck = Git(repo_, {"fsck", "--no-dangling", "--no-progress"});
  EXPECT_EQ(fsck.code, 0) << fsck.out << fsck.err;
}

// The hook through real runs: example_trainer in a repository records "git"
// and lumo-db shows it.
TEST_F(GitSnapshotTest, HookRecordsGitAndLumoDbShowsIt) {
  InitRepo();
  Write("train.py", "edited code\n");
  const std::string index_before = testing::ReadFile(repo_ + "/.git/index");
  Result run = testing::RunProgram(testing::BinPath("example_trainer"),
                                   {"--exp", "mnist", "--epochs", "2", "--sleep-ms", "1"},
                                   home_, repo_, dir_ / "trainer",
                                   {{"LUMODB_GIT_SNAPSHOT", "1"}});
  ASSERT_EQ(run.code, 0) << run.err;
  std::istringstream words(run.out);
  std::string exp, test;
  words >> exp >> test;
  EXPECT_EQ(testing::ReadFile(repo_ + "/.git/index"), index_before);

  Result show = testing::RunProgram(testing::BinPath("lumo-db"), {"show", test}, home_, repo_,
                                    dir_ / "show");
  ASSERT_EQ(show.code, 0) << show.err;
  json shown = json::parse(show.out);
  ASSERT_TRUE(shown.contains("git")) << show.out;
  json git = shown["git"];
  const std::string snap = GitOut({"rev-parse", "lumo_experiments"});
  EXPECT_EQ(git["snapshot"], snap) << show.out;
  EXPECT_EQ(git["commit"], snap.substr(0, 8));
  EXPECT_EQ(git["repo"], repo_);
  EXPECT_EQ(Show(snap, "train.py"), "edited code");
  // LastCmd's history line of this run came after the snapshot.
  EXPECT_THAT(TreeFiles(snap), Not(Contains("run_example_trainer.sh")));
  EXPECT_THAT(GitOut({"log", "-1", "--format=%B", snap}),
              HasSubstr("info_dir: " + home_ + "/.lumo/experiments/mnist/" + test));
}

TEST_F(GitSnapshotTest, HookOutsideARepositoryRecordsTheError) {
  Result run = testing::RunProgram(testing::BinPath("git_snapshot_run"), {home_}, home_,
                                   home_, dir_ / "child", {{"LUMODB_GIT_SNAPSHOT", "1"}});
  ASSERT_EQ(run.code, 0) << run.err;
  json props = json::parse(run.out);
  EXPECT_THAT(props["git"]["error"].get<std::string>(), HasSubstr("not a git repository"));
  EXPECT_FALSE(props.contains("hook_errors")) << run.out;
}

TEST_F(GitSnapshotTest, HookIsOffByOptionOrEnvironment) {
  Roots roots;
  roots.FillDefaults(home_);
  ExperimentOptions off;
  off.git_snapshot = false;
  // The test binary runs with LUMODB_GIT_SNAPSHOT=0 (test_util.cc).
  for (const ExperimentOptions& options : {off, ExperimentOptions{}}) {
    Experiment exp("hooks.off", roots, options);
    ASSERT_TRUE(exp.start().ok());
    json props = json::parse(exp.properties());
    EXPECT_FALSE(props["hooks"].contains("GitCommit")) << props["hooks"];
    EXPECT_FALSE(props.contains("git"));
    EXPECT_TRUE(props["hooks"].contains("LockFile"));
    ASSERT_TRUE(exp.end(0).ok());
  }
}

}  // namespace
}  // namespace lumodb

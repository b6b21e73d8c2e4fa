// Tests for WatcherOptions::lazy_writer: a one-shot reader writes the index
// only when a journal holds something new.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "index/index.h"
#include "lumodb/lumodb.h"
#include "test_util.h"

namespace lumodb {
namespace {

class LazyWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    roots_.home = dir_ / "home";
    roots_.cache_root = dir_ / "cache";
    roots_.FillDefaults(dir_.path());
    options_.db_path = dir_ / "db";
    options_.writer_wait_ms = 500;  // tests never wait long for another writer
  }
  std::string Record(const std::string& exp_name, double acc) {
    ExperimentOptions eo;
    eo.default_hooks = false;
    Experiment exp(exp_name, roots_, eo);
    EXPECT_TRUE(exp.start().ok());
    exp.dump_metric("acc", acc, Cmp::Max);
    EXPECT_TRUE(exp.end(0).ok());
    return exp.test_name();
  }
  testing::TempDir dir_;
  Roots roots_;
  WatcherOptions options_;
};

TEST_F(LazyWatcherTest, UpToDateIndexIsNeverOpenedForWriting) {
  std::string first = Record("lazy", 0.5);
  {
    std::unique_ptr<Watcher> writer;
    ASSERT_TRUE(Watcher::Open(roots_, options_, &writer).ok());
    ASSERT_TRUE(writer->load().ok());
    EXPECT_FALSE(writer->read_only());
  }
  WatcherOptions lazy = options_;
  lazy.lazy_writer = true;
  std::unique_ptr<Watcher> reader;
  ASSERT_TRUE(Watcher::Open(roots_, lazy, &reader).ok());
  EXPECT_TRUE(reader->read_only());
  ASSERT_TRUE(reader->load().ok());
  EXPECT_TRUE(reader->read_only()) << "nothing new: still a read-only view";
  // It holds no lock: a writer can open the index meanwhile.
  std::unique_ptr<Index> other;
  ASSERT_TRUE(Index::Open(options_.db_path, false, &other).ok());
  EXPECT_FALSE(other->read_only());
  other.reset();

  std::string json;
  ASSERT_TRUE(reader->retrieve(first, "", &json).ok());

  // A new run: the next load becomes the writer and indexes it.
  std::string second = Record("lazy", 0.7);
  LoadStats stats;
  ASSERT_TRUE(reader->load(&stats).ok());
  EXPECT_FALSE(reader->read_only());
  EXPECT_EQ(stats.runs_read, 1u);
  ASSERT_TRUE(reader->retrieve(second, "", &json).ok());
  EXPECT_EQ(nlohmann::json::parse(json)["metrics"]["acc"], 0.7);
}

TEST_F(LazyWatcherTest, MissingIndexIsCreated) {
  std::string name = Record("lazy", 0.25);
  WatcherOptions lazy = options_;
  lazy.lazy_writer = true;
  std::unique_ptr<Watcher> reader;
  ASSERT_TRUE(Watcher::Open(roots_, lazy, &reader).ok());
  ASSERT_TRUE(reader->load().ok());
  std::string json;
  ASSERT_TRUE(reader->retrieve(name, "lazy", &json).ok());
}

}  // namespace
}  // namespace lumodb

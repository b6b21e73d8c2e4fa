// Sweep generator: synthetic finished runs with real journals, encoded with
// the same FlatBuffers RunEvents and journal frames a trainer writes.
#include "sweep_generator.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "experiment/process_info.h"
#include "journal/format.h"
#include "journal/markers.h"
#include "journal/writer.h"
#include "journal_generated.h"
#include "lumodb/names.h"
#include "lumodb/version.h"

namespace lumodb::bench {

namespace {

constexpr double kLearningRates[] = {0.1, 0.05, 0.01, 0.005, 0.001, 0.0005};
constexpr int kBatches[] = {32, 64, 128};
// Above PID_MAX_LIMIT (2^22), so no process can have it: with this host and
// boot id recorded, a run without End is judged killed.
constexpr int64_t kDeadPid = (int64_t{1} << 22) + 17;
constexpr int64_t kSecond = 1000000;

std::string ExpName(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "sweep%02zu.mlp", i);
  return buf;
}

// Two lowercase hex digits that look random but repeat for the same run.
std::string HexPair(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  char buf[4];
  std::snprintf(buf, sizeof(buf), "%02x", static_cast<unsigned>(x & 0xff));
  return buf;
}

struct RunPlan {
  SweepRun names;
  size_t index;      // 0 .. n_runs-1, also the seed
  int64_t start_us;  // Start record time
};

RunPlan Plan(size_t i, const SweepOptions& o) {
  RunPlan p;
  p.index = i;
  const size_t exp = i % o.n_exps;
  const size_t k = i / o.n_exps;  // the run's number within its exp_name
  const size_t day = k / o.runs_per_day;
  const size_t counter = k % o.runs_per_day + 1;
  const int64_t day_s = o.first_day_unix_s + static_cast<int64_t>(day) * 86400;
  time_t t = static_cast<time_t>(day_s);
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[16];
  std::strftime(date, sizeof(date), "%y%m%d", &tm);
  char name[48];
  std::snprintf(name, sizeof(name), "%s.%03zu.%st", date, counter,
                HexPair(i * 1315423911ULL + 7).c_str());
  p.names.exp_name = ExpName(exp);
  p.names.test_name = name;
  // 20 s apart within a day: 1500 runs fit in 8.3 hours.
  p.start_us = (day_s + static_cast<int64_t>(counter) * 20) * kSecond;
  return p;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Encodes one RunEvent (already built in fbb) as the next frame.
void Frame(flatbuffers::FlatBufferBuilder& fbb, uint64_t* seq, std::string* out) {
  JournalWriter::EncodeFrame(
      (*seq)++,
      std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                       fbb.GetSize()),
      out);
  fbb.Clear();
}

template <typename T>
void Event(flatbuffers::FlatBufferBuilder& fbb, int64_t time_us, fbs::Event type,
           flatbuffers::Offset<T> event, uint64_t* seq, std::string* out) {
  fbb.Finish(fbs::CreateRunEvent(fbb, time_us, type, event.Union()));
  Frame(fbb, seq, out);
}

struct HostFacts {
  std::string host = HostName();
  std::string boot_id = BootId();
};

// Every frame of one finished (or failed) run, as a trainer would write them.
std::string EncodeRun(const RunPlan& p, const std::string& info_root,
                      const SweepOptions& o, const HostFacts& host) {
  const std::string& exp = p.names.exp_name;
  const std::string& test = p.names.test_name;
  const std::string root = Parent(info_root);
  const std::string blob_root = root + "/blob", cache_root = root + "/cache";
  const double lr = kLearningRates[p.index % 6];
  const int batch = kBatches[(p.index / 6) % 3];
  const int seed = static_cast<int>(p.index);
  const bool fails = o.fail_every != 0 && p.index % o.fail_every == o.fail_every - 1;
  const int fail_at = o.epochs / 2 + 1;

  std::string out;
  uint64_t seq = journal::kFirstSeq;
  flatbuffers::FlatBufferBuilder fbb(1024);
  int64_t t = p.start_us;

  char lr_text[32];
  std::snprintf(lr_text, sizeof(lr_text), "%g", lr);
  std::vector<std::string> argv = {"python3", "train.py", "--lr", lr_text,
                                   "--seed", std::to_string(seed)};
  std::vector<flatbuffers::Offset<flatbuffers::String>> argv_offsets;
  for (const auto& a : argv) argv_offsets.push_back(fbb.CreateString(a));
  auto roots = fbs::CreateRootsDirect(fbb, info_root.c_str(), blob_root.c_str(),
                                      cache_root.c_str());
  auto execute = fbs::CreateExecuteDirect(fbb, "/work/sweep", "/work/sweep",
                                          "train.py", "/usr/bin/python3.11",
                                          &argv_offsets);
  auto pinfo = fbs::CreatePinfoDirect(
      fbb, kDeadPid, host.host.c_str(), static_cast<double>(p.start_us) / kSecond - 2,
      host.boot_id.c_str(), "python3");
  const std::string info_dir = RunInfoDir(info_root, exp, test);
  const std::string blob_dir = RunInfoDir(blob_root, exp, test);
  const std::string cache_dir = RunInfoDir(cache_root, exp, test);
  Event(fbb, t, fbs::Event::Start,
        fbs::CreateStartDirect(fbb, exp.c_str(), test.c_str(), roots,
                               info_dir.c_str(), blob_dir.c_str(), cache_dir.c_str(),
                               execute, pinfo, Version()),
        &seq, &out);

  const std::string hooks =
      R"({"LastCmd":{"loaded":true,"msg":""},"RecordAbort":{"loaded":true,"msg":""}})";
  Event(fbb, t, fbs::Event::Info, fbs::CreateInfoDirect(fbb, "hooks", hooks.c_str()),
        &seq, &out);
  const std::string params =
      nlohmann::json{{"lr", lr}, {"seed", seed}, {"batch", batch}}.dump();
  Event(fbb, t, fbs::Event::Info, fbs::CreateInfoDirect(fbb, "params", params.c_str()),
        &seq, &out);
  {
    std::vector<flatbuffers::Offset<flatbuffers::String>> tags = {
        fbb.CreateString(std::string("lr=") + lr_text),
        fbb.CreateString("batch=" + std::to_string(batch)), fbb.CreateString("sweep")};
    Event(fbb, t, fbs::Event::Tags, fbs::CreateTagsDirect(fbb, &tags), &seq, &out);
  }

  // The example trainer's made-up curve: best lr near 0.05, seeds add noise.
  const double quality = 1.0 - std::fabs(std::log10(lr / 0.05)) * 0.15;
  double best_acc = -1, best_loss = 1e300;
  std::string best_extras;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    t += 60 * kSecond;
    if (fails && epoch == fail_at) {
      const std::string msg = "loss diverged at epoch " + std::to_string(epoch);
      Event(fbb, t, fbs::Event::Exception,
            fbs::CreateExceptionDirect(fbb, "RuntimeError", msg.c_str()), &seq, &out);
      Event(fbb, t, fbs::Event::End, fbs::CreateEnd(fbb, 1, 0), &seq, &out);
      return out;
    }
    const double noise = std::sin(seed * 12.9898 + epoch * 78.233) * 0.01;
    const double acc = quality * (1.0 - std::exp(-0.8 * epoch)) + noise;
    const double loss = (1.0 - acc) * 2.0;
    if (acc > best_acc) {
      best_acc = acc;
      best_extras = R"({"best_epoch":)" + std::to_string(epoch) + "}";
    }
    if (loss < best_loss) best_loss = loss;
    Event(fbb, t, fbs::Event::Metric,
          fbs::CreateMetricDirect(fbb, "acc", fbs::Cmp::Max, best_acc,
                                  best_extras.c_str(), acc, epoch),
          &seq, &out);
    Event(fbb, t, fbs::Event::Metric,
          fbs::CreateMetricDirect(fbb, "loss", fbs::Cmp::Min, best_loss, "", loss,
                                  epoch),
          &seq, &out);
    Event(fbb, t, fbs::Event::Progress,
          fbs::CreateProgress(fbb, static_cast<double>(epoch) / o.epochs), &seq, &out);
  }
  Event(fbb, t, fbs::Event::Progress, fbs::CreateProgress(fbb, 1.0), &seq, &out);
  Event(fbb, t, fbs::Event::End, fbs::CreateEnd(fbb, 0, 0), &seq, &out);
  return out;
}

Status WriteWholeFile(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("create", path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("write", path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Status::FromErrno("close", path, errno);
  return Status::OK();
}

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir", path, errno);
  }
  return Status::OK();
}

}  // namespace

std::vector<SweepRun> SweepRuns(size_t n_runs, const SweepOptions& options) {
  std::vector<SweepRun> runs;
  runs.reserve(n_runs);
  for (size_t i = 0; i < n_runs; ++i) runs.push_back(Plan(i, options).names);
  return runs;
}

Status GenerateSweep(const std::string& info_root, size_t n_runs,
                     const SweepOptions& options, uint64_t* bytes_written) {
  std::error_code ec;
  std::filesystem::create_directories(info_root, ec);
  if (ec) return Status::IOError("create directory " + info_root + ": " + ec.message());
  const HostFacts host;
  std::set<std::string> made;
  uint64_t bytes = 0;
  for (size_t i = 0; i < n_runs; ++i) {
    const RunPlan p = Plan(i, options);
    if (!IsValidTestName(p.names.test_name)) {
      return Status::InvalidArgument("generated test_name " + p.names.test_name +
                                     " is not valid");
    }
    const std::string exp_dir = info_root + "/" + p.names.exp_name;
    if (made.insert(exp_dir).second) {
      Status s = MakeDir(exp_dir);
      if (!s.ok()) return s;
    }
    const std::string info_dir = RunInfoDir(info_root, p.names.exp_name,
                                            p.names.test_name);
    Status s = MakeDir(info_dir);
    if (!s.ok()) return s;
    // The magic first, so JournalWriter::Open takes the file as an existing
    // journal and skips the fsyncs a trainer's first open makes (100,000
    // fsyncs would dominate generation and prove nothing).
    const std::string path = JournalPath(info_dir);
    s = WriteWholeFile(path, std::string_view(journal::kMagic, journal::kMagicSize));
    if (!s.ok()) return s;
    std::unique_ptr<JournalWriter> writer;
    s = JournalWriter::Open(path, &writer);
    if (!s.ok()) return s;
    const std::string frames = EncodeRun(p, info_root, options, host);
    s = writer->Append(frames);
    if (!s.ok()) return s;
    bytes += writer->size();
  }
  if (bytes_written != nullptr) *bytes_written = bytes;
  return Status::OK();
}

Status EnsureSweep(const std::string& data_dir, size_t n_runs,
                   const SweepOptions& options, bool* generated) {
  *generated = false;
  const std::string stamp = data_dir + "/complete";
  struct stat st;
  if (::stat(stamp.c_str(), &st) == 0) return Status::OK();
  std::error_code ec;
  std::filesystem::remove_all(data_dir + "/info", ec);
  if (ec) return Status::IOError("remove " + data_dir + "/info: " + ec.message());
  uint64_t bytes = 0;
  Status s = GenerateSweep(data_dir + "/info", n_runs, options, &bytes);
  if (!s.ok()) return s;
  s = WriteWholeFile(stamp, "runs " + std::to_string(n_runs) + "\njournal bytes " +
                                std::to_string(bytes) + "\n");
  if (!s.ok()) return s;
  *generated = true;
  return Status::OK();
}

Status TouchRuns(const std::string& info_root, const std::vector<SweepRun>& runs,
                 int64_t value_seed) {
  const std::string active = ActiveDir(info_root);
  std::error_code ec;
  std::filesystem::create_directories(active, ec);
  if (ec) return Status::IOError("create directory " + active + ": " + ec.message());
  flatbuffers::FlatBufferBuilder fbb(256);
  for (const SweepRun& run : runs) {
    const std::string info_dir = RunInfoDir(info_root, run.exp_name, run.test_name);
    std::unique_ptr<JournalWriter> writer;
    Status s = JournalWriter::Open(JournalPath(info_dir), &writer);
    if (!s.ok()) return s;
    // A lower loss than any epoch reached, so the best value changes too.
    const double loss = 0.01 / static_cast<double>(value_seed + 1);
    fbb.Clear();
    fbb.Finish(fbs::CreateRunEvent(
        fbb, static_cast<int64_t>(std::time(nullptr)) * kSecond,
        fbs::Event::Metric,
        fbs::CreateMetricDirect(fbb, "loss", fbs::Cmp::Min, loss, "", loss,
                                100 + value_seed)
            .Union()));
    std::string frame;
    uint64_t seq = writer->next_seq();
    Frame(fbb, &seq, &frame);
    s = writer->Append(frame);
    if (!s.ok()) return s;
    s = WriteWholeFile(active + "/" + MarkerName(run.exp_name, run.test_name), info_dir);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status RemoveMarkers(const std::string& info_root) {
  const std::string active = ActiveDir(info_root);
  DIR* dir = ::opendir(active.c_str());
  if (dir == nullptr) {
    return errno == ENOENT ? Status::OK() : Status::FromErrno("list", active, errno);
  }
  Status s;
  while (struct dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string path = active + "/" + e->d_name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT && s.ok()) {
      s = Status::FromErrno("remove marker", path, errno);
    }
  }
  ::closedir(dir);
  return s;
}

}  // namespace lumodb::bench

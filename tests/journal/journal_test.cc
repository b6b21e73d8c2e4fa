// Tests for engine/src/journal_writer.cc and engine/src/journal_reader.cc,
// on real files: round trips, torn tails, flipped bits, a full disk.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "journal/format.h"
#include "journal/reader.h"
#include "journal/writer.h"
#include "test_util.h"

namespace lumodb {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

struct Report {
  std::string path;
  uint64_t offset;
  uint64_t bytes;
  std::string reason;
};

class RecordingReporter : public JournalReporter {
 public:
  void Corruption(const std::string& path, uint64_t offset, uint64_t bytes,
                  const std::string& reason) override {
    reports.push_back({path, offset, bytes, reason});
  }
  std::vector<Report> reports;
};

struct Frame {
  uint64_t seq;
  uint64_t offset;
  std::string payload;
};

// A read with everything it produced.
struct Read {
  Status status;
  JournalReadResult result;
  std::vector<Frame> frames;
  std::vector<Report> reports;
};

Read ReadAll(const std::string& path, uint64_t from_offset,
             bool tail_is_final) {
  Read r;
  RecordingReporter reporter;
  r.status = ReadJournal(
      path, from_offset, tail_is_final, &reporter,
      [&](uint64_t seq, uint64_t offset, std::string_view payload) {
        r.frames.push_back({seq, offset, std::string(payload)});
        return Status::OK();
      },
      &r.result);
  r.reports = reporter.reports;
  return r;
}

// Varied sizes, including an empty payload, and bytes that are not text.
std::string PayloadFor(uint64_t seq) {
  std::string p;
  for (uint64_t i = 0; i < (seq * 37) % 101; ++i) {
    p.push_back(static_cast<char>(seq * 31 + i * 7));
  }
  return p;
}

uint64_t FrameSize(uint64_t seq) {
  return journal::kHeaderSize + PayloadFor(seq).size();
}

// Appends frames for the writer's next n seqs, one Append each. Returns
// their offsets.
std::vector<uint64_t> AppendFrames(JournalWriter* w, int n) {
  std::vector<uint64_t> offsets;
  for (int i = 0; i < n; ++i) {
    std::string buf;
    const uint64_t seq = w->next_seq();
    JournalWriter::EncodeFrame(seq, PayloadFor(seq), &buf);
    w->set_next_seq(seq + 1);
    offsets.push_back(w->size());
    Status s = w->Append(buf);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  return offsets;
}

// Writes a journal of n frames; returns each frame's offset.
std::vector<uint64_t> WriteJournal(const std::string& path, int n) {
  std::unique_ptr<JournalWriter> w;
  Status s = JournalWriter::Open(path, &w);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return {};
  std::vector<uint64_t> offsets = AppendFrames(w.get(), n);
  EXPECT_TRUE(w->Sync().ok());
  return offsets;
}

void ExpectFrames(const std::vector<Frame>& frames, uint64_t first_seq,
                  uint64_t last_seq) {
  ASSERT_EQ(frames.size(), last_seq - first_seq + 1);
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].seq, first_seq + i);
    EXPECT_EQ(frames[i].payload, PayloadFor(first_seq + i))
        << "seq " << first_seq + i;
  }
}

TEST(JournalTest, NewJournalHasMagicOnly) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::unique_ptr<JournalWriter> w;
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  EXPECT_EQ(w->next_seq(), 1u);
  EXPECT_EQ(w->size(), 8u);
  EXPECT_EQ(w->path(), path);
  EXPECT_EQ(ReadFile(path), "LUMOJNL1");

  Read r = ReadAll(path, 0, true);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.result.records, 0u);
  EXPECT_EQ(r.result.end_offset, 8u);
  EXPECT_EQ(r.result.last_seq, 0u);
  EXPECT_TRUE(r.reports.empty());
}

TEST(JournalTest, EncodeFrameLayout) {
  std::string buf;
  JournalWriter::EncodeFrame(0x0102030405060708ull, "abc", &buf);
  ASSERT_EQ(buf.size(), 19u);
  EXPECT_EQ(buf.substr(4, 4), std::string("\x03\0\0\0", 4));  // length, LE
  EXPECT_EQ(buf.substr(8, 8), "\x08\x07\x06\x05\x04\x03\x02\x01");  // seq, LE
  EXPECT_EQ(buf.substr(16), "abc");
  // Appends rather than overwrites.
  JournalWriter::EncodeFrame(2, "", &buf);
  EXPECT_EQ(buf.size(), 19u + 16u);
}

TEST(JournalTest, WriteThenReadBack) {
  TempDir dir;
  const std::string path = dir / "journal";
  const int n = 60;
  std::vector<uint64_t> offsets = WriteJournal(path, n);
  ASSERT_EQ(offsets.size(), static_cast<size_t>(n));
  EXPECT_EQ(offsets[0], 8u);

  Read r = ReadAll(path, 0, false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectFrames(r.frames, 1, n);
  for (int i = 0; i < n; ++i) EXPECT_EQ(r.frames[i].offset, offsets[i]);
  const uint64_t size = ReadFile(path).size();
  EXPECT_EQ(r.result.records, static_cast<size_t>(n));
  EXPECT_EQ(r.result.last_seq, static_cast<uint64_t>(n));
  EXPECT_EQ(r.result.end_offset, size);
  EXPECT_EQ(r.result.file_size, size);
  EXPECT_EQ(r.result.torn_bytes, 0u);
  EXPECT_EQ(r.result.corrupt, 0u);
  EXPECT_TRUE(r.reports.empty());
}

TEST(JournalTest, IncrementalReadReturnsOnlyNewFrames) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::unique_ptr<JournalWriter> w;
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  AppendFrames(w.get(), 10);

  Read first = ReadAll(path, 0, false);
  ASSERT_TRUE(first.status.ok());
  ExpectFrames(first.frames, 1, 10);

  std::vector<uint64_t> offsets = AppendFrames(w.get(), 5);
  Read second = ReadAll(path, first.result.end_offset, false);
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  ExpectFrames(second.frames, 11, 15);
  EXPECT_EQ(second.frames[0].offset, first.result.end_offset);
  EXPECT_EQ(second.frames[4].offset, offsets[4]);
  EXPECT_EQ(second.result.end_offset, w->size());
  EXPECT_EQ(second.result.last_seq, 15u);

  Read third = ReadAll(path, second.result.end_offset, false);
  ASSERT_TRUE(third.status.ok());
  EXPECT_TRUE(third.frames.empty());
  EXPECT_EQ(third.result.end_offset, w->size());
  EXPECT_EQ(third.result.last_seq, 0u);

  // An incremental read starts at its offset: it never looks at the magic.
  std::string bytes = ReadFile(path);
  bytes[0] = 'X';
  WriteFile(path, bytes);
  Read again = ReadAll(path, first.result.end_offset, false);
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  ExpectFrames(again.frames, 11, 15);
  EXPECT_EQ(ReadAll(path, 0, false).status.code(), Status::Code::kCorruption);
}

TEST(JournalTest, TornLastFrameAtEveryCut) {
  TempDir dir;
  const std::string path = dir / "journal";
  const int n = 5;
  std::vector<uint64_t> offsets = WriteJournal(path, n);
  const std::string whole = ReadFile(path);
  const uint64_t last = offsets[n - 1];
  ASSERT_GT(whole.size() - last, journal::kHeaderSize);  // a payload to cut

  for (uint64_t cut = last + 1; cut < whole.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    WriteFile(path, whole.substr(0, cut));

    Read live = ReadAll(path, 0, false);
    ASSERT_TRUE(live.status.ok()) << live.status.ToString();
    ExpectFrames(live.frames, 1, n - 1);
    EXPECT_EQ(live.result.end_offset, last);
    EXPECT_EQ(live.result.torn_bytes, cut - last);
    EXPECT_EQ(live.result.corrupt, 0u);
    EXPECT_TRUE(live.reports.empty());

    Read final_read = ReadAll(path, 0, true);
    ASSERT_TRUE(final_read.status.ok()) << final_read.status.ToString();
    ExpectFrames(final_read.frames, 1, n - 1);
    EXPECT_EQ(final_read.result.torn_bytes, cut - last);
    EXPECT_EQ(final_read.result.end_offset, last);
    ASSERT_EQ(final_read.reports.size(), 1u);
    EXPECT_EQ(final_read.reports[0].path, path);
    EXPECT_EQ(final_read.reports[0].offset, last);
    EXPECT_EQ(final_read.reports[0].bytes, cut - last);
    EXPECT_EQ(final_read.reports[0].reason, "torn tail");
  }
}

TEST(JournalTest, TornTailIsReadOnceComplete) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::vector<uint64_t> offsets = WriteJournal(path, 3);
  const std::string whole = ReadFile(path);
  WriteFile(path, whole.substr(0, offsets[2] + 5));

  Read partial = ReadAll(path, 0, false);
  ASSERT_TRUE(partial.status.ok());
  ExpectFrames(partial.frames, 1, 2);

  WriteFile(path, whole);  // the writer finished its write
  Read rest = ReadAll(path, partial.result.end_offset, false);
  ASSERT_TRUE(rest.status.ok());
  ExpectFrames(rest.frames, 3, 3);
  EXPECT_EQ(rest.result.torn_bytes, 0u);
}

// Flips each bit of the middle frame in turn: header (crc, length, seq) and
// payload. The frame is reported once, at its offset, and the frames after
// it are still read.
TEST(JournalTest, FlippedBitInMiddleFrameIsSkipped) {
  TempDir dir;
  const std::string path = dir / "journal";
  const int n = 7;
  const uint64_t bad_seq = 4;
  std::vector<uint64_t> offsets = WriteJournal(path, n);
  const std::string whole = ReadFile(path);
  const uint64_t start = offsets[bad_seq - 1];
  const uint64_t size = FrameSize(bad_seq);
  ASSERT_GT(size, journal::kHeaderSize);

  int length_bad_length = 0;
  for (uint64_t bit = 0; bit < size * 8; ++bit) {
    SCOPED_TRACE("bit " + std::to_string(bit));
    std::string bytes = whole;
    bytes[start + bit / 8] ^= static_cast<char>(1 << (bit % 8));
    WriteFile(path, bytes);

    for (bool tail_is_final : {false, true}) {
      Read r = ReadAll(path, 0, tail_is_final);
      ASSERT_TRUE(r.status.ok()) << r.status.ToString();
      ASSERT_EQ(r.frames.size(), static_cast<size_t>(n - 1));
      for (size_t i = 0; i < r.frames.size(); ++i) {
        const uint64_t seq = i + 1 < bad_seq ? i + 1 : i + 2;
        EXPECT_EQ(r.frames[i].seq, seq);
        EXPECT_EQ(r.frames[i].offset, offsets[seq - 1]);
        EXPECT_EQ(r.frames[i].payload, PayloadFor(seq));
      }
      ASSERT_EQ(r.reports.size(), 1u);
      EXPECT_EQ(r.reports[0].path, path);
      EXPECT_EQ(r.reports[0].offset, start);
      EXPECT_EQ(r.reports[0].bytes, size);
      const bool in_length = bit >= 32 && bit < 64;
      if (!in_length) {
        EXPECT_EQ(r.reports[0].reason, "checksum mismatch");
      } else if (r.reports[0].reason == "bad length") {
        ++length_bad_length;
      }
      EXPECT_EQ(r.result.corrupt, 1u);
      EXPECT_EQ(r.result.last_seq, static_cast<uint64_t>(n));
      EXPECT_EQ(r.result.end_offset, whole.size());
      EXPECT_EQ(r.result.torn_bytes, 0u);
    }
  }
  // High length bits push it past the file or past kMaxPayload.
  EXPECT_GT(length_bad_length, 0);
}

TEST(JournalTest, CorruptLastFrameIsATail) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::vector<uint64_t> offsets = WriteJournal(path, 4);
  std::string bytes = ReadFile(path);
  bytes[offsets[3] + journal::kHeaderSize] ^= 0x20;  // first payload byte
  WriteFile(path, bytes);

  Read live = ReadAll(path, 0, false);
  ASSERT_TRUE(live.status.ok());
  ExpectFrames(live.frames, 1, 3);
  EXPECT_TRUE(live.reports.empty());
  EXPECT_EQ(live.result.torn_bytes, FrameSize(4));

  Read final_read = ReadAll(path, 0, true);
  ASSERT_TRUE(final_read.status.ok());
  ExpectFrames(final_read.frames, 1, 3);
  ASSERT_EQ(final_read.reports.size(), 1u);
  EXPECT_EQ(final_read.reports[0].reason, "torn tail");
  EXPECT_EQ(final_read.reports[0].offset, offsets[3]);
  EXPECT_EQ(final_read.reports[0].bytes, FrameSize(4));
}

TEST(JournalTest, SequenceGapIsReportedButDelivered) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::unique_ptr<JournalWriter> w;
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  std::string buf;
  uint64_t gap_offset = 0;
  for (uint64_t seq : {1, 2, 3, 5, 6}) {
    if (seq == 5) gap_offset = w->size() + buf.size();
    JournalWriter::EncodeFrame(seq, PayloadFor(seq), &buf);
  }
  ASSERT_TRUE(w->Append(buf).ok());

  Read r = ReadAll(path, 0, true);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.frames.size(), 5u);
  EXPECT_EQ(r.frames[3].seq, 5u);
  EXPECT_EQ(r.frames[3].payload, PayloadFor(5));
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].reason, "sequence gap");
  EXPECT_EQ(r.reports[0].offset, gap_offset);
  EXPECT_EQ(r.result.last_seq, 6u);
}

TEST(JournalTest, VisitErrorStopsTheRead) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::vector<uint64_t> offsets = WriteJournal(path, 5);
  JournalReadResult result;
  size_t visited = 0;
  Status s = ReadJournal(
      path, 0, false, nullptr,
      [&](uint64_t seq, uint64_t, std::string_view) {
        ++visited;
        return seq == 3 ? Status::InvalidArgument("stop at 3") : Status::OK();
      },
      &result);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "stop at 3");
  EXPECT_EQ(visited, 3u);
  EXPECT_EQ(result.records, 2u);
  EXPECT_EQ(result.end_offset, offsets[2]);  // frame 3 will be read again
}

TEST(JournalTest, MissingShortAndForeignFiles) {
  TempDir dir;
  const std::string missing = dir / "missing";
  Read r = ReadAll(missing, 0, false);
  EXPECT_TRUE(r.status.IsNotFound());
  EXPECT_NE(r.status.message().find(missing), std::string::npos);

  const std::string foreign = dir / "foreign";
  WriteFile(foreign, "SQLite format 3");
  r = ReadAll(foreign, 0, false);
  EXPECT_EQ(r.status.code(), Status::Code::kCorruption);
  EXPECT_NE(r.status.message().find(foreign), std::string::npos);
  WriteFile(foreign, "LUMX");  // too short, and not a prefix of the magic
  EXPECT_EQ(ReadAll(foreign, 0, false).status.code(),
            Status::Code::kCorruption);
  std::unique_ptr<JournalWriter> w;
  EXPECT_EQ(JournalWriter::Open(foreign, &w).code(), Status::Code::kCorruption);
  EXPECT_EQ(w, nullptr);
  EXPECT_EQ(ReadFile(foreign), "LUMX");  // left untouched

  const std::string part = dir / "part";
  WriteFile(part, "LUMO");  // a writer that has not finished its magic
  r = ReadAll(part, 0, false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.result.end_offset, 0u);
  EXPECT_EQ(r.result.torn_bytes, 4u);
  EXPECT_TRUE(r.reports.empty());
  r = ReadAll(part, 0, true);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.reports.size(), 1u);
  EXPECT_EQ(r.reports[0].reason, "torn tail");
  EXPECT_EQ(r.reports[0].bytes, 4u);

  const std::string empty = dir / "empty";
  WriteFile(empty, "");
  r = ReadAll(empty, 0, true);
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.result.records, 0u);
  EXPECT_TRUE(r.reports.empty());

  // An offset inside the magic is the caller's mistake.
  WriteJournal(dir / "journal", 1);
  EXPECT_TRUE(ReadAll(dir / "journal", 3, false).status.IsInvalidArgument());
}

TEST(JournalTest, OffsetPastTheEndWaitsForTheWriter) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::vector<uint64_t> offsets = WriteJournal(path, 4);
  const std::string whole = ReadFile(path);
  // The writer's failed append of frames 3 and 4 is cut off after a reader
  // read up to the end.
  WriteFile(path, whole.substr(0, offsets[2]));
  Read r = ReadAll(path, whole.size(), false);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.frames.empty());
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.result.end_offset, whole.size());
  EXPECT_EQ(r.result.file_size, offsets[2]);
  // Its retry writes the same bytes, and reading goes on from there.
  std::string next;
  JournalWriter::EncodeFrame(5, PayloadFor(5), &next);
  WriteFile(path, whole + next);
  r = ReadAll(path, r.result.end_offset, false);
  ASSERT_TRUE(r.status.ok());
  ExpectFrames(r.frames, 5, 5);
  // With the writer gone the offset can only be a mistake.
  WriteFile(path, whole.substr(0, offsets[2]));
  r = ReadAll(path, whole.size(), true);
  EXPECT_TRUE(r.status.IsInvalidArgument());
  EXPECT_NE(r.status.message().find(path), std::string::npos);
}

TEST(JournalTest, ReopenContinuesSeqAndTruncatesTornTail) {
  TempDir dir;
  const std::string path = dir / "journal";
  WriteJournal(path, 6);
  const std::string good = ReadFile(path);
  // A crash mid-append: most of frame 7.
  std::string torn;
  JournalWriter::EncodeFrame(7, PayloadFor(7), &torn);
  WriteFile(path, good + torn.substr(0, torn.size() - 3));

  std::unique_ptr<JournalWriter> w;
  Status s = JournalWriter::Open(path, &w);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(w->next_seq(), 7u);
  EXPECT_EQ(w->size(), good.size());
  EXPECT_EQ(ReadFile(path), good);

  AppendFrames(w.get(), 3);
  Read r = ReadAll(path, 0, true);
  ASSERT_TRUE(r.status.ok());
  ExpectFrames(r.frames, 1, 9);
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.result.end_offset, w->size());
  w.reset();

  // A clean reopen changes nothing.
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  EXPECT_EQ(w->next_seq(), 10u);
  EXPECT_EQ(w->size(), ReadFile(path).size());
}

TEST(JournalTest, ReopenKeepsFramesAfterMidFileCorruption) {
  TempDir dir;
  const std::string path = dir / "journal";
  std::vector<uint64_t> offsets = WriteJournal(path, 5);
  std::string bytes = ReadFile(path);
  bytes[offsets[1] + journal::kHeaderSize - 1] ^= 1;  // seq of frame 2
  WriteFile(path, bytes);

  std::unique_ptr<JournalWriter> w;
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  EXPECT_EQ(w->next_seq(), 6u);
  EXPECT_EQ(ReadFile(path), bytes);  // only a tail is ever cut
}

TEST(JournalTest, ReopenCompletesAPartialMagic) {
  TempDir dir;
  const std::string path = dir / "journal";
  WriteFile(path, "LUMOJ");
  std::unique_ptr<JournalWriter> w;
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  EXPECT_EQ(w->next_seq(), 1u);
  EXPECT_EQ(ReadFile(path), "LUMOJNL1");
}

// Exit codes of the full-disk child; anything else is a crash.
enum FullDiskExit {
  kChildOk = 0,
  kChildOpenFailed = 10,
  kChildNeverFailed,
  kChildNotIOError,
  kChildNoPath,
  kChildNoErrnoText,
  kChildSizeMoved,
  kChildRetryNotFailed,
};

constexpr rlim_t kFileLimit = 4096;
constexpr int kFramesPerAppend = 3;

int FullDiskChild(const std::string& path) {
  signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of dying
  struct rlimit limit = {kFileLimit, kFileLimit};
  if (setrlimit(RLIMIT_FSIZE, &limit) != 0) return kChildOpenFailed;
  std::unique_ptr<JournalWriter> w;
  if (!JournalWriter::Open(path, &w).ok()) return kChildOpenFailed;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string buf;
    uint64_t seq = w->next_seq();
    for (int i = 0; i < kFramesPerAppend; ++i, ++seq) {
      JournalWriter::EncodeFrame(
          seq, std::string(100, static_cast<char>('a' + seq % 26)), &buf);
    }
    const uint64_t before = w->size();
    Status s = w->Append(buf);
    if (s.ok()) {
      w->set_next_seq(seq);
      continue;
    }
    if (!s.IsIOError()) return kChildNotIOError;
    if (s.message().find(path) == std::string::npos) return kChildNoPath;
    if (s.message().find("File too large") == std::string::npos)
      return kChildNoErrnoText;
    struct stat st;
    if (stat(path.c_str(), &st) != 0 ||
        static_cast<uint64_t>(st.st_size) != before || w->size() != before) {
      return kChildSizeMoved;
    }
    // The caller may retry; a retry against the same limit fails the same way.
    if (w->Append(buf).ok()) return kChildRetryNotFailed;
    if (stat(path.c_str(), &st) != 0 ||
        static_cast<uint64_t>(st.st_size) != before) {
      return kChildSizeMoved;
    }
    return kChildOk;
  }
  return kChildNeverFailed;
}

TEST(JournalTest, FullDiskLeavesOnlyWholeFrames) {
  TempDir dir;
  const std::string path = dir / "journal";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(FullDiskChild(path));  // no gtest in the child
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child died, status " << wstatus;
  ASSERT_EQ(WEXITSTATUS(wstatus), kChildOk);

  // Appends of three 116-byte frames fit while they end within the limit.
  const uint64_t append_size = kFramesPerAppend * (journal::kHeaderSize + 100);
  const uint64_t appends = (kFileLimit - journal::kMagicSize) / append_size;
  const uint64_t frames = appends * kFramesPerAppend;
  Read r = ReadAll(path, 0, true);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.frames.size(), frames);
  for (uint64_t i = 0; i < frames; ++i) {
    EXPECT_EQ(r.frames[i].seq, i + 1);
    EXPECT_EQ(r.frames[i].payload,
              std::string(100, static_cast<char>('a' + (i + 1) % 26)));
  }
  EXPECT_TRUE(r.reports.empty());
  EXPECT_EQ(r.result.torn_bytes, 0u);
  EXPECT_EQ(r.result.end_offset, r.result.file_size);
  EXPECT_EQ(r.result.file_size, journal::kMagicSize + appends * append_size);

  // The parent, without the limit, carries on where the child stopped.
  std::unique_ptr<JournalWriter> w;
  ASSERT_TRUE(JournalWriter::Open(path, &w).ok());
  EXPECT_EQ(w->next_seq(), frames + 1);
}

}  // namespace
}  // namespace lumodb

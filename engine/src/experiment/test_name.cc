// ClaimTestName: lumo's test_name scheme, made safe against concurrent runs.
#include "experiment/test_name.h"

#include <dirent.h>
#include <errno.h>
#include <sys/random.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "lumodb/names.h"
#include "util/time_util.h"

namespace lumodb {

namespace {

// Claims give up after this many collisions; only reachable if something
// keeps creating entries as fast as we probe.
constexpr int kMaxAttempts = 10000;

// Makes dir and every missing folder above it, like `mkdir -p`.
Status MakeDirs(const std::string& dir) {
  std::string partial;
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    partial = dir.substr(0, slash);
    pos = slash + 1;
    if (partial.empty()) continue;  // the leading '/'
    if (mkdir(partial.c_str(), 0777) == 0) continue;
    const int err = errno;
    struct stat sb;
    if (err == EEXIST && stat(partial.c_str(), &sb) == 0 &&
        S_ISDIR(sb.st_mode)) {
      continue;
    }
    return Status::FromErrno("mkdir", partial, err);
  }
  return Status::OK();
}

Status ListDir(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("opendir", dir, errno);
  errno = 0;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names->push_back(name);
    errno = 0;
  }
  const int err = errno;
  closedir(d);
  if (err != 0) return Status::FromErrno("readdir", dir, err);
  return Status::OK();
}

// The NNN of "<date>.<NNN>.<anything>", or -1 if name is not of that form.
long long CounterOf(const std::string& name, const std::string& date) {
  if (name.size() < date.size() + 3 ||
      name.compare(0, date.size(), date) != 0 || name[date.size()] != '.') {
    return -1;
  }
  size_t i = date.size() + 1;
  size_t j = i;
  long long value = 0;
  while (j < name.size() && name[j] >= '0' && name[j] <= '9' && j - i < 18) {
    value = value * 10 + (name[j] - '0');
    ++j;
  }
  if (j == i || j >= name.size() || name[j] != '.') return -1;
  return value;
}

// 64 random bits from the kernel. The clock and pid are mixed in so that
// forked children differ even if getrandom is unavailable.
uint64_t RandomBits() {
  uint64_t bits = 0;
  if (getrandom(&bits, sizeof(bits), GRND_NONBLOCK) != sizeof(bits)) bits = 0;
  uint64_t x =
      bits ^
      static_cast<uint64_t>(
          std::chrono::steady_clock::now().time_since_epoch().count()) ^
      (static_cast<uint64_t>(getpid()) << 32);
  // splitmix64 finaliser, to spread the weak fallback inputs over all bits.
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string RandomHex2() {
  static const char kHex[] = "0123456789abcdef";
  uint64_t bits = RandomBits();
  return std::string{kHex[bits & 0xf], kHex[(bits >> 4) & 0xf]};
}

std::string PadCounter(long long n) {
  std::string digits = std::to_string(n);
  if (digits.size() < 3) digits.insert(0, 3 - digits.size(), '0');
  return digits;
}

}  // namespace

std::string TestNameDate(int64_t unix_us, const std::string& tz) {
  return FormatLocalTime("%y%m%d", unix_us, tz);
}

// mkdir settles who owns a folder, but two runs may pick the same NNN with
// different XX and both succeed. So after its mkdir a claimant lists the
// folder again and backs off (rmdir, next number) if any other entry holds
// its NNN. The later of two mkdirs always sees the earlier one, so at most
// one keeps a given NNN; both backing off only costs a retry.
namespace {

std::string NamesDir(const std::string& info_root) {
  return info_root + "/.lumodb/names";
}

// 0 when <info_root>/.lumodb/names/<name> was created by us, else errno.
int ClaimNameEverywhere(const std::string& info_root, const std::string& name) {
  const std::string dir = NamesDir(info_root);
  if (!MakeDirs(dir).ok()) return errno != 0 ? errno : EIO;
  int fd = open((dir + "/" + name).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

}  // namespace

Status ClaimTestName(const std::string& info_root, const std::string& exp_name,
                     const std::string& tz, int64_t now_us,
                     std::string* test_name) {
  Status s = ValidateExpName(exp_name);
  if (!s.ok()) return s;
  const std::string exp_dir = info_root + "/" + exp_name;
  s = MakeDirs(exp_dir);
  if (!s.ok()) return s;

  const std::string date = TestNameDate(now_us, tz);
  std::vector<std::string> entries;
  s = ListDir(exp_dir, &entries);
  if (!s.ok()) return s;
  long long n = 0;  // lumo's start: entries starting with today's date
  std::set<long long> used;
  for (const std::string& e : entries) {
    if (e.compare(0, date.size(), date) == 0) ++n;
    long long c = CounterOf(e, date);
    if (c >= 0) used.insert(c);
  }

  for (int attempt = 0; attempt < kMaxAttempts; ++attempt, ++n) {
    while (used.count(n) != 0) ++n;
    const std::string counter_prefix = date + "." + PadCounter(n) + ".";
    const std::string name = counter_prefix + RandomHex2() + "t";
    const std::string path = exp_dir + "/" + name;
    if (mkdir(path.c_str(), 0777) != 0) {
      if (errno == EEXIST) continue;
      return Status::FromErrno("mkdir", path, errno);
    }
    s = ListDir(exp_dir, &entries);
    if (!s.ok()) {
      rmdir(path.c_str());
      return s;
    }
    bool shared = false;
    for (const std::string& e : entries) {
      long long c = CounterOf(e, date);
      if (c >= 0) used.insert(c);
      if (e != name && c == n) shared = true;
    }
    if (!shared) {
      // Unique across every exp_name of this info_root too, so a test_name
      // alone names one run.
      int claimed = ClaimNameEverywhere(info_root, name);
      if (claimed == 0) {
        *test_name = name;
        return Status::OK();
      }
      rmdir(path.c_str());
      if (claimed != EEXIST) {
        return Status::FromErrno("create", NamesDir(info_root) + "/" + name, claimed);
      }
      continue;
    }
    // If rmdir fails something else wrote into the folder; it is not ours.
    rmdir(path.c_str());
    // A short random pause keeps two claimants from colliding in lockstep.
    usleep(static_cast<useconds_t>(RandomBits() % 2000));
  }
  return Status::Busy("could not claim a test_name under " + exp_dir +
                      " after " + std::to_string(kMaxAttempts) + " attempts");
}

Status ClaimGivenTestName(const std::string& info_root,
                          const std::string& exp_name,
                          const std::string& test_name) {
  Status s = ValidateExpName(exp_name);
  if (!s.ok()) return s;
  if (!IsValidTestName(test_name)) {
    return Status::InvalidArgument(
        "test_name '" + test_name +
        "' is not of the form YYMMDD.NNN.XXt (e.g. 230306.012.d5t)");
  }
  const std::string exp_dir = info_root + "/" + exp_name;
  s = MakeDirs(exp_dir);
  if (!s.ok()) return s;
  const std::string path = exp_dir + "/" + test_name;
  // Taken as given (a rerun's fresh name): recorded, never refused, here.
  ClaimNameEverywhere(info_root, test_name);
  if (mkdir(path.c_str(), 0777) == 0) return Status::OK();
  if (errno != EEXIST) return Status::FromErrno("mkdir", path, errno);

  // The folder exists: made in advance (lumo rerun makes none, but a user
  // may), or by a run that already started. Only a journal proves the latter.
  struct stat sb;
  if (stat(path.c_str(), &sb) != 0)
    return Status::FromErrno("stat", path, errno);
  if (!S_ISDIR(sb.st_mode)) {
    return Status::IllegalState(path + " exists and is not a folder");
  }
  const std::string journal = path + "/journal";
  if (lstat(journal.c_str(), &sb) == 0) {
    return Status::IllegalState("test_name '" + test_name +
                                "' is taken: " + journal + " already exists");
  }
  if (errno != ENOENT) return Status::FromErrno("stat", journal, errno);
  return Status::OK();
}

}  // namespace lumodb

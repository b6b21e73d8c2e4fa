// POSIX ustar/pax archive writer; the header layout is POSIX.1-2001's
// (see tar_writer.h).
#include "code/tar_writer.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace lumodb {
namespace {

constexpr size_t kBlock = 512;
constexpr size_t kRecord = 20 * kBlock;            // tar's traditional record size
constexpr size_t kFlushAt = 1 << 20;               // write out in pieces of about 1 MiB
constexpr uint64_t kMaxOctal11 = 077777777777ULL;  // largest size in 11 octal digits

// ustar header field offsets and widths.
constexpr size_t kName = 0, kNameLen = 100;
constexpr size_t kMode = 100, kUid = 108, kGid = 116, kSize = 124, kMtime = 136;
constexpr size_t kChksum = 148, kType = 156, kLink = 157, kLinkLen = 100;
constexpr size_t kMagic = 257, kVersion = 263, kUname = 265, kGname = 297;
constexpr size_t kPrefix = 345, kPrefixLen = 155;

// Writes value as zero-padded octal in width - 1 digits plus a NUL.
void PutOctal(char* field, size_t width, uint64_t value) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
}

void PutString(char* field, size_t width, const std::string& s) {
  std::memcpy(field, s.data(), s.size() < width ? s.size() : width);
}

// Splits path into ustar's prefix and name (joined by '/'), or returns
// false when it does not fit.
bool SplitUstarPath(const std::string& path, std::string* prefix, std::string* name) {
  if (path.size() <= kNameLen) {
    prefix->clear();
    *name = path;
    return true;
  }
  // The longest prefix that fits leaves the shortest name.
  size_t slash = path.rfind('/', kPrefixLen);
  while (slash != std::string::npos && slash > 0) {
    if (path.size() - slash - 1 > kNameLen) return false;  // a shorter prefix only grows the name
    if (path.size() - slash - 1 > 0) {
      *prefix = path.substr(0, slash);
      *name = path.substr(slash + 1);
      return true;
    }
    slash = path.rfind('/', slash - 1);
  }
  return false;
}

// One pax record: "<length> <key>=<value>\n", the length counting itself.
std::string PaxRecord(const std::string& key, const std::string& value) {
  const size_t body = 1 + key.size() + 1 + value.size() + 1;  // ' ' key '=' value '\n'
  size_t length = body + 1;
  while (std::to_string(length).size() + body != length) {
    length = std::to_string(length).size() + body;
  }
  return std::to_string(length) + " " + key + "=" + value + "\n";
}

}  // namespace

TarWriter::TarWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

Status TarWriter::AddDirectory(const std::string& path, uint32_t mode, int64_t mtime) {
  return AddEntry(path + "/", '5', mode, mtime, "", nullptr, 0);
}

Status TarWriter::AddFile(const std::string& path, uint32_t mode, int64_t mtime, const void* data,
                          uint64_t size) {
  return AddEntry(path, '0', mode, mtime, "", data, size);
}

Status TarWriter::AddSymlink(const std::string& path, const std::string& target, int64_t mtime) {
  return AddEntry(path, '2', 0777, mtime, target, nullptr, 0);
}

Status TarWriter::AddEntry(const std::string& path, char type, uint32_t mode, int64_t mtime,
                           const std::string& link, const void* data, uint64_t size) {
  if (finished_) return Status::IllegalState("tar " + path_ + ": entry added after the end");
  if (path.empty() || path == "/") {
    return Status::InvalidArgument("tar " + path_ + ": empty entry name");
  }
  std::string prefix, name, pax;
  if (!SplitUstarPath(path, &prefix, &name)) {
    pax += PaxRecord("path", path);
    // The ustar fields still hold a truncated name for readers without pax.
    prefix.clear();
    name = path.substr(0, kNameLen);
  }
  if (link.size() > kLinkLen) pax += PaxRecord("linkpath", link);
  if (size > kMaxOctal11) pax += PaxRecord("size", std::to_string(size));
  if (!pax.empty()) {
    Status s = AddPaxHeader(pax);
    if (!s.ok()) return s;
  }
  AppendHeader(name, prefix, type, mode, size > kMaxOctal11 ? 0 : size, mtime,
               link.substr(0, kLinkLen));
  const char* bytes = static_cast<const char*>(data);
  for (uint64_t done = 0; done < size;) {
    const size_t piece = static_cast<size_t>(std::min<uint64_t>(size - done, kFlushAt));
    Status s = Append(bytes + done, piece);
    if (!s.ok()) return s;
    done += piece;
  }
  AppendPadding(size);
  return buffer_.size() >= kFlushAt ? Flush() : Status::OK();
}

Status TarWriter::AddPaxHeader(const std::string& records) {
  AppendHeader("pax_header", "", 'x', 0644, records.size(), 0, "");
  Status s = Append(records.data(), records.size());
  if (!s.ok()) return s;
  AppendPadding(records.size());
  return Status::OK();
}

void TarWriter::AppendHeader(const std::string& name, const std::string& prefix, char type,
                             uint32_t mode, uint64_t size, int64_t mtime, const std::string& link) {
  char h[kBlock];
  std::memset(h, 0, sizeof(h));
  PutString(h + kName, kNameLen, name);
  PutOctal(h + kMode, 8, mode & 07777);
  PutOctal(h + kUid, 8, 0);
  PutOctal(h + kGid, 8, 0);
  PutOctal(h + kSize, 12, size);
  PutOctal(h + kMtime, 12, mtime < 0 ? 0 : static_cast<uint64_t>(mtime) & kMaxOctal11);
  h[kType] = type;
  PutString(h + kLink, kLinkLen, link);
  std::memcpy(h + kMagic, "ustar", 6);  // with its NUL
  std::memcpy(h + kVersion, "00", 2);
  PutString(h + kUname, 32, "root");
  PutString(h + kGname, 32, "root");
  PutString(h + kPrefix, kPrefixLen, prefix);
  // The checksum is taken with its own field read as eight spaces.
  std::memset(h + kChksum, ' ', 8);
  uint32_t sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  PutOctal(h + kChksum, 7, sum);  // six digits and a NUL; the space stays
  buffer_.append(h, sizeof(h));
  written_ += sizeof(h);
}

void TarWriter::AppendPadding(uint64_t size) {
  const size_t rest = static_cast<size_t>(size % kBlock);
  if (rest == 0) return;
  buffer_.append(kBlock - rest, '\0');
  written_ += kBlock - rest;
}

Status TarWriter::Append(const void* data, size_t size) {
  buffer_.append(static_cast<const char*>(data), size);
  written_ += size;
  return buffer_.size() >= kFlushAt ? Flush() : Status::OK();
}

Status TarWriter::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("tar: write", path_, errno);
    }
    done += static_cast<size_t>(n);
  }
  buffer_.clear();
  return Status::OK();
}

Status TarWriter::Finish() {
  if (finished_) return Status::IllegalState("tar " + path_ + ": finished twice");
  finished_ = true;
  const size_t end = 2 * kBlock;
  size_t total = static_cast<size_t>((written_ + end + kRecord - 1) / kRecord * kRecord - written_);
  buffer_.append(total, '\0');
  written_ += total;
  return Flush();
}

}  // namespace lumodb

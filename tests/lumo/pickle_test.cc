// Tests for engine/src/pickle*.cc: lumo's real metric.pkl files, every opcode
// family, hostile input (globals, truncation, depth, memory) and the writer.
#include "lumo/pickle.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "test_util.h"

namespace lumodb {
namespace {

using nlohmann::json;
using testing::FixturesDir;
using testing::ReadFile;

// Byte strings with NULs in them.
#define PICKLE(literal) std::string(literal, sizeof(literal) - 1)

// Made with CPython 3's pickle.dumps (the numpy ones by hand, in numpy's
// layout); see each test for the Python value.
const std::string kNumpyKinds = PICKLE(
    "\x80\x04}(\x8c\x01h\x8c\x15numpy.core.multiarray\x8c\x06scalar\x93\x8c\x05numpy\x8c\x05"
    "dtype\x93\x8c\x02" "f2\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
    "K\x00tbC\x02\x00>\x86R\x8c\x02hb\x8c\x15numpy.core.multiarray\x8c\x06scalar\x93\x8c\x05"
    "numpy\x8c\x05" "dtype\x93\x8c\x02" "f2\x89\x88\x87R(K\x03\x8c\x01>NNNJ\xff\xff\xff\xff"
    "J\xff\xff\xff\xffK\x00tbC\x02\xc0\x00\x86R\x8c\x02i1\x8c\x15numpy.core.multiarray\x8c"
    "\x06scalar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02i1\x89\x88\x87R(K\x03\x8c\x01"
    "|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x01\xfb\x86R\x8c\x02i2\x8c\x15numpy.c"
    "ore.multiarray\x8c\x06scalar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02i2\x89\x88\x87"
    "R(K\x03\x8c\x01>NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x02\xfe\xd4\x86R\x8c\x02"
    "i8\x8c\x15numpy.core.multiarray\x8c\x06scalar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c"
    "\x02i8\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x08" "5"
    "\xfb\x04\x8e\xe0\xfe\xff\xff\x86R\x8c\x02u8\x8c\x15numpy.core.multiarray\x8c\x06scal"
    "ar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02u8\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff"
    "\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x08\xff\xff\xff\xff\xff\xff\xff\xff\x86R\x8c\x02"
    "u4\x8c\x15numpy.core.multiarray\x8c\x06scalar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c"
    "\x02u4\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x04\x00"
    "(k\xee\x86R\x8c\x02" "b1\x8c\x15numpy.core.multiarray\x8c\x06scalar\x93\x8c\x05numpy"
    "\x8c\x05" "dtype\x93\x8c\x02" "b1\x89\x88\x87R(K\x03\x8c\x01|NNNJ\xff\xff\xff\xffJ\xff"
    "\xff\xff\xffK\x00tbC\x01\x01\x86R\x8c\x02" "f4\x8c\x15numpy.core.multiarray\x8c\x06s"
    "calar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f4\x89\x88\x87R(K\x03\x8c\x01>N"
    "NNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x04\x3f\x00\x00\x00\x86R\x8c\x02" "f8\x8c"
    "\x15numpy.core.multiarray\x8c\x06scalar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02"
    "f8\x89\x88\x87R(K\x03\x8c\x01>NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x08\x3f\xb9"
    "\x99\x99\x99\x99\x99\x9a\x86R\x8c\x03" "c16\x8c\x15numpy.core.multiarray\x8c\x06scal"
    "ar\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x03" "c16\x89\x88\x87R(K\x03\x8c\x01<NNN"
    "J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x10\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x00\x00\x00\x00\x00\x00\x86R\x8c\x05short\x8c\x15numpy.core.multiarray\x8c\x06scala"
    "r\x93\x8c\x05numpy\x8c\x05" "dtype\x93\x8c\x02" "f8\x89\x88\x87R(K\x03\x8c\x01<NNNJ\xff"
    "\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x04\x00\x00\x00\x00\x86Ru.");
const std::string kTorchLike = PICKLE(
    "\x80\x04\x95\x85\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x03" "acc\x94G\x3f\xe8\x00\x00"
    "\x00\x00\x00\x00\x8c\x06weight\x94\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2"
    "\x94\x93\x94(\x8c\x07storage\x94K\x00\x86\x94K\x00K\x02\x85\x94K\x01\x85\x94t\x94R\x94"
    "\x8c\x06layers\x94]\x94(K\x01h\x05h\x0aR\x94" "e\x8c\x04loss\x94G\x3f\xe0\x00\x00\x00"
    "\x00\x00\x00u.");
const std::string kPy2Strings = PICKLE(
    "(dp0\x0aS'a'\x0ap1\x0aS'x\x5cn\x5cx41\x5c'b'\x0ap2\x0asS'b'\x0aU\x03\xe9\x00zsS'c'\x0a"
    "T\x02\x00\x00\x00hisS'n'\x0aL-12L\x0asS'f'\x0a" "F-1e300\x0as.");
const std::string kProtocol0 = PICKLE(
    "(dp0\x0aVi\x0ap1\x0aI7\x0asVneg\x0ap2\x0aI-3\x0asVf\x0ap3\x0a" "F2.5\x0asVs\x0ap4\x0a"
    "Vh\xe9llo\x0ap5\x0asVbig\x0ap6\x0aL1180591620717411303424L\x0asVl\x0ap7\x0a(lp8\x0aI"
    "1\x0a" "aNaI01\x0a" "aI00\x0a" "asVt\x0ap9\x0a(I1\x0aI2\x0atp10\x0as.");
const std::string kProtocol2 = PICKLE(
    "\x80\x02}q\x00(X\x01\x00\x00\x00" "bq\x01" "c_codecs\x0a" "encode\x0aq\x02X\x02\x00\x00"
    "\x00" "abq\x03X\x06\x00\x00\x00latin1q\x04\x86q\x05Rq\x06X\x01\x00\x00\x00" "eq\x07" "c"
    "__builtin__\x0a" "bytes\x0aq\x08)Rq\x09X\x01\x00\x00\x00sq\x0a" "c__builtin__\x0aset"
    "\x0aq\x0b]q\x0cK\x03" "a\x85q\x0dRq\x0eX\x02\x00\x00\x00" "fsq\x0f" "c__builtin__\x0a"
    "frozenset\x0aq\x10]q\x11K\x04" "a\x85q\x12Rq\x13X\x02\x00\x00\x00odq\x14" "ccollecti"
    "ons\x0aOrderedDict\x0aq\x15)Rq\x16X\x01\x00\x00\x00xq\x17K\x01sX\x07\x00\x00\x00neg_"
    "bigq\x18\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xc0X\x03\x00\x00\x00u64q\x19\x8a\x09"
    "\xff\xff\xff\xff\xff\xff\xff\xff\x00X\x03\x00\x00\x00" "bi2q\x1aM,\x01X\x03\x00\x00\x00"
    "bi4q\x1bJ\x90\xee\xfe\xffu.");
const std::string kProtocol5 = PICKLE(
    "\x80\x05\x95\x89\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02" "ba\x94\x96\x03\x00\x00\x00"
    "\x00\x00\x00\x00xyz\x94\x8c\x01s\x94\x8f\x94(K\x01\x90\x8c\x02" "fs\x94(K\x02\x91\x94"
    "\x8c\x02" "b8\x94" "C\x01q\x94\x8c\x04long\x94X,\x01\x00\x00xxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxx\x94\x8c\x02t1\x94K\x01\x85\x94\x8c\x02t3\x94K\x01K\x02K\x03"
    "\x87\x94\x8c\x02" "et\x94)u.");
const std::string kMemoShared = PICKLE(
    "\x80\x04\x95" "6\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01x\x94]\x94(K\x01K\x02" "e\x8c"
    "\x01y\x94h\x02\x8c\x01n\x94}\x94\x8c\x04" "deep\x94]\x94]\x94}\x94\x8c\x01k\x94h\x02"
    "\x85\x94saasu.");
const std::string kTwoFloats = PICKLE(
    "\x80\x04\x95$\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x03" "acc\x94G\x3f\xe0\x00\x00\x00"
    "\x00\x00\x00\x8c\x04loss\x94G\x3f\xd0\x00\x00\x00\x00\x00\x00u.");
const std::string kOneFloat = PICKLE(
    "\x80\x04\x95\x13\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x03" "acc\x94G\x3f\xe0\x00\x00"
    "\x00\x00\x00\x00s.");
const std::string kEmptyDict = PICKLE(
    "\x80\x04}\x94.");
const std::string kIntKeys = PICKLE(
    "\x80\x04\x95\x1a\x00\x00\x00\x00\x00\x00\x00}\x94(K\x01\x8c\x01" "b\x94N\x8c\x01" "c"
    "\x94K\x01K\x02\x86\x94\x8c\x01" "d\x94u.");
const std::string kOsSystem = PICKLE(
    "\x80\x04\x95Y\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x03" "acc\x94G\x3f\xf0\x00\x00\x00"
    "\x00\x00\x00\x8c\x04" "evil\x94\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x1e" "e"
    "cho pwned > /tmp/lumodb_pwned\x94\x85\x94R\x94\x8c\x01z\x94K\x02u.");
const std::string kOsSystemProto0 = PICKLE(
    "(dp0\x0aVevil\x0ap1\x0a" "cposix\x0asystem\x0ap2\x0a(Vecho pwned > /tmp/lumodb_pwned"
    "\x0ap3\x0atp4\x0aRp5\x0as.");

std::string Experiments() { return FixturesDir() + "/lumo-home/experiments"; }

json Decode(const std::string& bytes, std::vector<PickleWarning>* warnings = nullptr) {
  json out;
  Status s = DecodePickle(bytes, &out, warnings);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> FixtureMetricFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(Experiments())) {
    if (entry.path().filename() == "metric.pkl") files.push_back(entry.path().string());
  }
  return files;
}

TEST(PickleTest, DecodesEveryFixtureMetricFile) {
  const std::vector<std::string> files = FixtureMetricFiles();
  ASSERT_GE(files.size(), 13u);
  for (const std::string& file : files) {
    std::vector<PickleWarning> warnings;
    json out;
    Status s = DecodePickle(ReadFile(file), &out, &warnings);
    ASSERT_TRUE(s.ok()) << file << ": " << s.ToString();
    ASSERT_TRUE(out.is_object()) << file;
    EXPECT_TRUE(out["acc"].is_number_float()) << file;
    EXPECT_TRUE(out["best_epoch"].is_number_integer()) << file;
    EXPECT_TRUE(warnings.empty()) << file;
  }
}

TEST(PickleTest, ExactValuesOfAPlainFixture) {
  const json out = Decode(ReadFile(Experiments() + "/ablation_v2/261128.000.7at/metric.pkl"));
  EXPECT_EQ(out.size(), 5u);
  EXPECT_EQ(out["acc"].get<double>(), 0.691026330321454);
  EXPECT_EQ(out["best_epoch"].get<int64_t>(), 1);
  EXPECT_EQ(out["loss"].get<double>(), 0.3217271209655171);
  EXPECT_EQ(out["val_acc"].get<double>(), 0.681026330321454);
  EXPECT_EQ(out["val_f1"].get<double>(), 0.661026330321454);
}

TEST(PickleTest, ExactValuesOfTheNumpyFixture) {
  std::vector<PickleWarning> warnings;
  const json out =
      Decode(ReadFile(Experiments() + "/cifar10.resnet/261128.001.15t/metric.pkl"), &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(out.size(), 5u);
  EXPECT_EQ(out["acc"].get<double>(), 0.6447661428349684);  // numpy float64
  EXPECT_EQ(out["loss"].get<double>(), static_cast<double>(0.37770840525627136f));  // float32
  EXPECT_EQ(out["loss"].get<double>(), 0.37770840525627136);
  EXPECT_EQ(out["best_epoch"].get<int64_t>(), 2);
  EXPECT_EQ(out["val_acc"].get<double>(), 0.6347661428349683);
  EXPECT_EQ(out["val_f1"].get<double>(), 0.6147661428349683);
}

// {'i': 7, 'neg': -3, 'f': 2.5, 's': 'héllo', 'big': 2**70,
//  'l': [1, None, True, False], 't': (1, 2)}, protocol 0: text opcodes,
// PUT, DICT, LIST, TUPLE, INT, LONG, FLOAT, UNICODE.
TEST(PickleTest, Protocol0) {
  EXPECT_EQ(Decode(kProtocol0), json::parse(R"({"i": 7, "neg": -3, "f": 2.5, "s": "h\u00e9llo",
      "big": "1180591620717411303424", "l": [1, null, true, false], "t": [1, 2]})"));
}

// Python 2's str: STRING with escapes, SHORT_BINSTRING, BINSTRING (latin-1).
TEST(PickleTest, Python2Strings) {
  const json out = Decode(kPy2Strings);
  EXPECT_EQ(out["a"], "x\nA'b");
  EXPECT_EQ(out["b"], std::string("\xc3\xa9\0z", 4));
  EXPECT_EQ(out["c"], "hi");
  EXPECT_EQ(out["n"], -12);
  EXPECT_EQ(out["f"].get<double>(), -1e300);
}

// {'b': b'ab', 'e': b'', 's': {3}, 'fs': frozenset([4]),
//  'od': OrderedDict(x=1), 'neg_big': -2**70, 'u64': 2**64-1, 'bi2': 300,
//  'bi4': -70000}, protocol 2: bytes through _codecs.encode, set through
// REDUCE, LONG1, BININT2, BININT.
TEST(PickleTest, Protocol2) {
  std::vector<PickleWarning> warnings;
  const json out = Decode(kProtocol2, &warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(out, json::parse(R"({"b": {"__bytes__": "YWI="}, "e": {"__bytes__": ""}, "s": [3],
      "fs": [4], "od": {"x": 1}, "neg_big": "-1180591620717411303424",
      "u64": 18446744073709551615, "bi2": 300, "bi4": -70000})"));
}

// {'ba': bytearray(b'xyz'), 's': {1}, 'fs': frozenset([2]), 'b8': b'q',
//  'long': 'x' * 300, 't1': (1,), 't3': (1, 2, 3), 'et': ()}, protocol 5:
// BYTEARRAY8, EMPTY_SET + ADDITEMS, FROZENSET, BINUNICODE, TUPLE1/3.
TEST(PickleTest, Protocol5) {
  const json out = Decode(kProtocol5);
  EXPECT_EQ(out, json::parse(R"({"ba": {"__bytes__": "eHl6"}, "s": [1], "fs": [2],
      "b8": {"__bytes__": "cQ=="}, "long": ")" + std::string(300, 'x') + R"(",
      "t1": [1], "t3": [1, 2, 3], "et": []})"));
}

// a = [1, 2]; {'x': a, 'y': a, 'n': {'deep': [[{'k': (a,)}]]}}: one list
// reached three times through the memo.
TEST(PickleTest, MemoReuseAndNestedContainers) {
  EXPECT_EQ(Decode(kMemoShared),
            json::parse(R"({"x": [1, 2], "y": [1, 2], "n": {"deep": [[{"k": [[1, 2]]}]]}})"));
}

// {1: 'a', True: 'b', None: 'c', (1, 2): 'd'}: Python keeps 1 -> 'b'.
TEST(PickleTest, KeysThatAreNotStrings) {
  EXPECT_EQ(Decode(kIntKeys), json::parse(R"({"1": "b", "None": "c", "[1,2]": "d"})"));
}

// numpy scalars of every supported dtype and byte order, one complex (not
// supported) and one with too few bytes.
TEST(PickleTest, NumpyScalarsOfEveryType) {
  std::vector<PickleWarning> warnings;
  const json out = Decode(kNumpyKinds, &warnings);
  EXPECT_EQ(out["h"].get<double>(), 1.5);  // float16
  EXPECT_EQ(out["hb"].get<double>(), -2.0);
  EXPECT_EQ(out["i1"].get<int64_t>(), -5);
  EXPECT_EQ(out["i2"].get<int64_t>(), -300);
  EXPECT_EQ(out["i8"].get<int64_t>(), -1234567890123);
  EXPECT_EQ(out["u8"].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(out["u4"].get<int64_t>(), 4000000000);
  EXPECT_EQ(out["b1"], true);
  EXPECT_EQ(out["f4"].get<double>(), 0.5);
  EXPECT_EQ(out["f8"].get<double>(), 0.1);
  EXPECT_EQ(out["c16"], json::parse(R"({"__unsupported__": "numpy.core.multiarray.scalar"})"));
  EXPECT_EQ(out["short"], json::parse(R"({"__unsupported__": "numpy.core.multiarray.scalar"})"));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].path, "c16");
  EXPECT_EQ(warnings[1].path, "short");
}

// {'acc': 0.75, 'weight': <tensor>, 'layers': [1, <tensor>], 'loss': 0.5}
// where a tensor pickles as torch._utils._rebuild_tensor_v2(...).
TEST(PickleTest, TorchTensorIsKeptAsUnsupportedWithAWarning) {
  std::vector<PickleWarning> warnings;
  const json out = Decode(kTorchLike, &warnings);
  const json tensor = {{"__unsupported__", "torch._utils._rebuild_tensor_v2"}};
  EXPECT_EQ(out["acc"].get<double>(), 0.75);
  EXPECT_EQ(out["loss"].get<double>(), 0.5);
  EXPECT_EQ(out["weight"], tensor);
  EXPECT_EQ(out["layers"], json::array({1, tensor}));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].path, "weight");  // in the pickle's order
  EXPECT_EQ(warnings[1].path, "layers.1");
  EXPECT_NE(warnings[0].what.find("torch._utils._rebuild_tensor_v2"), std::string::npos);
}

// {'acc': 1.0, 'evil': os.system('echo pwned > /tmp/lumodb_pwned'), 'z': 2}
// in protocols 4 (STACK_GLOBAL) and 0 (GLOBAL): never called.
TEST(PickleTest, OsSystemIsNeverCalled) {
  const std::string marker = "/tmp/lumodb_pwned";
  ::unlink(marker.c_str());
  std::vector<PickleWarning> warnings;
  const json out = Decode(kOsSystem, &warnings);
  EXPECT_EQ(out["acc"].get<double>(), 1.0);
  EXPECT_EQ(out["z"], 2);
  EXPECT_EQ(out["evil"], json::parse(R"({"__unsupported__": "posix.system"})"));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].path, "evil");

  const json out0 = Decode(kOsSystemProto0);
  EXPECT_EQ(out0["evil"], json::parse(R"({"__unsupported__": "posix.system"})"));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

// Cut a real file at every length: never a crash, always Corruption, and
// the keys completed before the cut keep their values.
void CheckEveryTruncation(const std::string& file, const std::string& key,
                          size_t complete_from) {
  const std::string bytes = ReadFile(file);
  const json full = Decode(bytes);
  for (size_t len = 0; len < bytes.size(); len++) {
    json out;
    Status s = DecodePickle(std::string_view(bytes).substr(0, len), &out, nullptr);
    ASSERT_EQ(s.code(), Status::Code::kCorruption) << len;
    EXPECT_NE(s.message().find("offset"), std::string::npos) << s.message();
    ASSERT_TRUE(out.is_null() || out.is_object()) << len;
    if (out.is_object()) {
      for (const auto& [k, v] : out.items()) EXPECT_EQ(v, full[k]) << len << " " << k;
    }
    EXPECT_EQ(out.is_object() && out.contains(key), len >= complete_from) << len;
  }
  json out;
  DecodePickle(std::string_view(bytes).substr(0, bytes.size() - 1), &out, nullptr);
  EXPECT_EQ(out, full);  // only STOP missing: every key is there
}

TEST(PickleTest, TruncatedAtEveryLength) {
  // loss is BINFLOAT at offsets 51..59.
  CheckEveryTruncation(Experiments() + "/ablation_v2/261128.000.7at/metric.pkl", "loss", 60);
  // acc is complete with the REDUCE at offset 122.
  CheckEveryTruncation(Experiments() + "/cifar10.resnet/261128.001.15t/metric.pkl", "acc", 123);
}

// levels nested lists: EMPTY_LIST levels times, then APPEND levels-1 times.
std::string NestedLists(size_t levels) {
  return "\x80\x04" + std::string(levels, ']') + std::string(levels - 1, 'a') + ".";
}

TEST(PickleTest, NestingBeyondTheLimitIsAnError) {
  json out;
  EXPECT_TRUE(DecodePickle(NestedLists(kPickleMaxDepth), &out, nullptr).ok());
  Status s = DecodePickle(NestedLists(kPickleMaxDepth + 1), &out, nullptr);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("deeper than 100"), std::string::npos) << s.message();
  // Far beyond: no stack overflow.
  EXPECT_FALSE(DecodePickle(NestedLists(1000000), &out, nullptr).ok());
  // MARKs nested too deep.
  EXPECT_FALSE(DecodePickle("\x80\x04" + std::string(100000, '(') + ".", &out, nullptr).ok());
}

TEST(PickleTest, ACycleEndsAtTheDepthLimit) {
  json out;  // l = []; l.append(l)
  Status s = DecodePickle(PICKLE("\x80\x04]\x94h\x00" "a."), &out, nullptr);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
}

TEST(PickleTest, SharedReferencesCannotBlowUpMemory) {
  // Each list holds the previous one twice: 2**90 leaves from 600 bytes,
  // 90 levels deep, so the depth limit does not stop it; the size budget does.
  std::string bytes = "\x80\x04]\x94";
  for (int level = 0; level < 90; level++) {
    bytes += "](h";
    bytes.push_back(static_cast<char>(level));
    bytes += "h";
    bytes.push_back(static_cast<char>(level));
    bytes += "e\x94";
  }
  bytes += ".";
  json out;
  Status s = DecodePickle(bytes, &out, nullptr);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("expands"), std::string::npos) << s.message();
}

TEST(PickleTest, MalformedInputIsCorruptionWithAnOffset) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "offset 0"},
      {PICKLE("\x80\x09N."), "protocol"},
      {PICKLE("\x80\x04\xff"), "unknown opcode 0xff at offset 2"},
      {PICKLE("\x80\x04h\x05."), "memo key 5"},
      {PICKLE("\x80\x04."), "underflow"},
      {PICKLE("\x80\x04N}a."), "APPEND"},
      {PICKLE("\x80\x04]N\x8c\x01xs."), "SETITEM"},
      {PICKLE("\x80\x04}(Nu."), "odd"},
      {PICKLE("\x80\x04X\xff\xff\xff\xff"), "ends inside"},
      {PICKLE("\x80\x04u."), "MARK"},
      {"S'abc\n.", "quoted"},
      {"Ixyz\n.", "integer"},
  };
  for (const auto& [bytes, words] : cases) {
    json out;
    Status s = DecodePickle(bytes, &out, nullptr);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << words;
    EXPECT_NE(s.message().find(words), std::string::npos) << s.message();
  }
}

TEST(PickleTest, EncoderWritesWhatPythonWrites) {
  EXPECT_EQ(EncodePickleFloatDict({{"acc", 0.5}, {"loss", 0.25}}), kTwoFloats);
  EXPECT_EQ(EncodePickleFloatDict({{"acc", 0.5}}), kOneFloat);
  EXPECT_EQ(EncodePickleFloatDict({}), kEmptyDict);
}

TEST(PickleTest, EncodeDecodeRoundTrip) {
  std::vector<std::pair<std::string, double>> items = {
      {"acc", 0.691026330321454}, {"h\xc3\xa9", -0.0}, {std::string(300, 'k'), 1e-300},
      {"inf", std::numeric_limits<double>::infinity()}};
  for (int k = 0; k < 2500; k++) items.push_back({"m" + std::to_string(k), k / 7.0});
  const json out = Decode(EncodePickleFloatDict(items));
  ASSERT_EQ(out.size(), items.size());
  for (const auto& [key, value] : items) {
    ASSERT_TRUE(out.contains(key)) << key;
    EXPECT_EQ(out[key].get<double>(), value) << key;
  }
  EXPECT_TRUE(std::signbit(out["h\xc3\xa9"].get<double>()));
}

// The fuzzer's seed corpus, so the normal suite runs it too.
TEST(PickleTest, FuzzCorpusDecodesWithoutCrashing) {
  const std::string dir = std::string(LUMODB_SOURCE_DIR) + "/fuzz/corpus/pickle";
  size_t files = 0, ok = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    json out;
    std::vector<PickleWarning> warnings;
    Status s = DecodePickle(ReadFile(entry.path().string()), &out, &warnings);
    EXPECT_TRUE(s.ok() || s.code() == Status::Code::kCorruption) << entry.path();
    files++;
    if (s.ok()) ok++;
  }
  EXPECT_GE(files, 13u);
  EXPECT_GE(ok, 13u);
}

}  // namespace
}  // namespace lumodb

// Key layouts of the index's column families and the order-preserving
// encoding of field values (docs/format.md, "RocksDB index").
#include "index/keys.h"

#include <cmath>
#include <cstring>

#include "index_generated.h"

namespace lumodb {

namespace {

void PutDouble(double d, std::string* out) {
  if (std::isnan(d)) {
    // CompareJson ranks NaN below every other number.
    out->append(8, '\0');
    return;
  }
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  // Flip so that the unsigned big-endian order is the numeric order.
  bits = (bits & (1ULL << 63)) ? ~bits : bits | (1ULL << 63);
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(bits >> (i * 8)));
}

double GetDouble(std::string_view in) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = (bits << 8) | static_cast<uint8_t>(in[i]);
  bits = (bits & (1ULL << 63)) ? bits & ~(1ULL << 63) : ~bits;
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

}  // namespace

std::string RunKey(std::string_view exp, std::string_view test) {
  std::string key;
  key.reserve(exp.size() + test.size() + 1);
  key.append(exp).push_back('\0');
  key.append(test);
  return key;
}

std::string SubKey(std::string_view exp, std::string_view test, std::string_view name) {
  std::string key = RunKey(exp, test);
  key.push_back('\0');
  key.append(name);
  return key;
}

bool SplitKey(std::string_view key, std::string_view* exp, std::string_view* test,
              std::string_view* name) {
  size_t a = key.find('\0');
  if (a == std::string_view::npos) return false;
  *exp = key.substr(0, a);
  size_t b = key.find('\0', a + 1);
  if (b == std::string_view::npos) {
    *test = key.substr(a + 1);
    if (name != nullptr) *name = {};
  } else {
    *test = key.substr(a + 1, b - a - 1);
    if (name != nullptr) *name = key.substr(b + 1);
  }
  return true;
}

bool EncodeFieldValue(const nlohmann::json& value, std::string* out) {
  // The first byte ranks the type as CompareJson does: null < bool <
  // number < string < array < object.
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      *out = "A";
      return true;
    case nlohmann::json::value_t::boolean:
      *out = value.get<bool>() ? "C" : "B";
      return true;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      out->assign("N");
      PutDouble(value.get<double>(), out);
      return true;
    case nlohmann::json::value_t::string: {
      const std::string& s = value.get_ref<const std::string&>();
      *out = "S" + s.substr(0, kMaxIndexedValue);
      return true;
    }
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::object: {
      std::string dump = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      *out = (value.is_array() ? "V" : "W") + dump.substr(0, kMaxIndexedValue);
      return true;
    }
    default:
      return false;
  }
}

nlohmann::json DecodeFieldValue(std::string_view encoded) {
  if (encoded.empty()) return nullptr;
  switch (encoded[0]) {
    case 'B':
      return false;
    case 'C':
      return true;
    case 'N':
      return encoded.size() == 9 ? nlohmann::json(GetDouble(encoded.substr(1))) : nlohmann::json();
    case 'S':
      return std::string(encoded.substr(1));
    case 'V':
    case 'W':
      return nlohmann::json::parse(encoded.substr(1), nullptr, false);
  }
  return nullptr;
}

std::string FieldKey(std::string_view field, std::string_view encoded_value, std::string_view exp,
                     std::string_view test) {
  std::string key;
  key.append(field).push_back('\0');
  key.append(encoded_value).push_back('\0');
  key.append(exp).push_back('\0');
  key.append(test);
  return key;
}

bool ParseFieldKey(std::string_view key, std::string_view* field, std::string_view* encoded_value,
                   std::string_view* exp, std::string_view* test) {
  // Field, exp and test never hold NUL; the value may, so cut from both ends.
  size_t a = key.find('\0');
  size_t c = key.rfind('\0');
  if (a == std::string_view::npos || c == a) return false;
  size_t b = key.rfind('\0', c - 1);
  if (b == std::string_view::npos || b <= a) return false;
  *field = key.substr(0, a);
  *encoded_value = key.substr(a + 1, b - a - 1);
  *exp = key.substr(b + 1, c - b - 1);
  *test = key.substr(c + 1);
  return true;
}

void FlattenParams(const nlohmann::json& params, const std::string& prefix,
                   std::vector<std::pair<std::string, nlohmann::json>>* out) {
  // Every path a query may name, objects included, as LookupPath finds them.
  if (!params.is_object()) return;
  for (const auto& [key, value] : params.items()) {
    if (out->size() >= kMaxIndexedParams) return;
    std::string path = prefix + "." + key;
    out->emplace_back(path, value);
    if (value.is_object()) FlattenParams(value, path, out);
  }
}

const char* StatusName(int status) {
  switch (static_cast<fbs::Status>(status)) {
    case fbs::Status::Running:
      return "running";
    case fbs::Status::Finished:
      return "finished";
    case fbs::Status::Failed:
      return "failed";
    case fbs::Status::Killed:
      return "killed";
    case fbs::Status::NotStarted:
      return "not_started";
  }
  return "unknown";
}

}  // namespace lumodb

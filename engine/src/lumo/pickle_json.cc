// The value graph of a pickle as JSON; see pickle_json.h.
#include "lumo/pickle_json.h"

#include <string>

#include "lumo/pickle_text.h"

namespace lumodb::pickle {

namespace {

constexpr size_t kNodeCost = 32;  // a JSON value with its share of a container

class Writer {
 public:
  Writer(size_t budget, std::vector<PickleWarning>* warnings)
      : budget_(budget), warnings_(warnings) {}

  // Recursion is bounded by kPickleMaxDepth: containers deeper than that
  // are an error, which also ends cycles.
  Status Write(const Node* node, int depth, const std::string& path, nlohmann::json* out) {
    if (Status s = Charge(kNodeCost + node->s.size()); !s.ok()) return s;
    switch (node->kind) {
      case Kind::kNone: *out = nullptr; return Status::OK();
      case Kind::kBool: *out = node->b; return Status::OK();
      case Kind::kInt: *out = node->i; return Status::OK();
      case Kind::kUInt: *out = node->u; return Status::OK();
      case Kind::kFloat: *out = node->f; return Status::OK();
      case Kind::kBigInt:
      case Kind::kStr: *out = node->s; return Status::OK();
      case Kind::kPy2Str: *out = Latin1ToUtf8(node->s); return Status::OK();
      case Kind::kBytes:
        if (Status s = Charge(node->s.size() / 3 + 4); !s.ok()) return s;
        *out = nlohmann::json{{"__bytes__", Base64(node->s)}};
        return Status::OK();
      case Kind::kGlobal:
      case Kind::kDtype:
      case Kind::kUnsupported: return Unsupported(node, path, out);
      case Kind::kList:
      case Kind::kTuple:
      case Kind::kSet:
      case Kind::kDict: break;
    }
    if (depth >= kPickleMaxDepth) {
      return Status::Corruption("pickle: containers nested deeper than " +
                                std::to_string(kPickleMaxDepth) + " levels at '" + path + "'");
    }
    if (node->kind != Kind::kDict) {
      *out = nlohmann::json::array();
      for (size_t k = 0; k < node->items.size(); k++) {
        nlohmann::json item;
        Status s = Write(node->items[k], depth + 1, Join(path, std::to_string(k)), &item);
        out->push_back(std::move(item));
        if (!s.ok()) return s;
      }
      return Status::OK();
    }
    *out = nlohmann::json::object();
    for (size_t k = 0; k + 1 < node->items.size(); k += 2) {
      std::string key;
      if (Status s = Key(node->items[k], depth, path, &key); !s.ok()) return s;
      nlohmann::json value;
      Status s = Write(node->items[k + 1], depth + 1, Join(path, key), &value);
      // A value cut short by an error is left out: the keys before it stay.
      if (!s.ok()) return s;
      (*out)[key] = std::move(value);
    }
    return Status::OK();
  }

 private:
  static std::string Join(const std::string& path, const std::string& name) {
    return path.empty() ? name : path + "." + name;
  }

  Status Charge(size_t cost) {
    if (cost > budget_) {
      return Status::Corruption(
          "pickle: its value expands beyond the size its length allows (shared references)");
    }
    budget_ -= cost;
    return Status::OK();
  }

  // Python prints these keys this way; anything else is written as JSON.
  Status Key(const Node* key, int depth, const std::string& path, std::string* out) {
    switch (key->kind) {
      case Kind::kStr:
      case Kind::kBigInt: *out = key->s; return Status::OK();
      case Kind::kPy2Str: *out = Latin1ToUtf8(key->s); return Status::OK();
      case Kind::kInt: *out = std::to_string(key->i); return Status::OK();
      case Kind::kUInt: *out = std::to_string(key->u); return Status::OK();
      case Kind::kBool: *out = key->b ? "True" : "False"; return Status::OK();
      case Kind::kNone: *out = "None"; return Status::OK();
      default: break;
    }
    nlohmann::json json;
    if (Status s = Write(key, depth + 1, path, &json); !s.ok()) return s;
    *out = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return Charge(out->size());
  }

  Status Unsupported(const Node* node, const std::string& path, nlohmann::json* out) {
    if (Status s = Charge(kNodeCost + path.size()); !s.ok()) return s;
    const std::string name = node->kind == Kind::kDtype ? "numpy.dtype" : node->s;
    *out = nlohmann::json{{"__unsupported__", name}};
    if (warnings_ != nullptr) {
      warnings_->push_back(
          {path, name + " is not plain data: kept as __unsupported__, never called"});
    }
    return Status::OK();
  }

  size_t budget_;
  std::vector<PickleWarning>* warnings_;
};

}  // namespace

Status NodeToJson(const Node* node, size_t budget, nlohmann::json* out,
                  std::vector<PickleWarning>* warnings) {
  Writer writer(budget, warnings);
  return writer.Write(node, 0, "", out);
}

}  // namespace lumodb::pickle

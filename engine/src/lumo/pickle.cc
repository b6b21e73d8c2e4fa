// DecodePickle: runs the pickle machine over data-only opcodes, never
// calling or importing anything; see pickle.h for what becomes what.
#include "lumo/pickle.h"

#include <charconv>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "lumo/pickle_json.h"
#include "lumo/pickle_text.h"
#include "lumo/pickle_value.h"

namespace lumodb {

using pickle::Global;
using pickle::Kind;
using pickle::Node;

namespace {

// Memory a pickle may use, in bytes, is 64 MiB plus this many per input
// byte, for the decoder's graph and again for the JSON. Every opcode is at
// least one byte and makes at most one node, so real pickles stay far below.
constexpr size_t kBudgetPerByte = 128;
constexpr size_t kBudgetBase = size_t{64} << 20;
constexpr size_t kMaxIntBytes = 1024;  // LONG4 beyond this is unsupported

struct GlobalName {
  const char* module;
  const char* name;
  Global global;
};
constexpr GlobalName kGlobals[] = {
    {"numpy.core.multiarray", "scalar", Global::kNumpyScalar},
    {"numpy._core.multiarray", "scalar", Global::kNumpyScalar},
    {"numpy", "dtype", Global::kNumpyDtype},
    {"collections", "OrderedDict", Global::kOrderedDict},
    {"builtins", "set", Global::kSet},
    {"__builtin__", "set", Global::kSet},
    {"builtins", "frozenset", Global::kFrozenSet},
    {"__builtin__", "frozenset", Global::kFrozenSet},
    {"builtins", "bytes", Global::kBytes},
    {"__builtin__", "bytes", Global::kBytes},
    {"builtins", "bytearray", Global::kBytes},
    {"__builtin__", "bytearray", Global::kBytes},
    {"_codecs", "encode", Global::kCodecsEncode},
};

bool IsSequence(const Node* n) {
  return n->kind == Kind::kList || n->kind == Kind::kTuple || n->kind == Kind::kSet;
}

uint64_t LittleEndian(std::string_view b) {
  uint64_t v = 0;
  for (size_t k = b.size(); k-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[k]);
  return v;
}

// The value of a numpy scalar from its dtype and raw bytes, or false.
bool DecodeNumpyScalar(const Node* dtype, std::string_view raw, Node* out) {
  const char type = dtype->s[0];
  const size_t size = static_cast<size_t>(dtype->s[1] - '0');
  if (raw.size() != size) return false;
  uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  const bool host_little = first == 1;
  const bool little = dtype->byte_order == '<' || (dtype->byte_order != '>' && host_little);
  std::string bytes(raw);
  if (!little) bytes.assign(raw.rbegin(), raw.rend());
  const uint64_t v = LittleEndian(bytes);
  if (type == 'b') {
    out->kind = Kind::kBool;
    out->b = v != 0;
  } else if (type == 'u') {
    out->kind = Kind::kUInt;
    out->u = v;
    if (v <= static_cast<uint64_t>(INT64_MAX)) {
      out->kind = Kind::kInt;
      out->i = static_cast<int64_t>(v);
    }
  } else if (type == 'i') {
    const int shift = 64 - 8 * static_cast<int>(size);
    out->kind = Kind::kInt;
    out->i = static_cast<int64_t>(v << shift) >> shift;  // sign-extend
  } else if (size == 2) {
    out->kind = Kind::kFloat;
    out->f = pickle::HalfToDouble(static_cast<uint16_t>(v));
  } else if (size == 4) {
    float f;
    const uint32_t bits = static_cast<uint32_t>(v);
    std::memcpy(&f, &bits, 4);
    out->kind = Kind::kFloat;
    out->f = f;
  } else {
    out->kind = Kind::kFloat;
    std::memcpy(&out->f, &v, 8);
  }
  return true;
}

bool IsNumpyTypeCode(const std::string& s) {
  static const char* const kCodes[] = {"f2", "f4", "f8", "i1", "i2", "i4", "i8",
                                       "u1", "u2", "u4", "u8", "b1"};
  for (const char* code : kCodes) {
    if (s == code) return true;
  }
  return false;
}

class Decoder {
 public:
  explicit Decoder(std::string_view in)
      : in_(in), budget_(kBudgetBase + kBudgetPerByte * in.size()) {}

  // Runs to STOP. On success *result is the value.
  Status Run(Node** result);
  // After a failed Run: the top-level dict with the complete key/value pairs
  // still waiting on the stack for their SETITEMS, or null if the top level
  // is not a dict.
  Node* PartialDict();
  size_t budget() const { return budget_; }

 private:
  Status Step(char op, bool* stop, Node** result);

  Status Error(const std::string& what) const {
    return Status::Corruption("pickle: " + what + " at offset " + std::to_string(op_offset_));
  }
  Status Truncated(const char* what) const {
    return Error(std::string("input ends inside ") + what);
  }
  Status Charge(size_t bytes) {
    if (bytes > budget_) return Error("value needs more memory than the input's size allows");
    budget_ -= bytes;
    return Status::OK();
  }

  bool Read(size_t n, std::string_view* out) {
    if (n > in_.size() - pos_) return false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool ReadUnsigned(size_t n, uint64_t* v) {
    std::string_view b;
    if (!Read(n, &b)) return false;
    *v = LittleEndian(b);
    return true;
  }
  bool ReadLine(std::string_view* out) {
    const size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) return false;
    *out = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return true;
  }

  Status New(Kind kind, Node** out) {
    if (Status s = Charge(sizeof(Node)); !s.ok()) return s;
    arena_.emplace_back();
    arena_.back().kind = kind;
    *out = &arena_.back();
    return Status::OK();
  }
  Status PushNew(Kind kind, Node** out = nullptr) {
    Node* n = nullptr;
    if (Status s = New(kind, &n); !s.ok()) return s;
    if (out != nullptr) *out = n;
    return Push(n);
  }
  Status Push(Node* n) {
    if (Status s = Charge(sizeof(Node*)); !s.ok()) return s;
    stack_.push_back(n);
    return Status::OK();
  }
  // Items above the last MARK: what an opcode may pop.
  size_t FrameSize() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }
  Status Pop(Node** n) {
    if (FrameSize() == 0) return Error("stack underflow");
    *n = stack_.back();
    stack_.pop_back();
    return Status::OK();
  }
  Status Top(Node** n) {
    if (FrameSize() == 0) return Error("stack underflow");
    *n = stack_.back();
    return Status::OK();
  }
  // Removes the last MARK; the items above it are stack_[*start, end).
  Status PopMark(size_t* start) {
    if (marks_.empty()) return Error("no MARK on the stack");
    *start = marks_.back();
    marks_.pop_back();
    return Status::OK();
  }
  Status AddItems(Node* to, size_t start) {
    const size_t n = stack_.size() - start;
    if (to->items.size() + n > kPickleMaxContainer) {
      return Error("container of more than " + std::to_string(kPickleMaxContainer) + " items");
    }
    if (Status s = Charge(n * sizeof(Node*)); !s.ok()) return s;
    to->items.insert(to->items.end(), stack_.begin() + static_cast<ptrdiff_t>(start),
                     stack_.end());
    stack_.resize(start);
    return Status::OK();
  }
  Status String(Kind kind, std::string value) {
    if (Status s = Charge(value.size()); !s.ok()) return s;
    Node* n = nullptr;
    if (Status s = PushNew(kind, &n); !s.ok()) return s;
    n->s = std::move(value);
    return Status::OK();
  }
  Status Unsupported(const std::string& name) {
    return String(Kind::kUnsupported, name);
  }
  Status Integer(std::string_view digits);
  Status Memo(uint64_t index, Node* n);
  Status Get(uint64_t index);
  Status Call(Node* callable, Node* args, bool is_new);
  Status Build();
  Status Container(Kind kind);
  Status Append(Node* to, size_t start, bool dict);

  std::string_view in_;
  size_t pos_ = 0;
  size_t op_offset_ = 0;
  size_t budget_;
  std::deque<Node> arena_;  // stable addresses; freed all at once, cycles too
  std::vector<Node*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Node*> memo_;
};

Status Decoder::Run(Node** result) {
  while (pos_ < in_.size()) {
    op_offset_ = pos_;
    const char op = in_[pos_++];
    bool stop = false;
    if (Status s = Step(op, &stop, result); !s.ok()) return s;
    if (stop) return Status::OK();
  }
  op_offset_ = pos_;
  return Error("input ends before STOP");
}

// INT and LONG arguments: decimal digits (Python 2 also wrote a trailing L).
Status Decoder::Integer(std::string_view text) {
  if (!text.empty() && text.back() == 'L') text.remove_suffix(1);
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
  if (digits.empty()) return Error("empty integer");
  for (char c : digits) {
    if (c < '0' || c > '9') return Error("bad integer '" + std::string(text.substr(0, 40)) + "'");
  }
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  Node* n = nullptr;
  if (Status s = PushNew(Kind::kInt, &n); !s.ok()) return s;
  uint64_t magnitude;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
  if (ec == std::errc() && end == digits.data() + digits.size()) {
    if (!negative && magnitude > static_cast<uint64_t>(INT64_MAX)) {
      n->kind = Kind::kUInt;
      n->u = magnitude;
      return Status::OK();
    }
    if (magnitude <= static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0)) {
      n->i = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
      return Status::OK();
    }
  }
  n->kind = Kind::kBigInt;
  if (Status s = Charge(digits.size() + 1); !s.ok()) return s;
  n->s = (negative && digits != "0" ? "-" : "") + std::string(digits);
  return Status::OK();
}

Status Decoder::Memo(uint64_t index, Node* n) {
  if (memo_.size() >= kPickleMaxMemo && memo_.count(index) == 0) {
    return Error("memo of more than " + std::to_string(kPickleMaxMemo) + " entries");
  }
  if (Status s = Charge(4 * sizeof(void*)); !s.ok()) return s;
  memo_[index] = n;
  return Status::OK();
}

Status Decoder::Get(uint64_t index) {
  auto it = memo_.find(index);
  if (it == memo_.end()) return Error("memo key " + std::to_string(index) + " not found");
  return Push(it->second);
}

// REDUCE, NEWOBJ and NEWOBJ_EX. Only the globals in kGlobals with the
// arguments their own pickles use are understood; everything else becomes
// unsupported, naming the callable. Nothing is ever called.
Status Decoder::Call(Node* callable, Node* args, bool is_new) {
  if (callable->kind == Kind::kUnsupported) return Unsupported(callable->s);
  if (callable->kind != Kind::kGlobal) {
    return Unsupported(std::string(is_new ? "NEWOBJ" : "REDUCE") + " of a non-global");
  }
  const bool tuple = args->kind == Kind::kTuple;
  const std::vector<Node*> none;
  const std::vector<Node*>& a = tuple ? args->items : none;
  Node* n = nullptr;
  switch (callable->global) {
    case Global::kNumpyScalar:
      if (!is_new && a.size() == 2 && a[0]->kind == Kind::kDtype &&
          (a[1]->kind == Kind::kBytes || a[1]->kind == Kind::kPy2Str)) {
        if (Status s = New(Kind::kNone, &n); !s.ok()) return s;
        if (DecodeNumpyScalar(a[0], a[1]->s, n)) return Push(n);
      }
      break;
    case Global::kNumpyDtype:
      if (!a.empty() && a[0]->kind == Kind::kStr && IsNumpyTypeCode(a[0]->s)) {
        return String(Kind::kDtype, a[0]->s);
      }
      break;
    case Global::kOrderedDict:
      if (tuple && (a.empty() || is_new)) return PushNew(Kind::kDict);
      break;
    case Global::kSet:
    case Global::kFrozenSet:
      if (tuple && a.empty()) return PushNew(Kind::kSet);
      // The argument list already holds the items; sharing it costs nothing.
      if (!is_new && a.size() == 1 && IsSequence(a[0])) return Push(a[0]);
      break;
    case Global::kBytes:
      if (tuple && a.empty()) return PushNew(Kind::kBytes);
      if (!is_new && a.size() == 1 && a[0]->kind == Kind::kBytes) return Push(a[0]);
      break;
    case Global::kCodecsEncode:
      if (!is_new && a.size() == 2 && a[0]->kind == Kind::kStr && a[1]->kind == Kind::kStr &&
          (a[1]->s == "latin1" || a[1]->s == "latin-1")) {
        std::string bytes;
        if (pickle::Utf8ToLatin1(a[0]->s, &bytes)) return String(Kind::kBytes, std::move(bytes));
      }
      break;
    case Global::kOther: break;
  }
  return Unsupported(callable->s);
}

// BUILD: sets an object's state. Only numpy.dtype's byte order is kept.
Status Decoder::Build() {
  Node* state = nullptr;
  Node* obj = nullptr;
  if (Status s = Pop(&state); !s.ok()) return s;
  if (Status s = Top(&obj); !s.ok()) return s;
  if (obj->kind == Kind::kDtype) {
    if (state->kind == Kind::kTuple && state->items.size() >= 2 &&
        state->items[1]->kind == Kind::kStr && state->items[1]->s.size() == 1 &&
        std::strchr("<>|=", state->items[1]->s[0]) != nullptr) {
      obj->byte_order = state->items[1]->s[0];
    }
    return Status::OK();
  }
  if (obj->kind == Kind::kUnsupported) return Status::OK();
  stack_.pop_back();
  return Unsupported("BUILD on a plain value");
}

// LIST, TUPLE, DICT and FROZENSET: the items above the last MARK.
Status Decoder::Container(Kind kind) {
  size_t start = 0;
  if (Status s = PopMark(&start); !s.ok()) return s;
  if (kind == Kind::kDict && (stack_.size() - start) % 2 != 0) {
    return Error("odd number of items for DICT");
  }
  Node* n = nullptr;
  if (Status s = New(kind, &n); !s.ok()) return s;
  if (Status s = AddItems(n, start); !s.ok()) return s;
  return Push(n);
}

// APPEND(S), SETITEM(S), ADDITEMS: the items stack_[start, end) go into the
// object below them. Items for an unsupported object are dropped.
Status Decoder::Append(Node* to, size_t start, bool dict) {
  if (to->kind == Kind::kUnsupported) {
    stack_.resize(start);
    return Status::OK();
  }
  const bool fits = dict ? to->kind == Kind::kDict
                         : (to->kind == Kind::kList || to->kind == Kind::kSet);
  if (!fits) return Error(dict ? "SETITEM into a value that is not a dict"
                               : "APPEND into a value that is not a list or set");
  if (dict && (stack_.size() - start) % 2 != 0) return Error("odd number of items for SETITEMS");
  return AddItems(to, start);
}

Status Decoder::Step(char op, bool* stop, Node** result) {
  std::string_view b;
  uint64_t v = 0;
  Node* n = nullptr;
  switch (static_cast<unsigned char>(op)) {
    case 0x80:  // PROTO
      if (!ReadUnsigned(1, &v)) return Truncated("PROTO");
      if (v > 5) return Error("unsupported protocol " + std::to_string(v));
      return Status::OK();
    case 0x95:  // FRAME: a hint for buffering; the opcodes inside are read as usual
      if (!ReadUnsigned(8, &v)) return Truncated("FRAME");
      return Status::OK();
    case '.':  // STOP
      if (Status s = Pop(result); !s.ok()) return s;
      *stop = true;
      return Status::OK();
    case '(':  // MARK
      if (marks_.size() >= static_cast<size_t>(kPickleMaxDepth)) {
        return Error("MARKs nested deeper than " + std::to_string(kPickleMaxDepth));
      }
      marks_.push_back(stack_.size());
      return Status::OK();
    case '0':  // POP: like Python, pops the MARK when nothing is above it
      if (FrameSize() == 0) {
        size_t start = 0;
        return PopMark(&start);
      }
      stack_.pop_back();
      return Status::OK();
    case '1': {  // POP_MARK
      size_t start = 0;
      if (Status s = PopMark(&start); !s.ok()) return s;
      stack_.resize(start);
      return Status::OK();
    }
    case '2':  // DUP
      if (Status s = Top(&n); !s.ok()) return s;
      return Push(n);

    case '}': return PushNew(Kind::kDict);        // EMPTY_DICT
    case ']': return PushNew(Kind::kList);        // EMPTY_LIST
    case ')': return PushNew(Kind::kTuple);       // EMPTY_TUPLE
    case 0x8f: return PushNew(Kind::kSet);        // EMPTY_SET
    case 'd': return Container(Kind::kDict);      // DICT
    case 'l': return Container(Kind::kList);      // LIST
    case 't': return Container(Kind::kTuple);     // TUPLE
    case 0x91: return Container(Kind::kSet);      // FROZENSET
    case 0x85:                                    // TUPLE1
    case 0x86:                                    // TUPLE2
    case 0x87: {                                  // TUPLE3
      const size_t count = static_cast<unsigned char>(op) - 0x84;
      if (FrameSize() < count) return Error("stack underflow");
      if (Status s = New(Kind::kTuple, &n); !s.ok()) return s;
      if (Status s = AddItems(n, stack_.size() - count); !s.ok()) return s;
      return Push(n);
    }
    case 'a':    // APPEND
    case 's':    // SETITEM
      if (FrameSize() < (op == 'a' ? 2u : 3u)) return Error("stack underflow");
      return Append(stack_[stack_.size() - (op == 'a' ? 2 : 3)],
                    stack_.size() - (op == 'a' ? 1 : 2), op == 's');
    case 'e':    // APPENDS
    case 'u':    // SETITEMS
    case 0x90: {  // ADDITEMS
      size_t start = 0;
      if (Status s = PopMark(&start); !s.ok()) return s;
      // The target sits just below the MARK, above any outer MARK.
      if (start == 0 || (!marks_.empty() && marks_.back() >= start)) {
        return Error("stack underflow");
      }
      return Append(stack_[start - 1], start, op == 'u');
    }

    case 'N': return PushNew(Kind::kNone);  // NONE
    case 0x88:  // NEWTRUE
    case 0x89:  // NEWFALSE
      if (Status s = PushNew(Kind::kBool, &n); !s.ok()) return s;
      n->b = static_cast<unsigned char>(op) == 0x88;
      return Status::OK();
    case 'I':  // INT: text; "01" and "00" are protocol 0's True and False
      if (!ReadLine(&b)) return Truncated("INT");
      if (b == "01" || b == "00") {
        if (Status s = PushNew(Kind::kBool, &n); !s.ok()) return s;
        n->b = b == "01";
        return Status::OK();
      }
      return Integer(b);
    case 'L':  // LONG
      if (!ReadLine(&b)) return Truncated("LONG");
      return Integer(b);
    case 'J':  // BININT
      if (!ReadUnsigned(4, &v)) return Truncated("BININT");
      if (Status s = PushNew(Kind::kInt, &n); !s.ok()) return s;
      n->i = static_cast<int32_t>(static_cast<uint32_t>(v));
      return Status::OK();
    case 'K':  // BININT1
    case 'M':  // BININT2
      if (!ReadUnsigned(op == 'K' ? 1 : 2, &v)) return Truncated("BININT1/2");
      if (Status s = PushNew(Kind::kInt, &n); !s.ok()) return s;
      n->i = static_cast<int64_t>(v);
      return Status::OK();
    case 0x8a:  // LONG1
    case 0x8b:  // LONG4
      if (!ReadUnsigned(op == static_cast<char>(0x8a) ? 1 : 4, &v)) return Truncated("LONG1/4");
      if (op == static_cast<char>(0x8b) && (v & 0x80000000u)) return Error("negative LONG4 size");
      if (!Read(v, &b)) return Truncated("LONG1/4");
      if (b.size() > kMaxIntBytes) {
        return Unsupported("int of " + std::to_string(b.size()) + " bytes");
      }
      return Integer(pickle::TwosComplementToDecimal(b));
    case 'F': {  // FLOAT: Python's repr
      if (!ReadLine(&b)) return Truncated("FLOAT");
      std::string_view text = b;
      if (!text.empty() && text[0] == '+') text.remove_prefix(1);
      double f;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), f);
      if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return Error("bad FLOAT '" + std::string(b.substr(0, 40)) + "'");
      }
      if (Status s = PushNew(Kind::kFloat, &n); !s.ok()) return s;
      n->f = f;
      return Status::OK();
    }
    case 'G': {  // BINFLOAT: big-endian
      if (!Read(8, &b)) return Truncated("BINFLOAT");
      const std::string le(b.rbegin(), b.rend());
      const uint64_t bits = LittleEndian(le);
      if (Status s = PushNew(Kind::kFloat, &n); !s.ok()) return s;
      std::memcpy(&n->f, &bits, 8);
      return Status::OK();
    }

    case 0x8c:  // SHORT_BINUNICODE
    case 'X':   // BINUNICODE
    case 0x8d:  // BINUNICODE8
    case 'U':   // SHORT_BINSTRING
    case 'T':   // BINSTRING
    case 'C':   // SHORT_BINBYTES
    case 'B':   // BINBYTES
    case 0x8e:  // BINBYTES8
    case 0x96: {  // BYTEARRAY8
      const unsigned char u = static_cast<unsigned char>(op);
      const size_t width = (u == 0x8c || u == 'U' || u == 'C') ? 1 : (u == 'X' || u == 'T' || u == 'B') ? 4 : 8;
      if (!ReadUnsigned(width, &v)) return Truncated("a string length");
      if (u == 'T' && (v & 0x80000000u)) return Error("negative BINSTRING length");
      if (!Read(v, &b)) return Truncated("a string");
      if (u == 0x8c || u == 'X' || u == 0x8d) return String(Kind::kStr, pickle::SanitizeUtf8(b));
      return String(u == 'U' || u == 'T' ? Kind::kPy2Str : Kind::kBytes, std::string(b));
    }
    case 'S': {  // STRING: a quoted Python 2 str literal
      if (!ReadLine(&b)) return Truncated("STRING");
      if (b.size() < 2 || (b[0] != '\'' && b[0] != '"') || b.back() != b[0]) {
        return Error("STRING argument is not quoted");
      }
      std::string raw;
      if (!pickle::DecodeStringEscapes(b.substr(1, b.size() - 2), &raw)) {
        return Error("bad escape in STRING");
      }
      return String(Kind::kPy2Str, std::move(raw));
    }
    case 'V': {  // UNICODE: raw-unicode-escape
      if (!ReadLine(&b)) return Truncated("UNICODE");
      std::string text;
      if (!pickle::DecodeRawUnicodeEscape(b, &text)) return Error("bad escape in UNICODE");
      return String(Kind::kStr, std::move(text));
    }

    case 'p':  // PUT
      if (!ReadLine(&b)) return Truncated("PUT");
      if (std::from_chars(b.data(), b.data() + b.size(), v).ptr != b.data() + b.size() ||
          b.empty()) {
        return Error("bad PUT index");
      }
      if (Status s = Top(&n); !s.ok()) return s;
      return Memo(v, n);
    case 'q':  // BINPUT
    case 'r':  // LONG_BINPUT
      if (!ReadUnsigned(op == 'q' ? 1 : 4, &v)) return Truncated("BINPUT");
      if (Status s = Top(&n); !s.ok()) return s;
      return Memo(v, n);
    case 0x94:  // MEMOIZE
      if (Status s = Top(&n); !s.ok()) return s;
      return Memo(memo_.size(), n);
    case 'g':  // GET
      if (!ReadLine(&b)) return Truncated("GET");
      if (std::from_chars(b.data(), b.data() + b.size(), v).ptr != b.data() + b.size() ||
          b.empty()) {
        return Error("bad GET index");
      }
      return Get(v);
    case 'h':  // BINGET
    case 'j':  // LONG_BINGET
      if (!ReadUnsigned(op == 'h' ? 1 : 4, &v)) return Truncated("BINGET");
      return Get(v);

    case 'c': {  // GLOBAL
      std::string_view module, name;
      if (!ReadLine(&module) || !ReadLine(&name)) return Truncated("GLOBAL");
      if (Status s = String(Kind::kGlobal, pickle::SanitizeUtf8(module) + "." +
                                               pickle::SanitizeUtf8(name));
          !s.ok()) {
        return s;
      }
      for (const GlobalName& g : kGlobals) {
        if (module == g.module && name == g.name) stack_.back()->global = g.global;
      }
      return Status::OK();
    }
    case 0x93: {  // STACK_GLOBAL
      Node* name = nullptr;
      Node* module = nullptr;
      if (Status s = Pop(&name); !s.ok()) return s;
      if (Status s = Pop(&module); !s.ok()) return s;
      if (module->kind != Kind::kStr || name->kind != Kind::kStr) {
        return Error("STACK_GLOBAL needs two str");
      }
      if (Status s = String(Kind::kGlobal, module->s + "." + name->s); !s.ok()) return s;
      for (const GlobalName& g : kGlobals) {
        if (module->s == g.module && name->s == g.name) stack_.back()->global = g.global;
      }
      return Status::OK();
    }
    case 'R':     // REDUCE
    case 0x81:    // NEWOBJ
    case 0x92: {  // NEWOBJ_EX: the keyword arguments are not needed
      Node* args = nullptr;
      Node* callable = nullptr;
      if (op == static_cast<char>(0x92)) {
        if (Status s = Pop(&args); !s.ok()) return s;
      }
      if (Status s = Pop(&args); !s.ok()) return s;
      if (Status s = Pop(&callable); !s.ok()) return s;
      return Call(callable, args, op != 'R');
    }
    case 'b':  // BUILD
      return Build();
    case 'i': {  // INST: a class from two text lines, called on the MARKed items
      std::string_view module, name;
      if (!ReadLine(&module) || !ReadLine(&name)) return Truncated("INST");
      size_t start = 0;
      if (Status s = PopMark(&start); !s.ok()) return s;
      stack_.resize(start);
      return Unsupported(pickle::SanitizeUtf8(module) + "." + pickle::SanitizeUtf8(name));
    }
    case 'o': {  // OBJ: the class is the first MARKed item
      size_t start = 0;
      if (Status s = PopMark(&start); !s.ok()) return s;
      if (stack_.size() == start) return Error("OBJ without a class");
      const Node* cls = stack_[start];
      const std::string name =
          cls->kind == Kind::kGlobal || cls->kind == Kind::kUnsupported ? cls->s : "OBJ";
      stack_.resize(start);
      return Unsupported(name);
    }
    case 0x82:  // EXT1
    case 0x83:  // EXT2
    case 0x84:  // EXT4
      if (!ReadUnsigned(static_cast<unsigned char>(op) == 0x84 ? 4 : static_cast<unsigned char>(op) - 0x81, &v)) {
        return Truncated("EXT");
      }
      return Unsupported("copyreg extension " + std::to_string(v));
    case 'P':  // PERSID
      if (!ReadLine(&b)) return Truncated("PERSID");
      return Unsupported("persistent id");
    case 'Q':  // BINPERSID
      if (Status s = Pop(&n); !s.ok()) return s;
      return Unsupported("persistent id");
    case 0x97:  // NEXT_BUFFER
      return Unsupported("out-of-band buffer");
    case 0x98:  // READONLY_BUFFER
      return Top(&n);
    default: {
      static const char kHex[] = "0123456789abcdef";
      const unsigned char u = static_cast<unsigned char>(op);
      return Error(std::string("unknown opcode 0x") + kHex[u >> 4] + kHex[u & 0xf]);
    }
  }
}

Node* Decoder::PartialDict() {
  if (stack_.empty() || stack_[0]->kind != Kind::kDict) return nullptr;
  if (!marks_.empty() && marks_[0] == 0) return nullptr;  // the dict is inside something
  // The pairs waiting above the dict run to the next MARK, which starts a
  // value still being built.
  size_t end = stack_.size();
  bool inner = false;
  for (size_t m : marks_) {
    if (m > 1) {
      end = m;
      inner = true;
      break;
    }
  }
  Node* partial = nullptr;
  if (!New(Kind::kDict, &partial).ok()) return stack_[0];
  partial->items = stack_[0]->items;
  std::vector<Node*> pairs;
  for (size_t k = 1; k + 1 < end; k += 2) {
    const Node* key = stack_[k];
    const Node* value = stack_[k + 1];
    // A callable on the stack is waiting for its arguments: not a value yet.
    if (key->kind != Kind::kStr || value->kind == Kind::kGlobal) break;
    // Nor are the module and name strings STACK_GLOBAL is about to read.
    const size_t after = end - (k + 2);
    if (value->kind == Kind::kStr &&
        (after == 0 || (after == 1 && stack_[k + 2]->kind == Kind::kStr))) {
      break;
    }
    pairs.push_back(stack_[k]);
    pairs.push_back(stack_[k + 1]);
  }
  if (inner && !pairs.empty() && pairs.size() + 1 == end) pairs.resize(pairs.size() - 2);
  partial->items.insert(partial->items.end(), pairs.begin(), pairs.end());
  return partial;
}

}  // namespace

Status DecodePickle(std::string_view bytes, nlohmann::json* out,
                    std::vector<PickleWarning>* warnings) {
  *out = nullptr;
  Decoder decoder(bytes);
  Node* result = nullptr;
  Status status = decoder.Run(&result);
  if (!status.ok()) {
    if (Node* partial = decoder.PartialDict()) {
      // The partial dict's own errors matter less than the first one.
      pickle::NodeToJson(partial, kBudgetBase + kBudgetPerByte * bytes.size(), out, warnings)
          .ok();
    }
    return status;
  }
  return pickle::NodeToJson(result, kBudgetBase + kBudgetPerByte * bytes.size(), out, warnings);
}

}  // namespace lumodb

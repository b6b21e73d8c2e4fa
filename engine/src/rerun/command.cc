// A rerun's command line: the recorded command and the overrides merged
// into it (see rerun.h).
#include <sys/wait.h>

#include <cctype>

#include "rerun/command.h"

namespace lumodb {

namespace {

// An option word: "--name..." or "-x..." with a letter; "--" alone, "-"
// and negative numbers ("-1", "-1e-3") are not.
bool IsOption(const std::string& word) {
  if (word.size() > 2 && word[0] == '-' && word[1] == '-') return true;
  return word.size() > 1 && word[0] == '-' &&
         std::isalpha(static_cast<unsigned char>(word[1])) != 0;
}

// "--lr" of "--lr=0.1" or "--lr".
std::string OptionName(const std::string& word) {
  return word.substr(0, word.find('='));
}

struct Override {
  std::string name;  // with its dashes: "--lr", "-v"
  enum Kind { kFlag, kEquals, kSpaced } kind = kFlag;
  std::string value;
};

// The same option with "no-" added or removed: --fast <-> --no-fast.
std::string Opposite(const std::string& name) {
  size_t dashes = name.find_first_not_of('-');
  std::string key = name.substr(dashes);
  if (key.compare(0, 3, "no-") == 0) return name.substr(0, dashes) + key.substr(3);
  return name.substr(0, dashes) + "no-" + key;
}

Status ParseOverrides(const std::vector<std::string>& words, std::vector<Override>* out,
                      std::vector<std::string>* passthrough) {
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "--") {
      passthrough->assign(words.begin() + static_cast<long>(i) + 1, words.end());
      return Status::OK();
    }
    Override o;
    o.name = OptionName(w);
    if (!IsOption(w) || o.name.find_first_not_of('-') == std::string::npos) {
      return Status::InvalidArgument(
          "override '" + w +
          "' is not --key=value, --key value, --flag or --no-flag (words for the "
          "program itself go after a lone --)");
    }
    if (o.name.size() < w.size()) {
      o.kind = Override::kEquals;
      o.value = w.substr(o.name.size() + 1);
    } else if (i + 1 < words.size() && words[i + 1] != "--" && !IsOption(words[i + 1])) {
      o.kind = Override::kSpaced;
      o.value = words[++i];
    }
    out->push_back(std::move(o));
  }
  return Status::OK();
}

void ApplyValue(const Override& o, std::vector<std::string>* args, size_t* end) {
  std::vector<std::string>& a = *args;
  bool found = false;
  for (size_t j = 0; j < *end; ++j) {
    if (a[j].compare(0, o.name.size() + 1, o.name + "=") == 0) {
      a[j] = o.name + "=" + o.value;
      found = true;
    } else if (a[j] == o.name) {
      found = true;
      if (j + 1 < *end && !IsOption(a[j + 1])) {
        a[++j] = o.value;
      } else {  // recorded as a bare flag: give it the value
        a.insert(a.begin() + static_cast<long>(j) + 1, o.value);
        ++*end;
        ++j;
      }
    }
  }
  if (found) return;
  if (o.kind == Override::kEquals) {
    a.insert(a.begin() + static_cast<long>(*end), o.name + "=" + o.value);
    *end += 1;
  } else {
    a.insert(a.begin() + static_cast<long>(*end), {o.name, o.value});
    *end += 2;
  }
}

void ApplyFlag(const Override& o, std::vector<std::string>* args, size_t* end) {
  std::vector<std::string>& a = *args;
  for (size_t j = 0; j < *end; ++j) {
    if (OptionName(a[j]) == o.name && IsOption(a[j])) return;  // already there
  }
  const std::string opposite = Opposite(o.name);
  bool replaced = false;
  for (size_t j = 0; j < *end; ++j) {
    if (a[j] == opposite) {
      a[j] = o.name;
      replaced = true;
    }
  }
  if (!replaced) {
    a.insert(a.begin() + static_cast<long>(*end), o.name);
    *end += 1;
  }
}

}  // namespace

Status SplitRecordedCommand(const RecordedExecute& e, std::vector<std::string>* program,
                            std::vector<std::string>* args) {
  program->clear();
  args->clear();
  const std::vector<std::string>& argv = e.exec_argv;
  if (argv.empty()) {
    if (e.exec_bin.empty()) return Status::NotFound("no command recorded (execute.exec_argv is empty)");
    program->push_back(e.exec_bin);
    if (e.from_lumo && !e.exec_file.empty()) program->push_back(e.exec_file);
    return Status::OK();
  }
  size_t first = 1;
  if (e.from_lumo) {
    // lumo: exec_bin is the interpreter, argv[0] the script. lumo's own
    // rerun put the script in twice ("train.py train.py --lr ..."): drop it.
    const std::string& script = argv[0];
    while (first < argv.size() && (argv[first] == script || argv[first] == e.exec_file)) {
      ++first;
    }
    if (!e.exec_bin.empty()) program->push_back(e.exec_bin);
    program->push_back(script);
  } else {
    program->push_back(e.exec_bin.empty() ? argv[0] : e.exec_bin);
  }
  args->assign(argv.begin() + static_cast<long>(first), argv.end());
  return Status::OK();
}

Status MergeOverrides(const std::vector<std::string>& args,
                      const std::vector<std::string>& overrides,
                      std::vector<std::string>* out) {
  std::vector<Override> parsed;
  std::vector<std::string> passthrough;
  Status s = ParseOverrides(overrides, &parsed, &passthrough);
  if (!s.ok()) return s;
  std::vector<std::string> merged = args;
  size_t end = 0;  // options live before the command's own "--"
  while (end < merged.size() && merged[end] != "--") ++end;
  for (const Override& o : parsed) {
    if (o.kind == Override::kFlag) {
      ApplyFlag(o, &merged, &end);
    } else {
      ApplyValue(o, &merged, &end);
    }
  }
  merged.insert(merged.end(), passthrough.begin(), passthrough.end());
  *out = std::move(merged);
  return Status::OK();
}

int ShellExitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace lumodb

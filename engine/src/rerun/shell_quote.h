// POSIX shell quoting of one argument or a whole argv.
#ifndef LUMODB_SHELL_QUOTE_H_
#define LUMODB_SHELL_QUOTE_H_

#include <string>
#include <vector>

namespace lumodb {

// Leaves safe words as they are; otherwise wraps in single quotes, with
// each ' written as '\''.
std::string ShellQuote(const std::string& arg);
std::string ShellJoin(const std::vector<std::string>& argv);

}  // namespace lumodb

#endif  // LUMODB_SHELL_QUOTE_H_

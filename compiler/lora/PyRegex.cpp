//===- PyRegex.cpp - the Python `re` patterns of adapter_config.json ------===//
//
// std::regex reports a bad pattern only by throwing std::regex_error, so this
// file is compiled with -fexceptions and is the one place effc catches: every
// exception is turned into an llvm::Error or a failed match right here.
//
#include "compiler/lora/PyRegex.h"

#include "llvm/ADT/StringExtras.h"

#include <regex>

namespace effc::lora {

struct PyRegex::Impl {
  std::regex re;
};

namespace {

/// The length of the Python repeat `{m}`, `{m,}`, `{,n}`, `{m,n}` at `i`
/// (pattern[i] == '{'), or 0 where Python reads the '{' as a literal.
size_t braceRepeatLength(llvm::StringRef pattern, size_t i) {
  size_t j = i + 1;
  while (j < pattern.size() && llvm::isDigit(pattern[j]))
    ++j;
  bool comma = j < pattern.size() && pattern[j] == ',';
  if (comma)
    for (++j; j < pattern.size() && llvm::isDigit(pattern[j]);)
      ++j;
  if (j >= pattern.size() || pattern[j] != '}' || (j == i + 1 && !comma))
    return 0;
  return j + 1 - i;
}

/// Python refuses a repeat applied to a repeat ("multiple repeat": `a**`,
/// `a+*`, `a*{2}`, `a*??`) and reads `a*+`, `a++`, `a?+`, `a{2}+` as
/// possessive (3.11+). ECMAScript std::regex accepts all of them as nested
/// repeats, which misreads the possessive ones and makes libstdc++'s
/// backtracking matcher exponential on a name that does not match: refuse
/// both, as Python's sre_parse would (positions are Python's).
llvm::Error checkRepeats(llvm::StringRef pattern) {
  enum { Nothing, Atom, Repeat, LazyRepeat } prev = Nothing;
  for (size_t i = 0; i < pattern.size();) {
    char c = pattern[i];
    size_t repeatLength = c == '*' || c == '+' || c == '?' ? 1
                          : c == '{'                       ? braceRepeatLength(pattern, i)
                                                           : 0;
    if (repeatLength) {
      if (prev == Repeat && c == '?') {
        prev = LazyRepeat;
      } else if (prev == Repeat && c == '+') {
        return llvm::createStringError(
            llvm::inconvertibleErrorCode(),
            "invalid regular expression '%s': possessive repeat at position %zu is not supported",
            pattern.str().c_str(), i);
      } else if (prev == Repeat || prev == LazyRepeat) {
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "invalid regular expression '%s': multiple repeat at "
                                       "position %zu",
                                       pattern.str().c_str(), i);
      } else {
        prev = Repeat; // "nothing to repeat" is left to std::regex, which refuses it too
      }
      i += repeatLength;
      continue;
    }
    if (c == '\\') {
      i += 2;
      prev = Atom;
    } else if (c == '[') {
      // A class: a ']' right after '[' or '[^' is a member; escapes are skipped.
      size_t j = i + 1;
      if (j < pattern.size() && pattern[j] == '^')
        ++j;
      if (j < pattern.size() && pattern[j] == ']')
        ++j;
      while (j < pattern.size() && pattern[j] != ']')
        j += pattern[j] == '\\' ? 2 : 1;
      i = j + 1;
      prev = Atom;
    } else if (c == '(') {
      // "(?:", "(?=", "(?P<": the '?' is not a repeat.
      i += i + 1 < pattern.size() && pattern[i + 1] == '?' ? 2 : 1;
      prev = Nothing;
    } else {
      ++i;
      prev = c == '|' || c == '^' || c == '$' ? Nothing : Atom;
    }
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<PyRegex> PyRegex::compile(llvm::StringRef pattern) {
  if (llvm::Error err = checkRepeats(pattern))
    return std::move(err);
  try {
    auto impl = std::make_shared<Impl>();
    impl->re = std::regex(pattern.str(), std::regex::ECMAScript);
    return PyRegex(pattern.str(), std::move(impl));
  } catch (const std::exception &e) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "invalid regular expression '%s': %s", pattern.str().c_str(),
                                   e.what());
  }
}

bool PyRegex::fullMatch(llvm::StringRef s) const {
  if (s.size() > kMaxRegexSubjectLength)
    return false;
  try {
    return std::regex_match(s.begin(), s.end(), impl_->re);
  } catch (const std::exception &) {
    return false;
  }
}

bool PyRegex::matchPrefix(llvm::StringRef s, std::string *group1) const {
  if (s.size() > kMaxRegexSubjectLength)
    return false;
  try {
    std::cmatch m;
    if (!std::regex_search(s.begin(), s.end(), m, impl_->re,
                           std::regex_constants::match_continuous))
      return false;
    if (group1)
      *group1 = m.size() > 1 ? m[1].str() : std::string();
    return true;
  } catch (const std::exception &) {
    return false;
  }
}

} // namespace effc::lora

//===- PyRegex.h - the Python `re` patterns of adapter_config.json -*- C++ -*-===//
//
// PEFT's target_modules, exclude_modules, rank_pattern, alpha_pattern and
// layers_pattern are Python regular expressions. They are compiled here as
// ECMAScript std::regex, which reads the syntax these configs use the same way
// (., *, +, ?, |, groups, (?:), [classes], \d, \w, \., lazy quantifiers);
// Python-only syntax ((?P<name>), inline flags, \A, \Z, possessive repeats)
// is reported as an invalid pattern rather than misread, and so is a repeat of
// a repeat (`a**`), which Python refuses and std::regex would accept.
// std::regex stays inside PyRegex.cpp.
//
#ifndef EFFC_COMPILER_LORA_PYREGEX_H
#define EFFC_COMPILER_LORA_PYREGEX_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace effc::lora {

/// Module names longer than this are never matched: libstdc++'s matcher
/// recurses per character and would overflow the stack on very long inputs.
/// Real module names are far shorter.
constexpr size_t kMaxRegexSubjectLength = 1024;

class PyRegex {
public:
  /// Errors name the pattern and say what is wrong with it.
  static llvm::Expected<PyRegex> compile(llvm::StringRef pattern);

  /// Python's re.fullmatch(pattern, s).
  bool fullMatch(llvm::StringRef s) const;

  /// Python's re.match(pattern, s) (anchored at the start, may end early);
  /// on a match, `group1` receives the text of the first capture group.
  bool matchPrefix(llvm::StringRef s, std::string *group1 = nullptr) const;

  const std::string &pattern() const { return pattern_; }

private:
  struct Impl;
  PyRegex(std::string pattern, std::shared_ptr<const Impl> impl)
      : pattern_(std::move(pattern)), impl_(std::move(impl)) {}

  std::string pattern_;
  std::shared_ptr<const Impl> impl_;
};

} // namespace effc::lora

#endif

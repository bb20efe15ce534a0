//===- PyRegex.cpp - the Python `re` patterns of adapter_config.json ------===//
//
// std::regex reports a bad pattern only by throwing std::regex_error, so this
// file is compiled with -fexceptions and is the one place effc catches: every
// exception is turned into an llvm::Error or a failed match right here.
//
#include "compiler/lora/PyRegex.h"

#include <regex>

namespace effc::lora {

struct PyRegex::Impl {
  std::regex re;
};

llvm::Expected<PyRegex> PyRegex::compile(llvm::StringRef pattern) {
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

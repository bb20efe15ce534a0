//===- Json.cpp - llvm::json parsing that cannot overflow the stack -------===//
#include "compiler/lora/Json.h"

namespace effc::lora {

llvm::Expected<llvm::json::Value> parseJsonBounded(llvm::StringRef text) {
  unsigned depth = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                       "JSON nested deeper than %u levels", kMaxJsonDepth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return llvm::json::parse(text);
}

} // namespace effc::lora

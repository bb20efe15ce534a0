//===- Json.h - llvm::json parsing that cannot overflow the stack -*- C++ -*-===//
//
// llvm::json::parse recurses once per nesting level, so a header of a million
// '[' bytes crashes it. Adapter files are untrusted input: their nesting depth
// is checked first.
//
#ifndef EFFC_COMPILER_LORA_JSON_H
#define EFFC_COMPILER_LORA_JSON_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace effc::lora {

/// Deeper than any adapter_config.json or safetensors header.
constexpr unsigned kMaxJsonDepth = 64;

/// llvm::json::parse after checking that arrays and objects nest at most
/// kMaxJsonDepth deep. Duplicate object keys keep the last value, as Python's
/// json module does.
llvm::Expected<llvm::json::Value> parseJsonBounded(llvm::StringRef text);

} // namespace effc::lora

#endif

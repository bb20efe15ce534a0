//===- AttentionTemplates.h - internals of the attention generators -*- C++ -*-===//
//
// The config-struct writer the forward, decode and reference emitters share
// (the device templates are compiler/codegen/device/attention_*.cuh). Not a
// public interface: FlashAttention.h is.
//
#ifndef EFFC_COMPILER_CODEGEN_ATTENTION_ATTENTIONTEMPLATES_H
#define EFFC_COMPILER_CODEGEN_ATTENTION_ATTENTIONTEMPLATES_H

#include "compiler/codegen/attention/FlashAttention.h"

#include <string>

namespace effc::codegen {

/// `static constexpr` members every attention config struct has: element
/// types, shapes, strides, mask and scale (names as the templates use them).
std::string attentionConfigCommon(const AttentionSpec &spec);

/// The ABI parameter list "(const void* in0, ..., void* out0[, void* out1])".
std::string attentionParams(const AttentionSpec &spec, bool workspace);
/// The mask argument the wrapper passes: "in3" or "nullptr".
std::string attentionMaskArg(const AttentionSpec &spec);

} // namespace effc::codegen

#endif

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

/// With runtime extents: `RUNTIME_DIMS` and the static extents(effc_dims)
/// giving this run's effc_attn::attn_ext (device/attention_common.cuh).
std::string attentionRuntimeConfig(const AttentionRuntimeExtents &rt);

/// The ABI parameter list "(const void* in0, ..., void* out0[, void* out1]
/// [, const long long* effc_dims])" (the last with runtime extents).
std::string attentionParams(const AttentionSpec &spec, bool workspace, bool runtimeDims = false);
/// The mask argument the wrapper passes: "in3" or "nullptr".
std::string attentionMaskArg(const AttentionSpec &spec);

} // namespace effc::codegen

#endif

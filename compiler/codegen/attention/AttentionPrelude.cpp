//===- AttentionPrelude.cpp - device code of the attention kernels --------===//
//
// The attention templates live in compiler/codegen/device/attention_*.cuh
// (embedded at build time); a kernel is a config struct plus an EFFC_KERNEL
// wrapper instantiating one of them (FlashAttention.cpp, FlashDecode.cpp).
//
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/device/DeviceCode.h"

namespace effc::codegen {

std::string attentionPrelude() {
  return deviceSources(
      {"primitives.cuh", "attention_common.cuh", "attention_forward.cuh", "attention_decode.cuh"});
}

} // namespace effc::codegen

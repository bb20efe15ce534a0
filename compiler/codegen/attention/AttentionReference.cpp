//===- AttentionReference.cpp - naive fp32 attention for checking ---------===//
//
// The kernel body is device/attention_reference.cuh: one 128-thread block
// per query row, fp32 and expf everywhere (the host backend's semantics).
//
#include "compiler/codegen/attention/AttentionTemplates.h"
#include "compiler/codegen/attention/FlashAttention.h"
#include "compiler/codegen/device/DeviceCode.h"

namespace effc::codegen {

std::string emitAttentionReference(const AttentionSpec &spec, const std::string &name,
                                   LaunchDims *launch) {
  if (!flashAttentionUnsupported(spec).empty())
    return "";
  const AttentionSpec sp = resolveAttentionStrides(spec);
  const std::string cfg = "effc_attn_cfg_" + name;
  // The template comes with the kernel (include-guarded): callers put
  // attentionPrelude() before it, as for every attention kernel.
  std::string s = std::string(deviceFile("attention_reference.cuh"));
  s += "struct " + cfg + " {\n" + attentionConfigCommon(sp) + "};\n";
  s += "EFFC_KERNEL void __launch_bounds__(128) " + name +
       "(const void* qv, const void* kv, const void* vv, const void* mv, float* out, int rowBegin) "
       "{\n";
  s += "  effc_attn::attention_reference<" + cfg + ">(qv, kv, vv, mv, out, rowBegin);\n}\n";
  if (launch) {
    *launch = LaunchDims();
    launch->grid[0] = uint32_t(sp.B * sp.Hq * sp.S);
    launch->block[0] = 128;
    launch->sharedBytes = uint32_t((sp.L + sp.D + 32) * 4);
  }
  return s;
}

} // namespace effc::codegen

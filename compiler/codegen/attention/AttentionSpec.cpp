//===- AttentionSpec.cpp - an AttentionSpec from operand shapes -----------===//
//
// One place that turns eff.attention's operands into the generators' spec:
// the CUDA emitters (from a KernelDesc) and eff-split-kv-decode (from MLIR
// types, to ask the decode heuristic) must agree on it.
//
#include "compiler/codegen/attention/FlashAttention.h"

namespace effc::codegen {

AttentionSpec packedAttentionSpec(DType dtype, const std::vector<int64_t> &q, const std::vector<int64_t> &k,
                                  const std::vector<int64_t> &v, DType maskDType,
                                  const std::vector<int64_t> &maskShape) {
  AttentionSpec spec;
  spec.B = q[0], spec.Hq = q[1], spec.S = q[2], spec.D = q[3];
  spec.Hkv = k[1], spec.L = k[2], spec.Dv = v[3];
  spec.dtype = dtype;
  spec.sm = 80;
  if (maskDType != DType::UNDEFINED) {
    spec.mask = maskDType == DType::BOOL ? AttentionMask::Bool : AttentionMask::Additive;
    spec.maskDType = maskDType;
    // Row-major strides of the mask, 0 where it broadcasts (size-1 or missing dims).
    const size_t off = 4 - maskShape.size();
    int64_t stride = 1;
    for (size_t d = maskShape.size(); d-- > 0;) {
      spec.maskStrides[off + d] = maskShape[d] == 1 ? 0 : stride;
      stride *= maskShape[d];
    }
  }
  return spec;
}

} // namespace effc::codegen

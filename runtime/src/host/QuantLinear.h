// eff.quant_linear's schemes and code books for the host reference kernel
// and the CUDA emitter (dialects/eff/ops/QuantOps.td defines the op). The
// numbers and tables come from compiler/codegen/device/quant_defs.cuh, which
// the CUDA kernels concatenate too: one definition for both.
#pragma once

#include "quant_defs.cuh"

#include <cstdint>
#include <cstring>

namespace effc::host {

enum class QuantScheme : int64_t {
  Int4 = QL_INT4,
  Int8 = QL_INT8,
  NF4 = QL_NF4,
  FP4 = QL_FP4,
  DynamicInt8 = QL_DYNAMIC_INT8,
  LLMInt8 = QL_LLM_INT8,
};
inline constexpr int64_t kQuantSchemeCount = QL_SCHEME_COUNT;
enum class QuantLayout : int64_t { NBlocks = QL_LAYOUT_NBLOCKS, BnbFlat = QL_LAYOUT_BNB_FLAT };

/// bitsandbytes' NormalFloat-4 and FP4 code books (the device kernels read
/// the same definition).
inline constexpr float kNF4CodeBook[16] = QL_NF4_CODEBOOK;
inline constexpr float kFP4CodeBook[16] = QL_FP4_CODEBOOK;
/// bitsandbytes' 8-bit dynamic map, the code book of double quantization.
inline constexpr float kDynamicMap8[256] = QL_DYNAMIC_MAP8;

/// Bytes of a double-quantized scales operand for `blocks` absmaxes
/// (quant_defs.cuh: indices, padding, fp32 group scales, fp32 offset).
inline constexpr int64_t dqScaleBytes(int64_t blocks) { return QL_DQ_BYTES(blocks); }
/// Absmax `i` of a double-quantized scales operand of `blocks` absmaxes:
/// map[idx[i]] * scale[i / 256] + offset (the kernels round the product
/// before the sum too: __fmul_rn).
inline float dqAbsmax(const uint8_t *scales, int64_t blocks, int64_t i) {
  float groupScale, offset;
  const uint8_t *f = scales + QL_DQ_PAD(blocks);
  std::memcpy(&groupScale, f + 4 * (i / QL_DQ_GROUP), 4);
  std::memcpy(&offset, f + 4 * QL_DQ_GROUPS(blocks), 4);
  return kDynamicMap8[scales[i]] * groupScale + offset;
}

/// The parameters of ONNX DynamicQuantizeLinear (uint8, per tensor) for a
/// tensor whose values lie in [lo, hi].
struct DynamicQuantParams {
  float scale;
  int32_t zeroPoint;
};
DynamicQuantParams dynamicQuantParams(float lo, float hi);
/// One value quantized with those parameters (round half to even, clamped).
int32_t dynamicQuantize(float x, const DynamicQuantParams &p);

} // namespace effc::host

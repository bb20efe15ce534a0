// eff.quant_linear's schemes and code books, shared by the host reference
// kernel and the CUDA emitter (dialects/eff/ops/QuantOps.td defines the op;
// its QuantScheme/QuantLayout enums have these numbers, which artifacts
// store).
#pragma once

#include <cstdint>

namespace effc::host {

enum class QuantScheme : int64_t { Int4 = 0, Int8 = 1, NF4 = 2, FP4 = 3, DynamicInt8 = 4 };
enum class QuantLayout : int64_t { NBlocks = 0, BnbFlat = 1 };

/// bitsandbytes' NormalFloat-4 code book (QLoRA, bitsandbytes functional.py).
inline constexpr float kNF4CodeBook[16] = {-1.0f,
                                           -0.6961928009986877f,
                                           -0.5250730514526367f,
                                           -0.39491748809814453f,
                                           -0.28444138169288635f,
                                           -0.18477343022823334f,
                                           -0.09105003625154495f,
                                           0.0f,
                                           0.07958029955625534f,
                                           0.16093020141124725f,
                                           0.24611230194568634f,
                                           0.33791524171829224f,
                                           0.44070982933044434f,
                                           0.5626170039176941f,
                                           0.7229568362236023f,
                                           1.0f};

/// bitsandbytes' FP4 code book: sign bit 3, then 8 magnitudes.
inline constexpr float kFP4CodeBook[16] = {
    0.0f,  0.005208333333f,  0.66666667f,  1.0f,  0.33333333f,  0.5f,  0.16666667f,  0.25f,
    -0.0f, -0.005208333333f, -0.66666667f, -1.0f, -0.33333333f, -0.5f, -0.16666667f, -0.25f};

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

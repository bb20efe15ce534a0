//===- WeightQuantizer.h - weight-only quantization math --------*- C++ -*-===//
//
// What eff-quantize-weights computes for one constant weight W [K, N] (the
// layouts eff.quant_linear reads; dialects/eff/ops/QuantOps.td):
//   int8  symmetric, per output channel (block 0) or per block of K:
//         s = absmax / 127, code = round(w / s) + 128 (zero point 128
//         implied), layout n_kblocks.
//   nf4   QLoRA NormalFloat-4 as bitsandbytes packs it: W^T flattened, blocks
//         of `block` values, absmax per block, nearest code book value,
//         first code in the high nibble, layout bnb_flat. With double
//         quantization the absmaxes are themselves quantized the bitsandbytes
//         way (minus their mean, 8-bit dynamic map, blocks of 256, one fp32
//         scale per block) and stored so (quant_defs.cuh's QL_DQ bytes: an
//         8-bit index per absmax, the fp32 group scales and the offset;
//         eff.quant_linear's double_quant), so the numbers are bitsandbytes'
//         and so is the storage (0.125 bit per weight for the absmaxes
//         instead of 0.5 with fp32 at block 64).
// MLIR-free: the pass wraps it, the unit tests check it alone.
//
//===----------------------------------------------------------------------===//
#ifndef EFFC_COMPILER_QUANT_WEIGHTQUANTIZER_H
#define EFFC_COMPILER_QUANT_WEIGHTQUANTIZER_H

#include <array>
#include <cstdint>
#include <vector>

namespace effc::quant {

/// Packed codes and per-block scales with their shapes, as eff.quant_linear
/// takes them.
struct PackedWeight {
  std::vector<uint8_t> codes;
  std::vector<int64_t> codesShape;
  std::vector<float> scales;        // empty with double quantization
  std::vector<uint8_t> scaleBytes;  // double quantization: the QL_DQ bytes
  std::vector<int64_t> scalesShape; // of scales or scaleBytes
  int64_t blockSize = 0;
};

/// int8, symmetric. `w` is [K, N] row-major; block 0 = one block of K per
/// output channel.
PackedWeight quantizeInt8(const float *w, int64_t K, int64_t N, int64_t block);

/// NF4 in bitsandbytes' flat layout (block 64 in QLoRA).
PackedWeight quantizeNF4(const float *w, int64_t K, int64_t N, int64_t block, bool doubleQuant);

/// bitsandbytes' signed 8-bit dynamic map (create_dynamic_map: 7 exponent
/// bits), sorted: the code book of double quantization.
const std::array<float, 256> &dynamicMap8();

/// bitsandbytes' double quantization of `values` (absmaxes) in quant_defs.cuh's
/// QL_DQ layout: minus their mean, per group of 256 the absmax and each
/// value's nearest map entry (/ that absmax), then the group absmaxes and the
/// mean as fp32.
std::vector<uint8_t> doubleQuantizeBytes(const std::vector<float> &values);
/// The values those bytes decode to (host::dqAbsmax).
std::vector<float> doubleQuantize(const std::vector<float> &values);

/// Index of the code book entry nearest to x (the lower one on a tie).
int nearestCode(const float *book, int size, float x);

} // namespace effc::quant

#endif

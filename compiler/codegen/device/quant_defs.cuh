//===- quant_defs.cuh - eff.quant_linear's numbers and code books ---------===//
//
// The one definition of what the host reference (runtime/src/host/
// QuantLinear.h) and the CUDA kernels (quant_linear.cuh) share: the scheme
// and layout numbers that artifacts store (ODS, dialects/eff/ops/QuantOps.td,
// spells them again as enum cases; QuantLinearEmitter.cpp static_asserts
// that they agree) and bitsandbytes' 4-bit code books. Plain preprocessor
// text, so it is valid C++ and CUDA: the host spells the tables
// `constexpr float x[16] = QL_NF4_CODEBOOK`, the device `__constant__`.
//
#ifndef EFFC_DEVICE_QUANT_DEFS_CUH
#define EFFC_DEVICE_QUANT_DEFS_CUH

// eff.quant_linear schemes.
#define QL_INT4 0
#define QL_INT8 1
#define QL_NF4 2
#define QL_FP4 3
#define QL_DYNAMIC_INT8 4
#define QL_LLM_INT8 5
#define QL_SCHEME_COUNT 6

// eff.quant_linear layouts.
#define QL_LAYOUT_NBLOCKS 0
#define QL_LAYOUT_BNB_FLAT 1

// bitsandbytes' NormalFloat-4 code book (QLoRA; bitsandbytes functional.py).
#define QL_NF4_CODEBOOK                                                                            \
  {-1.0f,                                                                                          \
   -0.6961928009986877f,                                                                           \
   -0.5250730514526367f,                                                                           \
   -0.39491748809814453f,                                                                          \
   -0.28444138169288635f,                                                                          \
   -0.18477343022823334f,                                                                          \
   -0.09105003625154495f,                                                                          \
   0.0f,                                                                                           \
   0.07958029955625534f,                                                                           \
   0.16093020141124725f,                                                                           \
   0.24611230194568634f,                                                                           \
   0.33791524171829224f,                                                                           \
   0.44070982933044434f,                                                                           \
   0.5626170039176941f,                                                                            \
   0.7229568362236023f,                                                                            \
   1.0f}

// bitsandbytes' FP4 code book: sign bit 3, then 8 magnitudes.
#define QL_FP4_CODEBOOK                                                                            \
  {0.0f,  0.005208333333f,  0.66666667f,  1.0f,  0.33333333f,  0.5f,  0.16666667f,  0.25f,         \
   -0.0f, -0.005208333333f, -0.66666667f, -1.0f, -0.33333333f, -0.5f, -0.16666667f, -0.25f}

#endif // EFFC_DEVICE_QUANT_DEFS_CUH

//===- quant_defs.cuh - eff.quant_linear's numbers and code books ---------===//
//
// The one definition of what the host reference (runtime/src/host/
// QuantLinear.h) and the CUDA kernels (quant_linear.cuh) share: the scheme
// and layout numbers that artifacts store (ODS, dialects/eff/ops/QuantOps.td,
// spells them again as enum cases; QuantLinearEmitter.cpp static_asserts
// that they agree), bitsandbytes' 4-bit code books and the double
// quantization map and layout. Plain preprocessor
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

// bitsandbytes' signed 8-bit dynamic map (create_dynamic_map(signed=True,
// max_exponent_bits=7, total_bits=8), sorted): the code book of double
// quantization, which stores each nf4/fp4 block's absmax as an 8-bit index
// into it (blocks of 256 absmaxes, minus their mean, scaled by the block's
// absmax). The unit test WeightQuantizer.DynamicMapIsBitsandbytes rebuilds it
// from bitsandbytes' construction.
#define QL_DYNAMIC_MAP8                                                                            \
  {-9.929687381e-01f, -9.789062738e-01f, -9.648437500e-01f, -9.507812262e-01f, -9.367187619e-01f,  \
   -9.226562381e-01f, -9.085937738e-01f, -8.945312500e-01f, -8.804687262e-01f, -8.664062619e-01f,  \
   -8.523437381e-01f, -8.382812738e-01f, -8.242187500e-01f, -8.101562262e-01f, -7.960937619e-01f,  \
   -7.820312381e-01f, -7.679687738e-01f, -7.539062500e-01f, -7.398437262e-01f, -7.257812619e-01f,  \
   -7.117187977e-01f, -6.976562738e-01f, -6.835937500e-01f, -6.695312262e-01f, -6.554687619e-01f,  \
   -6.414062977e-01f, -6.273437738e-01f, -6.132812500e-01f, -5.992187262e-01f, -5.851562619e-01f,  \
   -5.710937381e-01f, -5.570312738e-01f, -5.429687500e-01f, -5.289062262e-01f, -5.148437619e-01f,  \
   -5.007812381e-01f, -4.867187142e-01f, -4.726562500e-01f, -4.585937262e-01f, -4.445312321e-01f,  \
   -4.304687381e-01f, -4.164062142e-01f, -4.023437500e-01f, -3.882812262e-01f, -3.742187619e-01f,  \
   -3.601562381e-01f, -3.460937142e-01f, -3.320312500e-01f, -3.179687262e-01f, -3.039062619e-01f,  \
   -2.898437381e-01f, -2.757812440e-01f, -2.617187500e-01f, -2.476562411e-01f, -2.335937470e-01f,  \
   -2.195312530e-01f, -2.054687440e-01f, -1.914062500e-01f, -1.773437411e-01f, -1.632812470e-01f,  \
   -1.492187530e-01f, -1.351562440e-01f, -1.210937500e-01f, -1.070312560e-01f, -9.859374911e-02f,  \
   -9.578125924e-02f, -9.296875447e-02f, -9.015624970e-02f, -8.734375238e-02f, -8.453124762e-02f,  \
   -8.171875775e-02f, -7.890625298e-02f, -7.609374821e-02f, -7.328125089e-02f, -7.046874613e-02f,  \
   -6.765625626e-02f, -6.484375149e-02f, -6.203125045e-02f, -5.921875313e-02f, -5.640624836e-02f,  \
   -5.359375477e-02f, -5.078125000e-02f, -4.796874896e-02f, -4.515624791e-02f, -4.234374687e-02f,  \
   -3.953124955e-02f, -3.671875224e-02f, -3.390624747e-02f, -3.109375015e-02f, -2.828124724e-02f,  \
   -2.546874993e-02f, -2.265625075e-02f, -1.984374970e-02f, -1.703125052e-02f, -1.421875041e-02f,  \
   -1.140625030e-02f, -9.718749672e-03f, -9.156249464e-03f, -8.593750186e-03f, -8.031249978e-03f,  \
   -7.468749769e-03f, -6.906250026e-03f, -6.343749817e-03f, -5.781250075e-03f, -5.218750332e-03f,  \
   -4.656249657e-03f, -4.093749914e-03f, -3.531249706e-03f, -2.968749963e-03f, -2.406249987e-03f,  \
   -1.843750011e-03f, -1.281249919e-03f, -9.437500848e-04f, -8.312499849e-04f, -7.187500596e-04f,  \
   -6.062500761e-04f, -4.937499762e-04f, -3.812499926e-04f, -2.687500382e-04f, -1.562500111e-04f,  \
   -8.874999912e-05f, -6.625000242e-05f, -4.374999844e-05f, -2.124999810e-05f, -7.749999895e-06f,  \
   -3.250000191e-06f, -5.500000384e-07f, 0.000000000e+00f,  5.500000384e-07f,  3.250000191e-06f,   \
   7.749999895e-06f,  2.124999810e-05f,  4.374999844e-05f,  6.625000242e-05f,  8.874999912e-05f,   \
   1.562500111e-04f,  2.687500382e-04f,  3.812499926e-04f,  4.937499762e-04f,  6.062500761e-04f,   \
   7.187500596e-04f,  8.312499849e-04f,  9.437500848e-04f,  1.281249919e-03f,  1.843750011e-03f,   \
   2.406249987e-03f,  2.968749963e-03f,  3.531249706e-03f,  4.093749914e-03f,  4.656249657e-03f,   \
   5.218750332e-03f,  5.781250075e-03f,  6.343749817e-03f,  6.906250026e-03f,  7.468749769e-03f,   \
   8.031249978e-03f,  8.593750186e-03f,  9.156249464e-03f,  9.718749672e-03f,  1.140625030e-02f,   \
   1.421875041e-02f,  1.703125052e-02f,  1.984374970e-02f,  2.265625075e-02f,  2.546874993e-02f,   \
   2.828124724e-02f,  3.109375015e-02f,  3.390624747e-02f,  3.671875224e-02f,  3.953124955e-02f,   \
   4.234374687e-02f,  4.515624791e-02f,  4.796874896e-02f,  5.078125000e-02f,  5.359375477e-02f,   \
   5.640624836e-02f,  5.921875313e-02f,  6.203125045e-02f,  6.484375149e-02f,  6.765625626e-02f,   \
   7.046874613e-02f,  7.328125089e-02f,  7.609374821e-02f,  7.890625298e-02f,  8.171875775e-02f,   \
   8.453124762e-02f,  8.734375238e-02f,  9.015624970e-02f,  9.296875447e-02f,  9.578125924e-02f,   \
   9.859374911e-02f,  1.070312560e-01f,  1.210937500e-01f,  1.351562440e-01f,  1.492187530e-01f,   \
   1.632812470e-01f,  1.773437411e-01f,  1.914062500e-01f,  2.054687440e-01f,  2.195312530e-01f,   \
   2.335937470e-01f,  2.476562411e-01f,  2.617187500e-01f,  2.757812440e-01f,  2.898437381e-01f,   \
   3.039062619e-01f,  3.179687262e-01f,  3.320312500e-01f,  3.460937142e-01f,  3.601562381e-01f,   \
   3.742187619e-01f,  3.882812262e-01f,  4.023437500e-01f,  4.164062142e-01f,  4.304687381e-01f,   \
   4.445312321e-01f,  4.585937262e-01f,  4.726562500e-01f,  4.867187142e-01f,  5.007812381e-01f,   \
   5.148437619e-01f,  5.289062262e-01f,  5.429687500e-01f,  5.570312738e-01f,  5.710937381e-01f,   \
   5.851562619e-01f,  5.992187262e-01f,  6.132812500e-01f,  6.273437738e-01f,  6.414062977e-01f,   \
   6.554687619e-01f,  6.695312262e-01f,  6.835937500e-01f,  6.976562738e-01f,  7.117187977e-01f,   \
   7.257812619e-01f,  7.398437262e-01f,  7.539062500e-01f,  7.679687738e-01f,  7.820312381e-01f,   \
   7.960937619e-01f,  8.101562262e-01f,  8.242187500e-01f,  8.382812738e-01f,  8.523437381e-01f,   \
   8.664062619e-01f,  8.804687262e-01f,  8.945312500e-01f,  9.085937738e-01f,  9.226562381e-01f,   \
   9.367187619e-01f,  9.507812262e-01f,  9.648437500e-01f,  9.789062738e-01f,  9.929687381e-01f,   \
   1.000000000e+00f}

// Double quantization's scales operand (ui8, attribute double_quant): for
// B = ceil(N * K / block_size) blocks, G = ceil(B / 256) groups and P = B
// rounded up to a multiple of 4, bytes [0, B) hold the absmaxes' map indices,
// bytes [P, P + 4 G) one fp32 scale per group of 256 absmaxes and bytes
// [P + 4 G, P + 4 G + 4) the fp32 mean (offset); absmax[b] =
// map[idx[b]] * scale[b / 256] + offset, rounded after the product.
#define QL_DQ_GROUP 256
#define QL_DQ_PAD(B) (((B) + 3) / 4 * 4)
#define QL_DQ_GROUPS(B) (((B) + QL_DQ_GROUP - 1) / QL_DQ_GROUP)
#define QL_DQ_BYTES(B) (QL_DQ_PAD(B) + 4 * (QL_DQ_GROUPS(B) + 1))

#endif // EFFC_DEVICE_QUANT_DEFS_CUH

// eff.quant_linear's verifier: packed sizes follow from scheme, block_size,
// K and N; every disagreement names the operand and its expected shape.
// RUN: effc-opt %s -split-input-file -verify-diagnostics

func.func @weight_blocks(%a: tensor<2x64xf32>, %w: tensor<16x1x16xui8>, %s: tensor<16x2xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{weight must be [16, 2, 16] ([N, ceil(K / block_size), block_size * 4 / 8] for int4), got [16, 1, 16]}}
  %y = eff.quant_linear int4 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x64xf32>, tensor<16x1x16xui8>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// K = 40 is not a multiple of the block: 2 blocks, the last one half empty.
func.func @scales_partial_block(%a: tensor<2x40xf32>, %w: tensor<16x2x32xui8>, %s: tensor<16x1xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{scales must be [16, 2] (one per column n and block of 32 along K = 40), got [16, 1]}}
  %y = eff.quant_linear int8 n_kblocks(%a, %w, %s) {K = 40 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x40xf32>, tensor<16x2x32xui8>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @zero_points(%a: tensor<2x64xf32>, %w: tensor<16x2x16xui8>, %s: tensor<16x2xf32>, %z: tensor<16x1xui8>) -> tensor<2x16xf32> {
  // expected-error @+1 {{zero_points must be [16, 2]}}
  %y = eff.quant_linear int4 n_kblocks(%a, %w, %s, %z) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x64xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>, tensor<16x1xui8>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bnb_weight(%a: tensor<2x64xf32>, %w: tensor<500xui8>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{weight must be [512] (N * K = 1024 codes, two per byte), got [500]}}
  %y = eff.quant_linear nf4 bnb_flat(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<2x64xf32>, tensor<500xui8>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bnb_absmax(%a: tensor<2x64xf32>, %w: tensor<512xui8>, %s: tensor<8xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{scales must be [16] (one absmax per block of 64 of N * K = 1024), got [8]}}
  %y = eff.quant_linear fp4 bnb_flat(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<2x64xf32>, tensor<512xui8>, tensor<8xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @layout(%a: tensor<2x64xf32>, %w: tensor<512xui8>, %s: tensor<16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{scheme nf4 needs layout bnb_flat, got n_kblocks}}
  %y = eff.quant_linear nf4 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<2x64xf32>, tensor<512xui8>, tensor<16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @dynamic_blocks(%a: tensor<2x64xf32>, %w: tensor<16x2x32xui8>, %s: tensor<16x2xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{dynamic_int8 sums all of K in int32 with one scale per column: block_size must be >= K = 64, got 32}}
  %y = eff.quant_linear dynamic_int8 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x64xf32>, tensor<16x2x32xui8>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @odd_int4_block(%a: tensor<2x63xf32>, %w: tensor<16x1x31xui8>, %s: tensor<16x1xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{4-bit blocks pack two codes per byte: block_size must be even, got 63}}
  %y = eff.quant_linear int4 n_kblocks(%a, %w, %s) {K = 63 : i64, N = 16 : i64, block_size = 63 : i64} : (tensor<2x63xf32>, tensor<16x1x31xui8>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @a_k(%a: tensor<2x32xf32>, %w: tensor<16x2x16xui8>, %s: tensor<16x2xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{a must be [..., K] with K = 64, got [2, 32]}}
  %y = eff.quant_linear int4 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x32xf32>, tensor<16x2x16xui8>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @bnb_zero_points(%a: tensor<2x64xf32>, %w: tensor<512xui8>, %s: tensor<16xf32>, %z: tensor<16xui8>) -> tensor<2x16xf32> {
  // expected-error @+1 {{nf4 has no zero points}}
  %y = eff.quant_linear nf4 bnb_flat(%a, %w, %s, %z) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<2x64xf32>, tensor<512xui8>, tensor<16xf32>, tensor<16xui8>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// llm_int8 is vector-wise: one scale per column, all of K in one block.
func.func @llm_int8_blocks(%a: tensor<2x64xf32>, %w: tensor<16x2x32xui8>, %s: tensor<16x2xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{llm_int8 has one scale per column (vector-wise): block_size must be >= K = 64, got 32}}
  %y = eff.quant_linear llm_int8 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 32 : i64} : (tensor<2x64xf32>, tensor<16x2x32xui8>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @llm_int8_zero_points(%a: tensor<2x64xf32>, %w: tensor<16x1x64xui8>, %s: tensor<16x1xf32>, %z: tensor<16x1xui8>) -> tensor<2x16xf32> {
  // expected-error @+1 {{llm_int8 weights are symmetric (code - 128): no zero_points}}
  %y = eff.quant_linear llm_int8 n_kblocks(%a, %w, %s, %z) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64} : (tensor<2x64xf32>, tensor<16x1x64xui8>, tensor<16x1xf32>, tensor<16x1xui8>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @llm_int8_threshold(%a: tensor<2x64xf32>, %w: tensor<16x1x64xui8>, %s: tensor<16x1xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{llm_int8 threshold must be a positive finite number, got 0}}
  %y = eff.quant_linear llm_int8 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64, threshold = 0.0 : f32} : (tensor<2x64xf32>, tensor<16x1x64xui8>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// Double-quantized absmaxes: 32 blocks of 64 -> 32 index bytes, one group
// scale and the offset: 32 + 4 * 2 = 40 bytes.
func.func @double_quant_bytes(%a: tensor<2x64xf32>, %w: tensor<1024xui8>, %s: tensor<36xui8>) -> tensor<2x32xf32> {
  // expected-error @+1 {{scales must be [40] (bytes of double-quantized absmaxes, one per block of 64 of N * K = 2048), got [36]}}
  %y = eff.quant_linear nf4 bnb_flat(%a, %w, %s) {K = 64 : i64, N = 32 : i64, block_size = 64 : i64, double_quant} : (tensor<2x64xf32>, tensor<1024xui8>, tensor<36xui8>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @double_quant_float_scales(%a: tensor<2x64xf32>, %w: tensor<1024xui8>, %s: tensor<32xf32>) -> tensor<2x32xf32> {
  // expected-error @+1 {{scales must be ui8 (double_quant: 8-bit absmaxes, their scales and offset), got 'f32'}}
  %y = eff.quant_linear nf4 bnb_flat(%a, %w, %s) {K = 64 : i64, N = 32 : i64, block_size = 64 : i64, double_quant} : (tensor<2x64xf32>, tensor<1024xui8>, tensor<32xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @byte_scales_without_double_quant(%a: tensor<2x64xf32>, %w: tensor<1024xui8>, %s: tensor<32xui8>) -> tensor<2x32xf32> {
  // expected-error @+1 {{scales must be a float tensor (ui8 only with double_quant), got 'ui8'}}
  %y = eff.quant_linear nf4 bnb_flat(%a, %w, %s) {K = 64 : i64, N = 32 : i64, block_size = 64 : i64} : (tensor<2x64xf32>, tensor<1024xui8>, tensor<32xui8>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// -----

func.func @double_quant_int8(%a: tensor<2x64xf32>, %w: tensor<16x1x64xui8>, %s: tensor<16x1xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{double_quant is an nf4/fp4 option, got scheme int8}}
  %y = eff.quant_linear int8 n_kblocks(%a, %w, %s) {K = 64 : i64, N = 16 : i64, block_size = 64 : i64, double_quant} : (tensor<2x64xf32>, tensor<16x1x64xui8>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// eff-quantize-weights on hand-computed weights: int8 per output channel
// (codes round(127 w / absmax) + 128, an all-zero channel keeps scale 1), a
// Gemm with transB and a bias (the weight read as [N, K], the bias an add
// after the op), and nf4 in bitsandbytes' flat layout (W^T flattened, high
// nibble first, absmax per block). Activation x activation matmuls are not
// linear layers and stay.
// RUN: effc-opt %s --eff-quantize-weights="scheme=int8 remarks=true" -split-input-file -verify-diagnostics | FileCheck %s
// RUN: effc-opt %s --eff-quantize-weights="scheme=nf4 block-size=4" -split-input-file | FileCheck %s --check-prefix=NF4
// RUN: effc-opt %s --eff-quantize-weights="scheme=nf4 block-size=4 double-quant=true" -split-input-file | FileCheck %s --check-prefix=NF4D

// CHECK-LABEL: func.func @matmul
// CHECK: %[[CODES:.*]] = eff.constant {value = dense<{{\[\[\[}}255, 64, 160, 128]], {{\[\[}}128, 128, 128, 128]]]> : tensor<2x1x4xui8>}
// CHECK: %[[SCALES:.*]] = eff.constant {value = dense<{{\[\[}}0.00787401571], [1.000000e+00]]> : tensor<2x1xf32>}
// CHECK: %[[Y:.*]] = eff.quant_linear int8 n_kblocks(%arg0, %[[CODES]], %[[SCALES]]) {K = 4 : i64, N = 2 : i64, block_size = 4 : i64}
// CHECK: eff.matmul %[[Y]], %arg1
// NF4-LABEL: func.func @matmul
// W^T = [1, -0.5, 0.25, 0 | 0, 0, 0, 0], blocks of 4: block 0 (absmax 1) codes
// 15, 2 (-0.5251), 10 (0.2461), 7 (0) -> bytes 0xF2, 0xA7; block 1 (absmax 0)
// all code 7 (0) -> 0x77 0x77.
// NF4: eff.constant {value = dense<[242, 167, 119, 119]> : tensor<4xui8>}
// NF4: eff.constant {value = dense<[1.000000e+00, 0.000000e+00]> : tensor<2xf32>}
// NF4: eff.quant_linear nf4 bnb_flat
// Double quantization stores the absmaxes [1, 0] as bytes (quant_defs.cuh):
// minus their mean 0.5, over their group absmax 0.5: [1, -1] -> dynamic map
// indices 255 (1.0) and 0 (-0.993), padding to 4 bytes, the group scale 0.5
// and the offset 0.5 as fp32 (0x3F000000); the codes are nf4's.
// NF4D-LABEL: func.func @matmul
// NF4D: eff.constant {value = dense<[242, 167, 119, 119]> : tensor<4xui8>}
// NF4D: eff.constant {value = dense<[255, 0, 0, 0, 0, 0, 0, 63, 0, 0, 0, 63]> : tensor<12xui8>}
// NF4D: eff.quant_linear nf4 bnb_flat({{.*}}) {K = 4 : i64, N = 2 : i64, block_size = 4 : i64, double_quant}
func.func @matmul(%x: tensor<2x4xf32>, %z: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = eff.constant {value = dense<[[1.0, 0.0], [-0.5, 0.0], [0.25, 0.0], [0.0, 0.0]]> : tensor<4x2xf32>} : tensor<4x2xf32>
  // expected-remark @+1 {{quantized to int8 (per channel, K=4 N=2): 0.00 MiB -> 0.00 MiB}}
  %y = eff.matmul %x, %w : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x2xf32>
  %a = eff.matmul %y, %z : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y, %a : tensor<2x2xf32>, tensor<2x2xf32>
}
// expected-remark @-7 {{quantized 1 linear layers to int8: weights 0.00 MiB -> 0.00 MiB}}

// -----

// CHECK-LABEL: func.func @gemm
// CHECK: %[[B:.*]] = eff.constant {value = dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>}
// CHECK: %[[CODES:.*]] = eff.constant {value = dense<{{\[\[\[}}255, 64, 160, 128]], {{\[\[}}255, 128, 128, 128]]]> : tensor<2x1x4xui8>}
// CHECK: %[[Q:.*]] = eff.quant_linear int8 n_kblocks(%arg0, %[[CODES]], %{{.*}})
// CHECK: eff.add %[[Q]], %[[B]] : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NOT: eff.gemm
func.func @gemm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = eff.constant {value = dense<[[1.0, -0.5, 0.25, 0.0], [2.0, 0.0, 0.0, 0.0]]> : tensor<2x4xf32>} : tensor<2x4xf32>
  %b = eff.constant {value = dense<[0.5, -1.0]> : tensor<2xf32>} : tensor<2xf32>
  // expected-remark @+1 {{quantized to int8 (per channel, K=4 N=2)}}
  %y = eff.gemm %x, %w, %b {transB = 1 : i64} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// expected-remark @-7 {{quantized 1 linear layers to int8}}

// -----

// A Gemm with alpha != 1 keeps its weight, with the reason.
// CHECK-LABEL: func.func @scaled_gemm
// CHECK: eff.gemm
func.func @scaled_gemm(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = eff.constant {value = dense<1.0> : tensor<4x2xf32>} : tensor<4x2xf32>
  // expected-remark @+1 {{not quantized: Gemm with alpha != 1}}
  %y = eff.gemm %x, %w {alpha = 2.0 : f32} : (tensor<3x4xf32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// expected-remark @-6 {{quantized 0 linear layers to int8}}

// llm-int8: the weight codes and per-channel scales are int8's; the op is
// llm_int8 with the threshold it splits the activation's outlier columns at.
// RUN: effc-opt %s --eff-quantize-weights="scheme=llm-int8 llm-int8-threshold=4" -split-input-file | FileCheck %s --check-prefix=LLM
// LLM-LABEL: func.func @matmul
// LLM: %[[CODES:.*]] = eff.constant {value = dense<{{\[\[\[}}255, 64, 160, 128]], {{\[\[}}128, 128, 128, 128]]]> : tensor<2x1x4xui8>}
// LLM: %[[SCALES:.*]] = eff.constant {value = dense<{{\[\[}}0.00787401571], [1.000000e+00]]> : tensor<2x1xf32>}
// LLM: eff.quant_linear llm_int8 n_kblocks(%arg0, %[[CODES]], %[[SCALES]]) {K = 4 : i64, N = 2 : i64, block_size = 4 : i64, threshold = 4.000000e+00 : f32}
// RUN: effc-opt %s --eff-quantize-weights="scheme=llm-int8 remarks=true" -split-input-file 2>&1 >/dev/null | FileCheck %s --check-prefix=LLM-REMARKS
// LLM-REMARKS: remark: quantized to llm-int8 (per channel, outliers |x| >= 6, K=4 N=2): 0.00 MiB -> 0.00 MiB
// RUN: not effc-opt %s --eff-quantize-weights="scheme=llm-int8 block-size=32" -split-input-file 2>&1 | FileCheck %s --check-prefix=LLM-BLOCK
// LLM-BLOCK: error: eff-quantize-weights: llm-int8 quantizes each output channel as one vector (block-size must be 0, got 32)
// RUN: not effc-opt %s --eff-quantize-weights="scheme=llm-int8 llm-int8-threshold=-1" -split-input-file 2>&1 | FileCheck %s --check-prefix=LLM-THRESHOLD
// LLM-THRESHOLD: error: eff-quantize-weights: llm-int8-threshold must be a positive number, got -1

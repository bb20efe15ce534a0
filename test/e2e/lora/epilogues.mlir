// Unmerged-LoRA shapes for the nvrtc-lora-* ctests (test/CMakeLists.txt): every
// kernel effc generates for them must compile with NVRTC for sm_80 and sm_90,
// in fp32 (FFMA GEMMs) and bf16 (tensor-core GEMMs), decomposed and fused
// (default) and as the --decompose-lora=false reference kernels.
//  - 3-D x [2, 16, 128]: q/k/v projections sharing one shrink GEMM; q has one
//    adapter and a bias, k and v stacked adapters chosen by lora_index, v then
//    GELU (gemm_epilogue: matmul -> lora_expand -> elementwise).
//  - 2-D x2 [32, 128] (GPT-2's c_attn): eff.gemm with a bias C whose epilogue
//    is the LoRA expand (written decomposed), and a lora_linear + bias.
// Weights are inputs: the file stays small and the adapters' transposes run
// as kernels.
func.func @main(%x: tensor<2x16x128xf32>, %idx: tensor<2xi64>,
                %wq: tensor<128x128xf32>, %aq: tensor<128x8xf32>, %bq: tensor<8x128xf32>, %bias_q: tensor<128xf32>,
                %wk: tensor<128x64xf32>, %ak: tensor<3x128x4xf32>, %bk: tensor<3x4x64xf32>,
                %wv: tensor<128x64xf32>, %av: tensor<2x128x16xf32>, %bv: tensor<2x16x64xf32>,
                %x2: tensor<32x128xf32>, %idx2: tensor<4xi32>,
                %w1: tensor<128x384xf32>, %c1: tensor<384xf32>, %a1: tensor<128x16xf32>, %b1: tensor<16x384xf32>,
                %w2: tensor<128x128xf32>, %a2: tensor<2x128x8xf32>, %b2: tensor<2x8x128xf32>, %bias2: tensor<128xf32>)
    -> (tensor<2x16x128xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<32x384xf32>, tensor<32x128xf32>) {
  %q0 = eff.lora_linear %x, %wq, %aq, %bq {scale = 2.0 : f64} : (tensor<2x16x128xf32>, tensor<128x128xf32>, tensor<128x8xf32>, tensor<8x128xf32>) -> tensor<2x16x128xf32>
  %q = eff.add %q0, %bias_q : (tensor<2x16x128xf32>, tensor<128xf32>) -> tensor<2x16x128xf32>
  %k = eff.lora_linear %x, %wk, %ak, %bk, %idx {scale = 0.5 : f64} : (tensor<2x16x128xf32>, tensor<128x64xf32>, tensor<3x128x4xf32>, tensor<3x4x64xf32>, tensor<2xi64>) -> tensor<2x16x64xf32>
  %v0 = eff.lora_linear %x, %wv, %av, %bv, %idx : (tensor<2x16x128xf32>, tensor<128x64xf32>, tensor<2x128x16xf32>, tensor<2x16x64xf32>, tensor<2xi64>) -> tensor<2x16x64xf32>
  %v = eff.gelu %v0 : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %t1 = eff.matmul %x2, %a1 : (tensor<32x128xf32>, tensor<128x16xf32>) -> tensor<32x16xf32>
  %g1 = eff.gemm %x2, %w1, %c1 : (tensor<32x128xf32>, tensor<128x384xf32>, tensor<384xf32>) -> tensor<32x384xf32>
  %y1 = eff.lora_expand %g1, %t1, %b1 {scale = 4.0 : f64} : (tensor<32x384xf32>, tensor<32x16xf32>, tensor<16x384xf32>) -> tensor<32x384xf32>
  %y2a = eff.lora_linear %x2, %w2, %a2, %b2, %idx2 {scale = 0.25 : f64} : (tensor<32x128xf32>, tensor<128x128xf32>, tensor<2x128x8xf32>, tensor<2x8x128xf32>, tensor<4xi32>) -> tensor<32x128xf32>
  %y2 = eff.add %y2a, %bias2 : (tensor<32x128xf32>, tensor<128xf32>) -> tensor<32x128xf32>
  return %q, %k, %v, %y1, %y2 : tensor<2x16x128xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<32x384xf32>, tensor<32x128xf32>
}

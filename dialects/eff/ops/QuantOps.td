//===- QuantOps.td - linear layers with quantized weights -------------------===//
// Verifiers and inference live in QuantOps.cpp; the reference semantics in
// runtime/src/host/QuantLinear.cpp; the CUDA kernels in
// compiler/codegen/device/quant_linear.cuh. The ONNX importer raises
// onnxruntime's quantized forms (com.microsoft MatMulNBits and MatMulBnb4,
// DequantizeLinear -> MatMul, DynamicQuantizeLinear -> MatMulInteger -> Mul)
// to this one op (compiler/onnx/OnnxQuantized.cpp).
#ifndef EFF_QUANT_OPS_TD
#define EFF_QUANT_OPS_TD

include "mlir/IR/EnumAttr.td"

// How a weight code becomes a value. The numbers are stored in artifacts;
// compiler/codegen/device/quant_defs.cuh (QL_*) defines them for the host
// reference and the kernels, and QuantLinearEmitter.cpp static_asserts that
// these cases agree.
def Eff_QuantScheme : I32EnumAttr<"QuantScheme", "how eff.quant_linear decodes its weight", [
    // (code - zero_point) * scale with unsigned 4-bit codes (zero point 8
    // when absent): MatMulNBits bits=4, int4/uint4 DequantizeLinear.
    I32EnumAttrCase<"Int4", 0, "int4">,
    // The same with unsigned 8-bit codes (zero point 128 when absent).
    I32EnumAttrCase<"Int8", 1, "int8">,
    // bitsandbytes NormalFloat-4: code book value * absmax of the block.
    I32EnumAttrCase<"NF4", 2, "nf4">,
    // bitsandbytes FP4 (E2M1-like code book) * absmax of the block.
    I32EnumAttrCase<"FP4", 3, "fp4">,
    // int8 weights as Int8, and the activation quantized per tensor to
    // uint8 at run time (DynamicQuantizeLinear); products summed in int32.
    I32EnumAttrCase<"DynamicInt8", 4, "dynamic_int8">,
    // LLM.int8() (Dettmers et al. 2022): int8 weights as Int8 (symmetric,
    // one scale per column); at run time the activation's outlier features
    // (columns of a with any |x| >= threshold) are multiplied in fp32 with
    // the dequantized weight rows, the rest quantized per row (absmax) to
    // int8 and summed in int32; the two results added.
    I32EnumAttrCase<"LLMInt8", 5, "llm_int8">]> {
  let cppNamespace = "::mlir::eff";
}

// Where each weight code sits in the packed bytes.
def Eff_QuantLayout : I32EnumAttr<"QuantLayout", "how eff.quant_linear's weight is packed", [
    // weight [N, ceil(K / block_size), block_size * bits / 8]: row n holds
    // W[:, n] along K in blocks; 4-bit codes low nibble first. scales and
    // zero_points [N, ceil(K / block_size)]. (MatMulNBits' own layout.)
    I32EnumAttrCase<"NBlocks", 0, "n_kblocks">,
    // weight [ceil(N * K / 2)]: W transposed to [N, K], flattened and cut
    // into blocks of block_size along the flat index (a block may span two
    // rows); first code in the high nibble. scales (absmax)
    // [ceil(N * K / block_size)]. (MatMulBnb4's layout.)
    I32EnumAttrCase<"BnbFlat", 1, "bnb_flat">]> {
  let cppNamespace = "::mlir::eff";
}

def Eff_QuantLinearOp : Eff_Op<"quant_linear"> {
  let cudaFamily = "QuantLinear";
  let onnxName = "";
  let summary = "a [..., K] times a packed quantized weight W [K, N]";
  let description = [{
    y[row][n] = sum_k a[row][k] * W[k][n] with W decoded from the packed
    `weight` by `scheme` in `layout` (see the enums): rows are a's leading
    dims flattened, y is [..., N] in a's type. W is never materialized: the
    kernels decode codes as they read them. Accumulation is fp32.

    int4/int8 (layout n_kblocks): W[k][n] = (code(n, k) - zp[n][b]) *
    scales[n][b], b = k / block_size; zp = zero_points[n][b] (ui8), or
    2^(bits-1) without zero_points. K need not be a multiple of block_size:
    the last block's padding codes are never read.

    nf4/fp4 (layout bnb_flat): f = n * K + k; W[k][n] =
    codebook[code(f)] * absmax[f / block_size], absmax = scales (float,
    one per block), or with `double_quant` (bitsandbytes' double
    quantization) scales is ui8 [P + 4 (G + 1)] for B = ceil(N * K /
    block_size) absmaxes, P = B rounded up to a multiple of 4, G =
    ceil(B / 256): B 8-bit indices into bitsandbytes' dynamic map, padding,
    G fp32 scales (one per 256 absmaxes) and the fp32 offset (their mean);
    absmax[b] = map[idx[b]] * scale[b / 256] + offset (quant_defs.cuh).

    dynamic_int8 (layout n_kblocks, one block: block_size >= K): a is
    quantized as ONNX DynamicQuantizeLinear does (per tensor, over all of a:
    lo = min(0, min a), hi = max(0, max a), s = (hi - lo) / 255 (1 when
    hi == lo), z = round_even(clamp(-lo / s, 0, 255)), q = clamp(round_even(a /
    s) + z, 0, 255)), then y = float(sum_k (q - z) * (code - zp)) * (s *
    scales[n][0]): MatMulInteger, Cast and the scale Mul that onnxruntime's
    dynamic quantizer emits.

    llm_int8 (layout n_kblocks, one block: block_size >= K, no zero_points:
    code - 128 as int4/int8 without zero points): O = {k : |a[r][k]| >=
    threshold for some row r of a}; per row r, m_r = max over k not in O of
    |a[r][k]|, s_r = m_r / 127, q[r][k] = clamp(round_even(a[r][k] / s_r),
    -127, 127) for k not in O (0 in O and when m_r = 0); y[r][n] =
    float(sum_k q[r][k] * (code - 128)) * (s_r * scales[n][0]) + sum_{k in O}
    a[r][k] * (code - 128) * scales[n][0]. `threshold` is read only by
    llm_int8.
  }];
  let arguments = (ins Eff_FloatTensor:$a, TensorOf<[UI8]>:$weight,
                       TensorOf<[Eff_FloatElement, UI8]>:$scales,
                       Optional<TensorOf<[UI8]>>:$zero_points,
                       Eff_QuantScheme:$scheme, Eff_QuantLayout:$layout,
                       I64Attr:$K, I64Attr:$N, I64Attr:$block_size,
                       Eff_DefaultF32<"6.0">:$threshold, UnitAttr:$double_quant);
  let results = (outs Eff_FloatTensor:$y);
  let assemblyFormat = [{
    $scheme $layout `(` operands `)` attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // EFF_QUANT_OPS_TD

//===- ReductionOps.td - reductions, softmax, cumulative sum, top-k -----------===//
// Inference, verification and folding live in ReductionOps.cpp.
#ifndef EFF_REDUCTION_OPS_TD
#define EFF_REDUCTION_OPS_TD

// ONNX Reduce*-18: axes is an optional 1-D int64 operand. No axes (or an empty
// axes tensor) reduces every dim, unless noop_with_empty_axes makes the op an
// identity. keepdims keeps reduced dims as 1.
class Eff_ReduceOp<string mnemonic, Type dataType> : Eff_Op<mnemonic> {
  let arguments = (ins dataType:$data, Optional<Eff_I64Tensor>:$axes,
                       Eff_DefaultI64<"1">:$keepdims,
                       Eff_DefaultI64<"0">:$noop_with_empty_axes);
  let results = (outs dataType:$reduced);
  let hasVerifier = 1;
}

def Eff_ReduceMaxOp : Eff_ReduceOp<"reduce_max", Eff_Tensor> {
  let cudaFamily = "Reduction";
  let summary = "max over `axes` (ReduceMax-20; bool allowed)";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"axes", 1, 18>];
}
def Eff_ReduceMeanOp : Eff_ReduceOp<"reduce_mean", Eff_NumericTensor> {
  let cudaFamily = "Reduction";
  let summary = "arithmetic mean over `axes` (ReduceMean-18)";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"axes", 1, 18>];
}
def Eff_ReduceSumOp : Eff_ReduceOp<"reduce_sum", Eff_NumericTensor> {
  let cudaFamily = "Reduction";
  let summary = "sum over `axes` (ReduceSum-13)";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"axes", 1, 13>];
}

def Eff_SoftmaxOp : Eff_Op<"softmax"> {
  let cudaFamily = "Reduction";
  let summary = "exp(x) / sum(exp(x)) along `axis` (Softmax-13)";
  let arguments = (ins Eff_FloatTensor:$input, Eff_DefaultI64<"-1">:$axis);
  let results = (outs Eff_FloatTensor:$output);
}

def Eff_CumSumOp : Eff_Op<"cum_sum"> {
  let cudaFamily = "Scan";
  let summary = "cumulative sum along the scalar `axis` operand (CumSum-14)";
  let arguments = (ins Eff_NumericTensor:$x, Eff_IndexTensor:$axis,
                       Eff_DefaultI64<"0">:$exclusive, Eff_DefaultI64<"0">:$reverse);
  let results = (outs Eff_NumericTensor:$y);
  let hasVerifier = 1;
}

def Eff_TopKOp : Eff_Op<"top_k"> {
  let cudaFamily = "Scan";
  let summary = "the K largest (or smallest) elements along `axis` and their int64 indices (TopK-11)";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"k", 1, 10, /*required=*/1>];
  let arguments = (ins Eff_NumericTensor:$X, Eff_I64Tensor:$K,
                       Eff_DefaultI64<"-1">:$axis, Eff_DefaultI64<"1">:$largest,
                       Eff_DefaultI64<"1">:$sorted);
  let results = (outs Eff_NumericTensor:$values, TensorOf<[I64]>:$indices);
  let hasVerifier = 1;
}

#endif // EFF_REDUCTION_OPS_TD

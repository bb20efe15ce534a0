//===- ConstantOps.td - constants and shape-producing ops ---------------------===//
#ifndef EFF_CONSTANT_OPS_TD
#define EFF_CONSTANT_OPS_TD

def Eff_ConstantOp : Eff_Op<"constant", [ConstantLike, Eff_CompileTimeOnly]> {
  let onnxName = "";
  let summary = "a constant tensor: weights (dense_resource blobs) or small values";
  let description = [{
    Weights imported from ONNX initializers are `dense_resource` blobs so that
    printed IR elides them; small values (shapes, scalars) are dense literals.
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Eff_Tensor:$output);
  let assemblyFormat = "attr-dict `:` type($output)";
}

def Eff_ConstantOfShapeOp : Eff_Op<"constant_of_shape"> {
  let cudaFamily = "Generator";
  let summary = "a tensor of the given shape filled with `value` (one element)";
  let arguments = (ins Eff_I64Tensor:$input, OptionalAttr<ElementsAttr>:$value);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_ShapeOp : Eff_Op<"shape"> {
  let cudaFamily = "Generator";
  let summary = "the shape of a tensor as a 1-D int64 tensor (dims [start, end))";
  let arguments = (ins AnyTensor:$data, Eff_DefaultI64<"0">:$start, OptionalAttr<I64Attr>:$end);
  let results = (outs Eff_I64Tensor:$shape);
}

def Eff_RangeOp : Eff_Op<"range"> {
  let cudaFamily = "Generator";
  let summary = "[start, limit) by delta; scalar operands";
  let arguments = (ins Eff_NumericTensor:$start, Eff_NumericTensor:$limit, Eff_NumericTensor:$delta);
  let results = (outs Eff_NumericTensor:$output);
  let hasVerifier = 1;
}

#endif // EFF_CONSTANT_OPS_TD

//===- ShapeOps.td - reshape, expand, concat, slice, split, transpose, ... ---===//
// Data-movement ops whose result shape depends on shape-like int64 operands.
// Inference is exact when those operands are constants; the folders remove
// identities and fold constant inputs through the host kernels.
#ifndef EFF_SHAPE_OPS_TD
#define EFF_SHAPE_OPS_TD

def Eff_ReshapeOp : Eff_Op<"reshape", [Eff_View]> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Reshape-21: -1 infers a dim, 0 copies the input dim unless allowzero";
  let arguments = (ins Eff_Tensor:$data, Eff_I64Tensor:$shape,
                       Eff_DefaultI64<"0">:$allowzero);
  let results = (outs Eff_Tensor:$reshaped);
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Eff_ExpandOp : Eff_Op<"expand"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Expand-13: broadcast input and shape bidirectionally";
  let arguments = (ins Eff_Tensor:$input, Eff_I64Tensor:$shape);
  let results = (outs Eff_Tensor:$output);
}

def Eff_ConcatOp : Eff_Op<"concat"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Concat-13: join inputs along axis";
  let arguments = (ins Variadic<Eff_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Eff_Tensor:$concat_result);
}

def Eff_FlattenOp : Eff_Op<"flatten", [Eff_View]> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Flatten-21: [prod(dims[:axis]), prod(dims[axis:])]";
  let arguments = (ins Eff_Tensor:$input, Eff_DefaultI64<"1">:$axis);
  let results = (outs Eff_Tensor:$output);
}

def Eff_SliceOp : Eff_Op<"slice", [AttrSizedOperandSegments]> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Slice-13: data[starts:ends:steps] on axes, clamped per ONNX";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"starts", 1, 10, /*required=*/1>,
                          Eff_OnnxAttrOperand<"ends", 2, 10, /*required=*/1>,
                          Eff_OnnxAttrOperand<"axes", 3, 10>];
  let arguments = (ins Eff_Tensor:$data, Eff_IndexTensor:$starts, Eff_IndexTensor:$ends,
                       Optional<Eff_IndexTensor>:$axes, Optional<Eff_IndexTensor>:$steps);
  let results = (outs Eff_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $starts `,` $ends (`axes` $axes^)? (`steps` $steps^)? attr-dict `:`
    functional-type(operands, results)
  }];
}

def Eff_SplitOp : Eff_Op<"split"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Split-18: num_outputs pieces along axis, sizes from split or even";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"split", 1, 13>];
  let description = [{
    `num_outputs` is required and equals the number of results (the importer
    sets it for Split-13 too), so result types can be inferred. Without
    `split`, pieces are ceil(dim / num_outputs) long and the last is smaller.
  }];
  let arguments = (ins Eff_Tensor:$input, Optional<Eff_I64Tensor>:$split,
                       Eff_DefaultI64<"0">:$axis, I64Attr:$num_outputs);
  let results = (outs Variadic<Eff_Tensor>:$outputs);
  let hasVerifier = 1;
}

def Eff_SqueezeOp : Eff_Op<"squeeze", [Eff_View]> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Squeeze-21: drop dims of size 1 (axes, or all of them)";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"axes", 1, 13>];
  let arguments = (ins Eff_Tensor:$data, Optional<Eff_I64Tensor>:$axes);
  let results = (outs Eff_Tensor:$squeezed);
}

def Eff_UnsqueezeOp : Eff_Op<"unsqueeze", [Eff_View]> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Unsqueeze-21: insert dims of size 1 at axes (of the result)";
  let onnxAttrOperands = [Eff_OnnxAttrOperand<"axes", 1, 13>];
  let arguments = (ins Eff_Tensor:$data, Eff_I64Tensor:$axes);
  let results = (outs Eff_Tensor:$expanded);
}

def Eff_TransposeOp : Eff_Op<"transpose"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Transpose-21: result dim i = input dim perm[i] (default: reversed)";
  let arguments = (ins Eff_Tensor:$data, OptionalAttr<DenseI64ArrayAttr>:$perm);
  let results = (outs Eff_Tensor:$transposed);
  let hasVerifier = 1;
}

def Eff_TileOp : Eff_Op<"tile"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Tile-13: repeat the input repeats[d] times along each dim d";
  let description = [{
    `repeats` (int64, one entry per input dim, each >= 0) must fold to a
    constant by the time kernels are planned: the result shape depends on it.
    The importer takes Tile from opset 6 on (Tile-1 had `tiles` and `axis`).
  }];
  let onnxSince = 6;
  let arguments = (ins Eff_Tensor:$input, Eff_I64Tensor:$repeats);
  let results = (outs Eff_Tensor:$output);
}

def Eff_TriluOp : Eff_Op<"trilu"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Trilu-14: upper (or lower) triangle of the last two dims, offset k";
  let arguments = (ins Eff_Tensor:$input, Optional<Eff_I64Tensor>:$k,
                       Eff_DefaultI64<"1">:$upper);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

#endif // EFF_SHAPE_OPS_TD

//===- GatherOps.td - gather*, scatter*, one_hot, non_zero -----------------===//
#ifndef EFF_GATHER_OPS_TD
#define EFF_GATHER_OPS_TD

def Eff_GatherOp : Eff_Op<"gather"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX Gather-13: take slices of data along axis (negative indices wrap)";
  let arguments = (ins Eff_Tensor:$data, Eff_IndexTensor:$indices, Eff_DefaultI64<"0">:$axis);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_GatherElementsOp : Eff_Op<"gather_elements"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX GatherElements-13: out[i][j] = data[indices[i][j]][j] (for axis 0)";
  let arguments = (ins Eff_Tensor:$data, Eff_IndexTensor:$indices, Eff_DefaultI64<"0">:$axis);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_GatherNDOp : Eff_Op<"gather_nd"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX GatherND-13: gather slices of data by index tuples in the last dim";
  let arguments = (ins Eff_Tensor:$data, Eff_I64Tensor:$indices, Eff_DefaultI64<"0">:$batch_dims);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_ScatterElementsOp : Eff_Op<"scatter_elements"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX ScatterElements-18: a copy of data with updates[j] written at indices[j] on axis";
  let description = [{
    For axis 0 of rank 2: output[indices[i][j]][j] = updates[i][j] (or
    combined with it by `reduction`: "none", "add", "mul", "max", "min").
    indices and updates have one shape, of data's rank, no larger than data
    off the axis. Duplicate targets: "none" keeps the last in row-major order
    of indices (ONNX leaves it undefined), the reductions combine all.
    Opset 11 has no `reduction` (none); 16 adds add/mul, 18 max/min.
  }];
  let onnxSince = 11;
  let arguments = (ins Eff_Tensor:$data, Eff_IndexTensor:$indices, Eff_Tensor:$updates,
                       Eff_DefaultI64<"0">:$axis, Eff_DefaultStr<"\"none\"">:$reduction);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_ScatterNDOp : Eff_Op<"scatter_nd"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX ScatterND-18: a copy of data with slices at index tuples replaced or reduced";
  let description = [{
    `indices` [..., k] (k <= rank of data) addresses slices data[i0..ik-1, ...];
    `updates` has shape indices.shape[:-1] + data.shape[k:]. `reduction` is
    "none" (replace; with duplicate tuples ONNX leaves the result undefined,
    effc applies updates in order so the last one wins), "add", "mul",
    "max" or "min" (every update of a slot is combined with the data value).
    Opsets 11 and 13 have no `reduction` (none); 16 adds add/mul, 18 max/min.
  }];
  let onnxSince = 11;
  let arguments = (ins Eff_Tensor:$data, Eff_I64Tensor:$indices, Eff_Tensor:$updates,
                       Eff_DefaultStr<"\"none\"">:$reduction);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_OneHotOp : Eff_Op<"one_hot"> {
  let cudaFamily = "DataMovement";
  let summary = "ONNX OneHot-11: values[1] where an index equals the position on a new axis, values[0] elsewhere";
  let description = [{
    The output has indices' shape with a new dim of size `depth` inserted at
    `axis` (of the output's rank). An index i in [-depth, depth) (negative
    ones count from depth) marks position i; an index outside that range
    marks none. `depth` is a scalar (or one-element) numeric tensor, a
    compile-time constant for a static shape; `values` is [off, on] and sets
    the element type.
  }];
  let onnxSince = 9;
  let arguments = (ins Eff_NumericTensor:$indices, Eff_NumericTensor:$depth, Eff_Tensor:$values,
                       Eff_DefaultI64<"-1">:$axis);
  let results = (outs Eff_Tensor:$output);
  let hasVerifier = 1;
}

def Eff_NonZeroOp : Eff_Op<"non_zero", [Eff_CompileTimeOnly]> {
  let summary = "ONNX NonZero-13: the [rank, count] int64 coordinates of x's nonzero elements";
  let description = [{
    Coordinates in row-major order of the elements. `count` depends on the
    data, so the op has no kernel: it folds when x is a constant, and
    otherwise lives only inside a pattern a pass replaces (eff-raise-moe
    raises transformers' per-expert loop, whose token lists are NonZero of a
    one-hot expert mask, to eff.moe). One that is left is a compile error.
  }];
  let onnxSince = 9;
  let arguments = (ins Eff_Tensor:$x);
  let results = (outs Eff_I64Tensor:$output);
}

#endif // EFF_GATHER_OPS_TD

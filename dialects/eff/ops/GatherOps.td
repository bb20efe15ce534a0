//===- GatherOps.td - gather, gather_elements, gather_nd ----------------------===//
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

#endif // EFF_GATHER_OPS_TD

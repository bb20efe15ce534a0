//===- FusionOps.td - kernel regions -------------------------------------===//
#ifndef EFF_FUSION_OPS_TD
#define EFF_FUSION_OPS_TD


include "mlir/IR/EnumAttr.td"

// How an eff.fusion kernel is shaped (see eff.fusion's description); printed
// and stored in artifacts by its string ("elementwise", "gemm_epilogue").
def Eff_FusionKind : I32EnumAttr<"FusionKind", "the shape of an eff.fusion kernel", [
    I32EnumAttrCase<"Elementwise", 0, "elementwise">,
    I32EnumAttrCase<"GemmEpilogue", 1, "gemm_epilogue">]> {
  let cppNamespace = "::mlir::eff";
}

def Eff_FusionOp : Op<Eff_Dialect, "fusion",
    [IsolatedFromAbove, SingleBlockImplicitTerminator<"YieldOp">,
     RecursiveMemoryEffects, Eff_KernelRegion]> {
  let summary = "ops that run as one generated kernel";
  string cudaFamily = "Fusion";
  let description = [{
    The body's ops become one kernel: intermediate values stay in registers
    and never reach memory. Block arguments are the kernel inputs (in order),
    `eff.yield` names its outputs. `kind` says how the kernel is shaped:
    "elementwise" (one thread per element of the output shape; every body
    result has that shape, inputs broadcast into it, except values read
    only through index-mapping ops: eff.transpose, eff.slice, eff.concat,
    whose operands the kernel evaluates at the mapped coordinates), or
    "gemm_epilogue"
    (one GEMM kernel: the body's first op is an eff.matmul or eff.gemm whose
    operands are block arguments; every later op is elementwise with the
    matmul's result shape, the chain consumes the matmul result, and other
    inputs broadcast into that shape; the epilogue evaluates the chain per
    output element on the accumulator before the one store). The chain may
    also hold eff.lora_expand ops (LoRA's expand on the accumulator): their
    t, b and lora_index are fusion inputs read at the element's row and
    column, not broadcast.
  }];
  let arguments = (ins Variadic<AnyTensor>:$inputs, Eff_FusionKind:$kind);
  let results = (outs Variadic<AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasVerifier = 1;
}

def Eff_YieldOp : Op<Eff_Dialect, "yield",
    [Pure, Terminator, HasParent<"FusionOp">, Eff_CompileTimeOnly]> {
  let summary = "the outputs of an eff.fusion body";
  let arguments = (ins Variadic<AnyTensor>:$values);
  let builders = [OpBuilder<(ins), [{ /* no values */ }]>];
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

#endif // EFF_FUSION_OPS_TD

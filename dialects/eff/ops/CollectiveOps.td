//===- CollectiveOps.td - collectives between devices (--devices) ---------===//
// eff-partition-devices (effc --devices=N, issue 20) joins the work it puts
// on devices with these ops. Operand i lives on device devices[i] (the
// `eff.device` of its producer, or a replicated value); the result is on
// every device. The host kernels (runtime/src/host/Collectives.cpp) are the
// one-process reference the constant folder and the host backend run; on
// several devices the runtime runs them through runtime/src/Collectives.h
// (host simulation, NCCL, or the streams of one GPU), never as a generated
// CUDA kernel (Eff_Collective). Verifiers in CollectiveOps.cpp.
#ifndef EFF_COLLECTIVE_OPS_TD
#define EFF_COLLECTIVE_OPS_TD

def Eff_AllReduceOp : Eff_Op<"all_reduce", [Eff_Collective]> {
  let onnxName = "";
  let summary = "sum of one partial per device, on every device";
  let description = [{
    result = partials[0] + partials[1] + ..., every partial of the result's
    type; partial i comes from device devices[i] (distinct, >= 0, below the
    function's `eff.devices` when it has one). A device that holds no
    partial adds nothing. The host kernel adds in fp32 (float64 in double)
    in operand order and rounds once, as HostCollectives' allReduceSum does.
  }];
  let arguments = (ins Variadic<Eff_FloatTensor>:$partials, DenseI64ArrayAttr:$devices);
  let results = (outs Eff_FloatTensor:$result);
  let hasVerifier = 1;
}

def Eff_AllGatherOp : Eff_Op<"all_gather", [Eff_Collective]> {
  let onnxName = "";
  let summary = "the devices' blocks joined along an axis, on every device";
  let description = [{
    result = concat(blocks, axis): block i comes from device devices[i]
    (distinct, >= 0, below the function's `eff.devices`); the blocks agree
    in element type, rank and every dim but `axis` (0 <= axis < rank).
  }];
  let arguments = (ins Variadic<Eff_Tensor>:$blocks, I64Attr:$axis,
                       DenseI64ArrayAttr:$devices);
  let results = (outs Eff_Tensor:$result);
  let hasVerifier = 1;
}

#endif // EFF_COLLECTIVE_OPS_TD

//===- TensorCoreGemmPrelude.cpp - device code of the mma.sync GEMM -------===//
//
// cp.async / ldmatrix / mma.sync come from device/primitives.cuh, the
// epilogue's typed loads, stores and activations from
// device/tensor_core_gemm.cuh (both embedded at build time).
//
#include "compiler/codegen/device/DeviceCode.h"
#include "compiler/codegen/gemm/TensorCoreGemm.h"

namespace effc::codegen::tcgemm {

const std::string &tensorCoreGemmPrelude() {
  static const std::string text = deviceSources({"primitives.cuh", "tensor_core_gemm.cuh"});
  return text;
}

} // namespace effc::codegen::tcgemm

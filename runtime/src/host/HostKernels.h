// Reference host kernels for every eff op (library EffcHostKernels: no
// protobuf, no LLVM). Used by the host backend and by the compiler to
// constant-fold small tensors.
//
// Semantics: each eff op is the ONNX op of the latest opset <= 23 with the
// same name (eff.add = Add, eff.reduce_sum = ReduceSum-18, eff.layer_norm =
// LayerNormalization with ONE output, eff.rms_norm = RMSNormalization-23,
// eff.rope = RotaryEmbedding-23, ...), inputs in ONNX order, shape-like
// operands (axes, shape, starts, K, split, ...) as int64 (or int32) input
// tensors, attributes with ONNX names and defaults. eff.attention is effc's
// own op (see Attention.cpp). The supported names are listed by kernelNames();
// kernels are registered by the op ids of EffOpList.inc, generated from
// the dialect's ODS by effc-tblgen.
//
// Float math is done in (at least) float32, float64 in double; float16 and
// bfloat16 are stored rounded to nearest-even.
#pragma once

#include "effc/DType.h"
#include "effc/Status.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace effc::host {

/// ONNX INT -> int64_t, FLOAT -> double, STRING -> string, INTS ->
/// vector<int64_t>, FLOATS -> vector<double>.
using AttrValue =
    std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;
using Attrs = std::map<std::string, AttrValue>;

/// A read-only operand; data == nullptr marks an absent optional input.
/// capacity > 0: a 4-D [B, H, rows, D] view of session state whose [b, h]
/// slices are `capacity` rows apart (a KV cache kept in place); only
/// eff.kv_append (past, present) and eff.attention(_partial) (k, v) take
/// such operands.
struct ConstTensorRef {
  DType dtype = DType::UNDEFINED;
  std::vector<int64_t> shape;
  const void *data = nullptr;
  int64_t capacity = 0;
};

/// A result buffer, preallocated by the caller with the planned (static)
/// shape and dtype. Kernels check the shape/dtype they compute against it and
/// fail with "<op>: output 0 shape: expected [..], got [..]" otherwise.
struct TensorRef {
  DType dtype = DType::UNDEFINED;
  std::vector<int64_t> shape;
  void *data = nullptr;
  int64_t capacity = 0; ///< as ConstTensorRef::capacity
};

/// True when `op` ("eff.add", ...) has a host kernel.
bool hasKernel(std::string_view op);
/// All ops with a host kernel, sorted.
std::vector<std::string> kernelNames();
/// The ops that must have one: every eff op that runs as a kernel or is a
/// collective (the generated EffOpList.inc), sorted.
std::vector<std::string> kernelOpNames();

/// Runs one op. Never aborts on bad operands: wrong arity, dtypes, shapes,
/// attribute types or out-of-range indices give an error Status naming the op.
/// Outputs must not overlap inputs.
Status runKernel(std::string_view op, const Attrs &attrs, const std::vector<ConstTensorRef> &inputs,
                 const std::vector<TensorRef> &outputs);

} // namespace effc::host

// Shared plumbing of the host kernels: the call context, attribute access,
// operand checks, shape helpers, broadcasting and a tiny parallel-for.
#pragma once

#include "EffOp.h"
#include "effc/Tensor.h"
#include "host/Element.h"
#include "host/HostKernels.h"

#include <functional>
#include <map>
#include <string>

namespace effc::host {

struct KernelContext {
  std::string op;
  const Attrs &attrs;
  const std::vector<ConstTensorRef> &in;
  const std::vector<TensorRef> &out;

  Status error(const std::string &msg) const { return Status::error(op + ": " + msg); }
  bool has(size_t i) const { return i < in.size() && in[i].data != nullptr; }

  StatusOr<int64_t> intAttr(const std::string &name, int64_t dflt) const;
  StatusOr<double> floatAttr(const std::string &name, double dflt) const;
  StatusOr<std::string> stringAttr(const std::string &name, const std::string &dflt) const;
  /// `present` (optional) tells whether the attribute was given.
  StatusOr<std::vector<int64_t>> intsAttr(const std::string &name, bool *present = nullptr) const;

  /// Values of an int32/int64 operand (e.g. axes, shape, K).
  StatusOr<std::vector<int64_t>> ints(size_t i) const;
  /// Output i must have this dtype and shape.
  Status checkOut(size_t i, DType dtype, const std::vector<int64_t> &shape) const;
  /// Input i must have dtype `t`.
  Status checkInDType(size_t i, DType t) const;
};

using KernelFn = Status (*)(const KernelContext &);
struct KernelDef {
  KernelFn fn;
  int minIn, maxIn;   // maxIn -1: variadic
  int minOut, maxOut; // maxOut -1: variadic
};

/// Op name -> kernel, filled by op id (EffOp.h, generated from the
/// dialect's ODS); OpListTest checks that exactly the ops EffOpList.inc lists
/// as kernels have one.
struct Registry {
  std::map<std::string, KernelDef, std::less<>> byName;
  KernelDef &operator[](EffOp op) { return byName[std::string(opName(op))]; }
};

// One registration function per op family file.
void registerElementwise(Registry &r);
void registerBinary(Registry &r);
void registerReductions(Registry &r);
void registerShapeOps(Registry &r);
void registerGather(Registry &r);
void registerLinalg(Registry &r);
void registerLoRA(Registry &r);
void registerQuantLinear(Registry &r);
void registerMoE(Registry &r);
void registerMoEStages(Registry &r);
void registerMoEExchange(Registry &r);
void registerNormalization(Registry &r);
void registerAttention(Registry &r);
void registerSplitKvAttention(Registry &r);
void registerKvCache(Registry &r);
void registerMisc(Registry &r);
void registerCollectives(Registry &r);
void registerRingAttention(Registry &r);

/// Row-major strides in elements.
std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape);
/// Axis in [-rank, rank) -> [0, rank).
StatusOr<int64_t> normalizeAxis(const KernelContext &c, int64_t axis, int64_t rank);
/// Multidirectional (numpy) broadcast of several shapes.
StatusOr<std::vector<int64_t>> broadcastShapes(const KernelContext &c,
                                               const std::vector<std::vector<int64_t>> &shapes);
/// For each flat index of `outShape`, calls fn(outIndex, inIndices) where
/// inIndices[k] is the flat index into input k broadcast to outShape.
void forEachBroadcast(const std::vector<int64_t> &outShape,
                      const std::vector<std::vector<int64_t>> &inShapes,
                      const std::function<void(size_t, const size_t *)> &fn);
/// Splits [0, n) over the hardware threads (inline when small).
void parallelFor(int64_t n, int64_t costPerItem, const std::function<void(int64_t, int64_t)> &fn);

inline size_t count(const std::vector<int64_t> &shape) {
  int64_t n = numElements(shape);
  return n < 0 ? 0 : size_t(n);
}

} // namespace effc::host

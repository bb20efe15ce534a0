//===- EmitterUtil.cpp - pieces shared by the CUDA emitters ---------------===//
#include "compiler/codegen/core/EmitterUtil.h"

#include "compiler/codegen/core/DTypeInfo.h"

#include <algorithm>

namespace effc::codegen {

void openKernel(CudaWriter &w, const KernelDesc &desc, int maxThreads,
                const std::string &attributes) {
  std::string params;
  for (size_t i = 0; i < desc.inputs.size(); ++i)
    params += (params.empty() ? "" : ", ") + std::string("const void* __restrict__ in") +
              std::to_string(i);
  for (size_t i = 0; i < desc.outputs.size(); ++i)
    params +=
        (params.empty() ? "" : ", ") + std::string("void* __restrict__ out") + std::to_string(i);
  // Runtime extents: the values of the model's dims for this run (dim id =
  // index), from the DIMS buffer the runtime writes once per run.
  if (desc.usesDims())
    params += (params.empty() ? "" : ", ") + std::string("const long long* __restrict__ effc_dims");
  w.line("// ", desc.op);
  w.open("EFFC_KERNEL void __launch_bounds__(", maxThreads, ") ", attributes, desc.name, "(",
         params, ") {");
  for (size_t i = 0; i < desc.inputs.size(); ++i) {
    const char *t = storageType(desc.inputs[i].dtype);
    // maybe_unused: shape-like operands (axes, K, ...) are baked, not read.
    w.line("[[maybe_unused]] const ", t, "* __restrict__ x", i, " = (const ", t, "*)in", i, ";",
           desc.inputs[i].present ? "" : "  // absent: nullptr");
  }
  for (size_t i = 0; i < desc.outputs.size(); ++i) {
    const char *t = storageType(desc.outputs[i].dtype);
    w.line("[[maybe_unused]] ", t, "* __restrict__ y", i, " = (", t, "*)out", i, ";");
  }
}

std::string indexType(const KernelDesc &desc) {
  // Headroom so that `i + gridDim.x * blockDim.x` cannot overflow either.
  const int64_t limit = (int64_t(1) << 31) - (int64_t(1) << 24);
  int64_t largest = 0;
  for (const auto *list : {&desc.inputs, &desc.outputs})
    for (const TensorDesc &t : *list)
      if (t.present)
        largest = std::max(largest, t.numElements());
  return largest < limit ? "int" : "i64";
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void openGridStride(CudaWriter &w, const std::string &var, const std::string &type, int64_t n,
                    int block) {
  w.open("for (", type, " ", var, " = ", type, "(blockIdx.x) * ", block, " + threadIdx.x; ", var,
         " < ", n, "; ", var, " += ", type, "(gridDim.x) * ", block, ") {");
}

void openGridStride(CudaWriter &w, const std::string &var, const std::string &type, const Extent &n,
                    int block) {
  if (n.isConstant())
    return openGridStride(w, var, type, n.constant(), block);
  w.open("for (", type, " ", var, " = ", type, "(blockIdx.x) * ", block, " + threadIdx.x; ", var,
         " < ", type, n.text(), "; ", var, " += ", type, "(gridDim.x) * ", block, ") {");
}

LaunchDims gridStrideLaunch(int64_t n, int block) {
  LaunchDims l;
  l.grid[0] = uint32_t(std::clamp<int64_t>(ceilDiv(n, block), 1, kMaxGridBlocks));
  l.block[0] = uint32_t(block);
  return l;
}

KernelChoice gridStrideChoice(const std::string &family, int64_t items, int threads) {
  KernelChoice c;
  c.family = family;
  c.variant = "grid-stride";
  c.setParam("items", items);
  c.launch = gridStrideLaunch(items, threads);
  return c;
}

namespace {

std::string textOf(int64_t v) { return std::to_string(v); }
std::string textOf(const Extent &e) { return e.text(); }

template <typename T> std::vector<T> rowMajorStridesOf(const std::vector<T> &shape) {
  std::vector<T> s(shape.size(), T(1));
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    s[d] = s[d + 1] * shape[d + 1];
  return s;
}

template <typename T>
std::vector<T> broadcastStridesOf(const std::vector<T> &in, const std::vector<T> &out) {
  std::vector<T> st(out.size(), T(0)), own = rowMajorStridesOf(in);
  size_t off = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    st[off + d] = in[d] == T(1) ? T(0) : own[d];
  return st;
}

template <typename T> IndexSpaceOf<T> coalesceOf(IndexSpaceOf<T> space) {
  IndexSpaceOf<T> out;
  out.strides.resize(space.strides.size());
  for (size_t d = 0; d < space.dims.size(); ++d) {
    if (space.dims[d] == T(1))
      continue;
    bool merge = !out.dims.empty();
    for (size_t k = 0; merge && k < space.strides.size(); ++k)
      merge = out.strides[k].back() == space.strides[k][d] * space.dims[d];
    if (merge) {
      out.dims.back() *= space.dims[d];
      for (size_t k = 0; k < space.strides.size(); ++k)
        out.strides[k].back() = space.strides[k][d];
      continue;
    }
    out.dims.push_back(space.dims[d]);
    for (size_t k = 0; k < space.strides.size(); ++k)
      out.strides[k].push_back(space.strides[k][d]);
  }
  return out;
}

template <typename T>
void emitCoordsOf(CudaWriter &w, const std::string &flat, const std::string &type,
                  const std::vector<T> &dims, const std::string &prefix,
                  const std::vector<bool> &used) {
  size_t n = dims.size();
  auto isUsed = [&](size_t d) { return used.empty() || used[d]; };
  size_t first = 0; // the outermost coordinate anyone needs
  while (first < n && !isUsed(first))
    ++first;
  if (first == n)
    return;
  if (n == 1) {
    w.line("const ", type, " ", prefix, "0 = ", flat, ";");
    return;
  }
  std::string rest = prefix + "r";
  w.line(type, " ", rest, " = ", flat, ";");
  for (size_t d = n - 1; d > first; --d) {
    if (isUsed(d))
      w.line("const ", type, " ", prefix, d, " = ", rest, " % ", dims[d], "; ", rest,
             " /= ", dims[d], ";");
    else
      w.line(rest, " /= ", dims[d], ";");
  }
  w.line("const ", type, " ", prefix, first, " = ",
         first == 0 ? rest : rest + " % " + textOf(dims[first]), ";");
}

template <typename T>
void emitOffsetsOf(CudaWriter &w, const std::string &flat, const std::string &type,
                   const IndexSpaceOf<T> &space, const std::string &prefix) {
  std::vector<T> contiguous = rowMajorStridesOf(space.dims);
  bool needCoords = false;
  std::vector<bool> identity(space.strides.size());
  for (size_t k = 0; k < space.strides.size(); ++k) {
    identity[k] = space.strides[k] == contiguous;
    needCoords |= !identity[k];
  }
  std::string c = prefix + "c";
  std::vector<bool> used(space.dims.size(), false);
  for (size_t k = 0; k < space.strides.size(); ++k)
    for (size_t d = 0; d < space.dims.size(); ++d)
      used[d] = used[d] || (!identity[k] && space.strides[k][d] != T(0));
  if (needCoords)
    emitCoordsOf(w, flat, type, space.dims, c, used);
  for (size_t k = 0; k < space.strides.size(); ++k) {
    std::string expr;
    if (identity[k]) {
      expr = flat;
    } else {
      for (size_t d = 0; d < space.dims.size(); ++d) {
        const T &s = space.strides[k][d];
        if (s == T(0))
          continue;
        if (!expr.empty())
          expr += " + ";
        expr += c + std::to_string(d) + (s == T(1) ? "" : " * " + textOf(s));
      }
      if (expr.empty())
        expr = "0";
    }
    w.line("const ", type, " ", prefix, k, " = ", expr, ";");
  }
}

} // namespace

std::vector<int64_t> rowMajorStrides(const std::vector<int64_t> &shape) {
  return rowMajorStridesOf(shape);
}
std::vector<Extent> rowMajorStrides(const std::vector<Extent> &shape) {
  return rowMajorStridesOf(shape);
}
std::vector<int64_t> broadcastStrides(const std::vector<int64_t> &in,
                                      const std::vector<int64_t> &out) {
  return broadcastStridesOf(in, out);
}
std::vector<Extent> broadcastStrides(const std::vector<Extent> &in,
                                     const std::vector<Extent> &out) {
  return broadcastStridesOf(in, out);
}
IndexSpace coalesce(IndexSpace space) { return coalesceOf(std::move(space)); }
SymIndexSpace coalesce(SymIndexSpace space) { return coalesceOf(std::move(space)); }
void emitCoords(CudaWriter &w, const std::string &flat, const std::string &type,
                const std::vector<int64_t> &dims, const std::string &prefix,
                const std::vector<bool> &used) {
  emitCoordsOf(w, flat, type, dims, prefix, used);
}
void emitCoords(CudaWriter &w, const std::string &flat, const std::string &type,
                const std::vector<Extent> &dims, const std::string &prefix,
                const std::vector<bool> &used) {
  emitCoordsOf(w, flat, type, dims, prefix, used);
}
void emitOffsets(CudaWriter &w, const std::string &flat, const std::string &type,
                 const IndexSpace &space, const std::string &prefix) {
  emitOffsetsOf(w, flat, type, space, prefix);
}
void emitOffsets(CudaWriter &w, const std::string &flat, const std::string &type,
                 const SymIndexSpace &space, const std::string &prefix) {
  emitOffsetsOf(w, flat, type, space, prefix);
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

bool normalizeAxis(const KernelDesc &d, int64_t axis, int64_t rank, int64_t &out,
                   std::string &error) {
  if (axis < -rank || axis >= rank) {
    error = d.op + ": axis " + std::to_string(axis) + " is out of range for rank " +
            std::to_string(rank);
    return false;
  }
  out = axis < 0 ? axis + rank : axis;
  return true;
}

} // namespace effc::codegen

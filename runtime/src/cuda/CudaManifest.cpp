#include "cuda/CudaManifest.h"

#include "DevicePlan.h"

#include "cuda/Nvrtc.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace effc::cuda {

std::string kernelWhere(const artifact::Kernel &k, int index) {
  return "kernel " + std::to_string(index) + " (" + k.op() +
         (k.location().empty() ? "" : " at " + k.location()) + ")";
}

namespace {
bool inPayload(uint64_t off, uint64_t size, const std::string &payload) {
  return off <= payload.size() && size <= payload.size() - off;
}
} // namespace

StatusOr<std::string> cudaSource(const artifact::Manifest &m, const std::string &payload) {
  if (m.cuda_source_size() == 0)
    return Status::error(
        "the artifact holds no CUDA source (compiled without CUDA code generation?)");
  if (!inPayload(m.cuda_source_offset(), m.cuda_source_size(), payload))
    return Status::error("CUDA source [" + std::to_string(m.cuda_source_offset()) + ", +" +
                         std::to_string(m.cuda_source_size()) + ") is outside the payload (" +
                         std::to_string(payload.size()) + " bytes)");
  return payload.substr(m.cuda_source_offset(), m.cuda_source_size());
}

Status checkKernels(const artifact::Manifest &m) {
  for (int i = 0; i < m.kernels_size(); ++i) {
    const artifact::Kernel &k = m.kernels(i);
    std::string where = kernelWhere(k, i);
    if (collectiveOf(k)) { // runs through Collectives.h, never a generated kernel
      if (!k.source().empty() || k.tensor_maps_size() || k.uses_dims())
        return Status::error(where + ": a collective with a CUDA kernel '" + k.source() + "'");
      continue;
    }
    if (k.source().empty())
      return Status::error(where + ": no CUDA kernel generated for " + k.op());
    if (!k.has_launch())
      return Status::error(where + ": CUDA kernel '" + k.source() + "' has no launch geometry");
    const artifact::Launch &l = k.launch();
    if (l.grid_size() > 3 || l.block_size() > 3 || l.block_size() == 0)
      return Status::error(where + ": launch geometry of '" + k.source() +
                           "' needs 1-3 block dims and 0-3 grid dims");
    uint64_t threads = 1;
    for (uint32_t b : l.block())
      threads *= b;
    static const uint64_t kMaxGrid[3] = {2147483647u, 65535u, 65535u};
    static const uint32_t kMaxBlock[3] = {1024, 1024, 64};
    bool ok = threads >= 1 && threads <= 1024;
    for (int d = 0; d < l.grid_size(); ++d)
      ok = ok && l.grid(d) >= 1 && l.grid(d) <= kMaxGrid[d];
    for (int d = 0; d < l.block_size(); ++d)
      ok = ok && l.block(d) <= kMaxBlock[d];
    if (!ok) {
      std::string g, b;
      for (uint32_t v : l.grid())
        g += (g.empty() ? "" : "x") + std::to_string(v);
      for (uint32_t v : l.block())
        b += (b.empty() ? "" : "x") + std::to_string(v);
      return Status::error(where + ": launch geometry of '" + k.source() +
                           "' out of CUDA limits (grid " + (g.empty() ? "1" : g) + ", block " + b +
                           ")");
    }
    if (l.shared_bytes() > 227u * 1024)
      return Status::error(where + ": '" + k.source() + "' asks for " +
                           std::to_string(l.shared_bytes()) +
                           " bytes of dynamic shared memory (max 227 KiB)");
    EFFC_RETURN_IF_ERROR(checkTensorMaps(m, i));
  }
  return Status::OK();
}

namespace {
/// The buffer id of kernel argument `arg` (inputs, then outputs); -1 when
/// absent or out of range.
int argBuffer(const artifact::Kernel &k, uint32_t arg) {
  if (arg < uint32_t(k.inputs_size()))
    return k.inputs(int(arg));
  arg -= uint32_t(k.inputs_size());
  return arg < uint32_t(k.outputs_size()) ? k.outputs(int(arg)) : -1;
}

std::string mapWhere(const artifact::Manifest &m, int k, int i) {
  const artifact::Kernel &kernel = m.kernels(k);
  const artifact::TensorMap &t = kernel.tensor_maps(i);
  std::string text = kernelWhere(kernel, k) + ": tensor map " + std::to_string(i) +
                     " over argument " + std::to_string(t.arg());
  int b = argBuffer(kernel, t.arg());
  if (b >= 0 && b < m.buffers_size())
    text += " (buffer " + std::to_string(b) + " '" + m.buffers(b).name() + "')";
  return text;
}

int tensorMapDataType(int dtype) {
  switch (dtype) {
  case artifact::FLOAT16:
    return CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  case artifact::BFLOAT16:
    return CU_TENSOR_MAP_DATA_TYPE_BFLOAT16;
  case artifact::FLOAT32:
    return CU_TENSOR_MAP_DATA_TYPE_FLOAT32;
  default:
    return -1;
  }
}

template <typename C> std::string listText(const C &values) {
  std::string t;
  for (auto v : values)
    t += (t.empty() ? "" : ",") + std::to_string(v);
  return "[" + t + "]";
}
} // namespace

Status checkTensorMaps(const artifact::Manifest &m, int k) {
  const artifact::Kernel &kernel = m.kernels(k);
  for (int i = 0; i < kernel.tensor_maps_size(); ++i) {
    const artifact::TensorMap &t = kernel.tensor_maps(i);
    auto fail = [&](const std::string &what) {
      return Status::error(mapWhere(m, k, i) + ": " + what);
    };
    int b = argBuffer(kernel, t.arg());
    if (b < 0 || b >= m.buffers_size())
      return fail("names no buffer (the kernel has " + std::to_string(kernel.inputs_size()) +
                  " inputs and " + std::to_string(kernel.outputs_size()) + " outputs)");
    if (tensorMapDataType(t.dtype()) < 0)
      return fail("dtype " + std::to_string(t.dtype()) + " is not fp16, bf16 or fp32");
    const int rank = t.dims_size();
    if (rank < 1 || rank > 5 || t.strides_size() != rank - 1 || t.box_size() != rank ||
        t.element_strides_size() != rank)
      return fail("rank " + std::to_string(rank) + " with " + std::to_string(t.strides_size()) +
                  " strides, " + std::to_string(t.box_size()) + " box dims and " +
                  std::to_string(t.element_strides_size()) +
                  " element strides (rank 1..5, rank-1 strides, rank box dims and element "
                  "strides)");
    const uint64_t esize = t.dtype() == artifact::FLOAT32 ? 4 : 2;
    // The last byte the map can address, relative to its base.
    uint64_t extent = t.dims(0) * esize;
    for (int d = 0; d < rank; ++d) {
      if (t.dims(d) < 1 || t.dims(d) > (uint64_t(1) << 32))
        return fail("dims " + listText(t.dims()) + " outside 1..2^32");
      if (t.box(d) < 1 || t.box(d) > 256 || t.element_strides(d) < 1 || t.element_strides(d) > 8)
        return fail("box " + listText(t.box()) + " / element strides " +
                    listText(t.element_strides()) + " outside 1..256 / 1..8");
      if (d > 0) {
        uint64_t st = t.strides(d - 1);
        if (st % 16 || st >= (uint64_t(1) << 40))
          return fail("strides " + listText(t.strides()) +
                      " must be multiples of 16 bytes below 2^40");
        extent += (t.dims(d) - 1) * st;
      }
    }
    if (t.interleave() > 2 || t.swizzle() > 3 || t.l2_promotion() > 4 || t.oob_fill() > 1)
      return fail("interleave " + std::to_string(t.interleave()) + ", swizzle " +
                  std::to_string(t.swizzle()) + ", l2 promotion " +
                  std::to_string(t.l2_promotion()) + " or oob fill " +
                  std::to_string(t.oob_fill()) + " is not a cuda.h value");
    // A swizzled box row (inner box dim) is at most the swizzle span.
    static const uint64_t kSpan[4] = {0, 32, 64, 128};
    if (t.swizzle() && t.interleave() == 0 && t.box(0) * esize > kSpan[t.swizzle()])
      return fail("inner box of " + std::to_string(t.box(0) * esize) + " bytes exceeds the " +
                  std::to_string(kSpan[t.swizzle()]) + "-byte swizzle");
    if (extent > m.buffers(b).size_bytes())
      return fail("addresses " + std::to_string(extent) + " bytes, the buffer has " +
                  std::to_string(m.buffers(b).size_bytes()));
  }
  return Status::OK();
}

Status encodeTensorMap(const DriverApi &api, const artifact::Manifest &m, int k, int i,
                       CUdeviceptr address, CuTensorMap &out) {
  const artifact::TensorMap &t = m.kernels(k).tensor_maps(i);
  const std::string where = mapWhere(m, k, i);
  if (!api.cuTensorMapEncodeTiled)
    return Status::error("cuda backend: " + where +
                         ": the driver has no cuTensorMapEncodeTiled (a CUDA 12+ driver is "
                         "needed for TMA kernels; compile with --gemm=wgmma to avoid them)");
  if (address % 16)
    return Status::error("cuda backend: " + where + ": address 0x" + [&] {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%llx", (unsigned long long)address);
      return std::string(buf);
    }() + " is not 16-byte aligned (TMA needs it)");
  const unsigned rank = unsigned(t.dims_size());
  unsigned long long dims[5] = {}, strides[4] = {};
  unsigned box[5] = {}, elementStrides[5] = {};
  for (unsigned d = 0; d < rank && d < 5; ++d) {
    dims[d] = t.dims(int(d));
    box[d] = t.box(int(d));
    elementStrides[d] = t.element_strides(int(d));
    if (d > 0)
      strides[d - 1] = t.strides(int(d) - 1);
  }
  CUresult r = api.cuTensorMapEncodeTiled(&out, tensorMapDataType(t.dtype()), rank,
                                          reinterpret_cast<void *>(address), dims, strides, box,
                                          elementStrides, int(t.interleave()), int(t.swizzle()),
                                          int(t.l2_promotion()), int(t.oob_fill()));
  if (r == CUDA_SUCCESS)
    return Status::OK();
  const char *name = nullptr;
  if (api.cuGetErrorName)
    api.cuGetErrorName(r, &name);
  return Status::error("cuda backend: " + where + ": cuTensorMapEncodeTiled failed: " +
                       (name ? std::string(name) : "CUDA error " + std::to_string(r)) + " (dims " +
                       listText(t.dims()) + ", strides " + listText(t.strides()) + ", box " +
                       listText(t.box()) + ")");
}

std::vector<GridRule> gridRules(const artifact::Manifest &m, int k) {
  std::vector<GridRule> rules;
  for (const artifact::GridExpr &e : m.kernels(k).launch().grid_exprs()) {
    auto count = DimExpr::fromProto(e.count(), uint32_t(m.dims_size()));
    if (count.ok())
      rules.push_back(GridRule{int(e.axis()), *count, e.per_block(), e.cap()});
  }
  return rules;
}

std::vector<int64_t> bucketTops(const std::vector<int64_t> &values,
                                const std::vector<int64_t> &maxima) {
  std::vector<int64_t> tops(values.size());
  for (size_t d = 0; d < values.size(); ++d) {
    int64_t top = 1;
    while (top < values[d] && top < (int64_t(1) << 40))
      top *= 2;
    tops[d] = d < maxima.size() ? std::min(top, maxima[d]) : top;
  }
  return tops;
}

uint32_t runtimeGridDim(const GridRule &rule, const std::vector<int64_t> &values,
                        const std::vector<int64_t> &tops) {
  auto blocks = [&](const std::vector<int64_t> &at) {
    std::optional<int64_t> n = rule.count.eval(at);
    // Overflow or a negative count: the cap (the grid at the upper bounds).
    if (!n || *n < 0)
      return rule.cap;
    uint64_t b = (uint64_t(*n) + rule.perBlock - 1) / rule.perBlock;
    return std::clamp<uint64_t>(b, 1, rule.cap);
  };
  return uint32_t(std::max(blocks(values), blocks(tops)));
}

std::vector<std::string> kernelFunctions(const artifact::Manifest &m) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const artifact::Kernel &k : m.kernels())
    if (!k.source().empty() && seen.insert(k.source()).second)
      names.push_back(k.source());
  return names;
}

StatusOr<std::optional<std::string>>
embeddedCubin(const artifact::Manifest &m, const std::string &payload, const std::string &arch) {
  for (const artifact::Cubin &c : m.cubins()) {
    if (c.arch() != arch)
      continue;
    if (c.size() == 0 || !inPayload(c.offset(), c.size(), payload))
      return Status::error("embedded cubin for " + arch + " [" + std::to_string(c.offset()) +
                           ", +" + std::to_string(c.size()) + ") is outside the payload (" +
                           std::to_string(payload.size()) + " bytes)");
    return std::optional<std::string>(payload.substr(c.offset(), c.size()));
  }
  return std::optional<std::string>();
}

Status checkCubinHasKernels(const artifact::Manifest &m, const std::string &cubin,
                            const std::string &what) {
  auto fns = nvrtc::cubinFunctions(cubin.data(), cubin.size());
  if (!fns.ok())
    return fns.status().withPrefix(what);
  std::set<std::string> have(fns->begin(), fns->end());
  std::string missing;
  for (const std::string &n : kernelFunctions(m))
    if (!have.count(n))
      missing += (missing.empty() ? "" : ", ") + n;
  if (!missing.empty())
    return Status::error(what + ": kernel function(s) not found: " + missing);
  return Status::OK();
}

} // namespace effc::cuda

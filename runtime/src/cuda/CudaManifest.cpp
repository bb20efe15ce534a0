#include "cuda/CudaManifest.h"

#include "cuda/Nvrtc.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
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
  }
  return Status::OK();
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

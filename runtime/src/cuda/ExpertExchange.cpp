// The token exchange of expert parallelism on the cuda backend
// (cuda/ExpertExchange.h): the rows planned on the host from the routing,
// moved by compiler/codegen/device/expert_exchange.cuh (embedded at build
// time with primitives.cuh before it, runtime/src/CMakeLists.txt; compiled
// by NVRTC for each GPU's arch through the kernel cache, loaded once per GPU
// and process) around Collectives::allToAllv.
#include "cuda/ExpertExchange.h"

#include "cuda/CudaManifest.h"
#include "cuda/RuntimeModule.h"
#include "host/MoEExchange.h"

namespace effc::cuda {
namespace {

#include "ExpertExchangeDeviceFiles.inc"

struct Functions {
  CUfunction gather = nullptr, combine = nullptr, fill = nullptr;
};

/// The row kernels on `d`'s GPU, compiled and loaded once per process.
StatusOr<Functions> loadFunctions(const Driver &d, const SessionOptions &o) {
  return loadOncePerProcess<Functions>(&d, [&]() -> StatusOr<Functions> {
    Functions f;
    EFFC_RETURN_IF_ERROR(loadRuntimeModule(d, o, expertExchangeSource(),
                                           "the expert exchange kernels", "expert_exchange.cuh",
                                           {{&f.gather, "effc_expert_gather_rows"},
                                            {&f.combine, "effc_expert_combine_rows"},
                                            {&f.fill, "effc_expert_fill"}}));
    return f;
  });
}

/// One rank's scratch, sized for the largest exchange.
struct Scratch {
  CUdeviceptr sendX = 0, sendE = 0, sendW = 0, staging = 0, gatherIdx = 0, combineIdx = 0;
  size_t sendXBytes = 0, sendEBytes = 0, sendWBytes = 0, stagingBytes = 0, idxBytes = 0;
  Functions fn;
  std::vector<int64_t> routing; // the rank's routing, read back
};

} // namespace

struct ExpertExchange::Impl {
  const artifact::Manifest *m = nullptr;
  std::vector<ExchangeRank> ranks;
  std::vector<Scratch> scratch;

  const artifact::Buffer &buffer(int32_t id) const { return m->buffers(id); }
  int64_t dim(int32_t id, int d) const { return buffer(id).shape(d); }
  CUdeviceptr at(size_t rank, int32_t id) const { return (*ranks[rank].ptr)[size_t(id)]; }

  std::string where(int k) const { return kernelWhere(m->kernels(k), k); }

  Status launch(size_t rank, CUfunction fn, unsigned grid, std::vector<void *> args,
                const std::string &what) {
    const ExchangeRank &r = ranks[rank];
    EFFC_RETURN_IF_ERROR(r.d->makeCurrent());
    return r.d->check(
        r.d->api.cuLaunchKernel(fn, grid, 1, 1, 128, 1, 1, 0, r.stream, args.data(), nullptr),
        what + " (device " + std::to_string(rank) + ")");
  }

  Status fill(size_t rank, CUdeviceptr dst, int64_t bytes, int value, const std::string &what) {
    if (bytes <= 0)
      return Status::OK();
    int64_t n = bytes;
    const unsigned grid = unsigned(std::min<int64_t>((bytes + 127) / 128, 1024));
    return launch(rank, scratch[rank].fn.fill, grid, {&dst, &n, &value}, what);
  }

  Status upload(size_t rank, CUdeviceptr dst, const std::vector<int64_t> &v,
                const std::string &what) {
    if (v.empty())
      return Status::OK();
    const ExchangeRank &r = ranks[rank];
    EFFC_RETURN_IF_ERROR(r.d->makeCurrent());
    return r.d->check(
        r.d->api.cuMemcpyHtoDAsync(dst, v.data(), v.size() * sizeof(int64_t), r.stream), what);
  }

  /// Every rank's routing on the host (after everything enqueued before it),
  /// then the plan of the rows.
  StatusOr<host::ExchangePlan> plan(int k, const CollectiveKernel &c, int firstRouting) {
    const artifact::Kernel &kr = m->kernels(k);
    const size_t n = ranks.size();
    std::vector<const int64_t *> rows;
    std::vector<int64_t> tokens;
    int64_t slots = 0;
    for (size_t r = 0; r < n; ++r) {
      const int32_t id = kr.inputs(firstRouting + int(r));
      const ExchangeRank &rank = ranks[r];
      Scratch &s = scratch[r];
      tokens.push_back(dim(id, 0));
      slots = dim(id, 1);
      s.routing.resize(size_t(tokens.back() * slots));
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      if (!s.routing.empty())
        EFFC_RETURN_IF_ERROR(rank.d->check(
            rank.d->api.cuMemcpyDtoHAsync(s.routing.data(), at(r, id),
                                          s.routing.size() * sizeof(int64_t), rank.stream),
            where(k) + ": reading the routing of device " + std::to_string(r)));
    }
    for (size_t r = 0; r < n; ++r) {
      EFFC_RETURN_IF_ERROR(ranks[r].d->makeCurrent());
      EFFC_RETURN_IF_ERROR(
          ranks[r].d->check(ranks[r].d->api.cuStreamSynchronize(ranks[r].stream),
                            where(k) + ": waiting for the routing of device " + std::to_string(r)));
      rows.push_back(scratch[r].routing.data());
    }
    return host::planExchange(rows, tokens, slots, c.expertSplits);
  }

  Status dispatch(int k, const CollectiveKernel &c, Collectives &coll) {
    const artifact::Kernel &kr = m->kernels(k);
    const size_t n = ranks.size();
    auto p = plan(k, c, int(n));
    if (!p.ok())
      return p.status();
    const DType xType = DType(buffer(kr.inputs(0)).dtype());
    const int64_t H = dim(kr.inputs(0), 1), K = dim(kr.inputs(int(n)), 1);
    const int64_t es = int64_t(dtypeSize(xType));
    for (size_t r = 0; r < n; ++r) { // the send rows, grouped by destination
      Scratch &s = scratch[r];
      const std::vector<int64_t> &idx = p->sendRows[r];
      EFFC_RETURN_IF_ERROR(upload(r, s.gatherIdx, idx, where(k) + ": the send rows"));
      if (idx.empty())
        continue;
      int64_t rows = int64_t(idx.size());
      for (auto [src, dst, bytes] :
           {std::tuple{at(r, kr.inputs(int(r))), s.sendX, H * es},
            {at(r, kr.inputs(int(n + r))), s.sendE, K * int64_t(sizeof(int64_t))},
            {at(r, kr.inputs(int(2 * n + r))), s.sendW, K * int64_t(sizeof(float))}}) {
        int64_t rowBytes = bytes;
        EFFC_RETURN_IF_ERROR(launch(r, s.fn.gather, unsigned(rows),
                                    {&src, &s.gatherIdx, &rows, &rowBytes, &dst},
                                    where(k) + ": gathering the send rows"));
      }
    }
    std::vector<const void *> sendX(n), sendE(n), sendW(n);
    std::vector<void *> recvX(n), recvE(n), recvW(n);
    std::vector<std::vector<size_t>> cx(n, std::vector<size_t>(n)), ck = cx;
    for (size_t q = 0; q < n; ++q) {
      sendX[q] = reinterpret_cast<const void *>(scratch[q].sendX);
      sendE[q] = reinterpret_cast<const void *>(scratch[q].sendE);
      sendW[q] = reinterpret_cast<const void *>(scratch[q].sendW);
      recvX[q] = reinterpret_cast<void *>(at(q, kr.outputs(int(q))));
      recvE[q] = reinterpret_cast<void *>(at(q, kr.outputs(int(n + q))));
      recvW[q] = reinterpret_cast<void *>(at(q, kr.outputs(int(2 * n + q))));
      for (size_t pp = 0; pp < n; ++pp) {
        cx[q][pp] = size_t(p->counts[q][pp] * H);
        ck[q][pp] = size_t(p->counts[q][pp] * K);
      }
    }
    EFFC_RETURN_IF_ERROR(coll.allToAllv(sendX, recvX, cx, xType).withPrefix(where(k) + ": x: "));
    EFFC_RETURN_IF_ERROR(
        coll.allToAllv(sendE, recvE, ck, DType::INT64).withPrefix(where(k) + ": experts: "));
    EFFC_RETURN_IF_ERROR(
        coll.allToAllv(sendW, recvW, ck, DType::FLOAT32).withPrefix(where(k) + ": weights: "));
    for (size_t j = 0; j < n; ++j) { // padding after the received rows
      int64_t got = 0;
      for (size_t q = 0; q < n; ++q)
        got += p->counts[q][j];
      const int64_t capacity = dim(kr.outputs(int(j)), 0), pad = capacity - got;
      const std::string what = where(k) + ": the padding rows";
      EFFC_RETURN_IF_ERROR(
          fill(j, at(j, kr.outputs(int(j))) + CUdeviceptr(got * H * es), pad * H * es, 0, what));
      EFFC_RETURN_IF_ERROR(fill(j, at(j, kr.outputs(int(n + j))) + CUdeviceptr(got * K * 8),
                                pad * K * 8, 0xff, what));
      EFFC_RETURN_IF_ERROR(fill(j, at(j, kr.outputs(int(2 * n + j))) + CUdeviceptr(got * K * 4),
                                pad * K * 4, 0, what));
    }
    return Status::OK();
  }

  Status combine(int k, const CollectiveKernel &c, Collectives &coll) {
    const artifact::Kernel &kr = m->kernels(k);
    const size_t n = ranks.size();
    auto p = plan(k, c, int(n));
    if (!p.ok())
      return p.status();
    const DType yType = DType(buffer(kr.inputs(0)).dtype());
    int64_t H = dim(kr.inputs(0), 1);
    std::vector<const void *> send(n);
    std::vector<void *> recv(n);
    std::vector<std::vector<size_t>> counts(n, std::vector<size_t>(n));
    for (size_t j = 0; j < n; ++j) {
      send[j] = reinterpret_cast<const void *>(at(j, kr.inputs(int(j))));
      recv[j] = reinterpret_cast<void *>(scratch[j].staging);
      for (size_t i = 0; i < n; ++i)
        counts[j][i] = size_t(p->counts[i][j] * H); // back where each came from
    }
    EFFC_RETURN_IF_ERROR(coll.allToAllv(send, recv, counts, yType).withPrefix(where(k) + ": "));
    int dtype = runtimeDtypeCode(yType);
    for (size_t i = 0; i < n; ++i) {
      Scratch &s = scratch[i];
      int64_t tokens = dim(kr.outputs(int(i)), 0), devices = int64_t(n);
      if (tokens == 0)
        continue;
      EFFC_RETURN_IF_ERROR(upload(i, s.combineIdx, p->combineRows[i], where(k) + ": the rows"));
      CUdeviceptr out = at(i, kr.outputs(int(i)));
      EFFC_RETURN_IF_ERROR(launch(i, s.fn.combine, unsigned(tokens),
                                  {&s.staging, &s.combineIdx, &tokens, &devices, &H, &dtype, &out},
                                  where(k) + ": summing the returned rows"));
    }
    return Status::OK();
  }
};

ExpertExchange::ExpertExchange(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ExpertExchange::~ExpertExchange() {
  for (size_t r = 0; r < impl_->ranks.size(); ++r) {
    const Driver *d = impl_->ranks[r].d;
    if (!d || !d->makeCurrent().ok())
      continue;
    const Scratch &s = impl_->scratch[r];
    for (CUdeviceptr p : {s.sendX, s.sendE, s.sendW, s.staging, s.gatherIdx, s.combineIdx})
      if (p)
        d->api.cuMemFree(p);
  }
}

StatusOr<std::unique_ptr<ExpertExchange>>
ExpertExchange::create(const artifact::Manifest &m, const std::vector<ExchangeRank> &ranks,
                       const SessionOptions &options) {
  auto impl = std::make_unique<Impl>();
  impl->m = &m;
  impl->ranks = ranks;
  impl->scratch.resize(ranks.size());
  const size_t n = ranks.size();
  bool any = false;
  for (int k = 0; k < m.kernels_size(); ++k) {
    std::optional<CollectiveKernel> c = collectiveOf(m.kernels(k));
    if (!c || !c->outputsPerDevice())
      continue;
    any = true;
    const artifact::Kernel &kr = m.kernels(k);
    if (!c->devicesInOrder(n))
      return Status::error("cuda backend: " + impl->where(k) +
                           ": the cuda backend exchanges tokens between devices 0.." +
                           std::to_string(int(n) - 1) + " listed in order");
    const int32_t x = kr.inputs(0);
    const DType dtype = DType(m.buffers(x).dtype());
    if (c->op == EffOp::ExpertCombineOp && runtimeDtypeCode(dtype) < 0)
      return Status::error("cuda backend: " + impl->where(k) + ": combines " + dtypeName(dtype) +
                           " rows (float32, float16 or bfloat16 only)");
    const size_t H = size_t(impl->dim(x, 1)), es = dtypeSize(dtype);
    for (size_t r = 0; r < n; ++r) {
      Scratch &s = impl->scratch[r];
      const int32_t routing = kr.inputs(int(n + r));
      const size_t most = size_t(impl->dim(routing, 0)) * n, K = size_t(impl->dim(routing, 1));
      s.idxBytes = std::max(s.idxBytes, most * sizeof(int64_t));
      if (c->op == EffOp::ExpertDispatchOp) {
        s.sendXBytes = std::max(s.sendXBytes, most * H * es);
        s.sendEBytes = std::max(s.sendEBytes, most * K * sizeof(int64_t));
        s.sendWBytes = std::max(s.sendWBytes, most * K * sizeof(float));
      } else {
        s.stagingBytes = std::max(s.stagingBytes, most * H * es);
      }
    }
  }
  if (!any)
    return std::unique_ptr<ExpertExchange>();
  for (size_t r = 0; r < n; ++r) {
    Scratch &s = impl->scratch[r];
    const Driver &d = *ranks[r].d;
    auto fn = loadFunctions(d, options);
    if (!fn.ok())
      return fn.status();
    s.fn = *fn;
    EFFC_RETURN_IF_ERROR(d.makeCurrent());
    for (auto [ptr, bytes] : {std::pair{&s.sendX, s.sendXBytes},
                              {&s.sendE, s.sendEBytes},
                              {&s.sendW, s.sendWBytes},
                              {&s.staging, s.stagingBytes},
                              {&s.gatherIdx, s.idxBytes},
                              {&s.combineIdx, s.idxBytes}})
      if (bytes)
        EFFC_RETURN_IF_ERROR(
            d.check(d.api.cuMemAlloc(ptr, bytes), "allocating " + std::to_string(bytes) +
                                                      " bytes of expert exchange scratch (device " +
                                                      std::to_string(r) + ")"));
  }
  return std::unique_ptr<ExpertExchange>(new ExpertExchange(std::move(impl)));
}

Status ExpertExchange::run(int k, const CollectiveKernel &c, Collectives &collectives) {
  if (c.op == EffOp::ExpertDispatchOp)
    return impl_->dispatch(k, c, collectives);
  return impl_->combine(k, c, collectives);
}

std::string expertExchangeSource() { return joinDeviceFiles(kDeviceFiles); }

} // namespace effc::cuda

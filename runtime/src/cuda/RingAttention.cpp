// Ring attention on the cuda backend (cuda/RingAttention.h): the hops,
// sends and gather around compiler/codegen/device/ring_attention.cuh
// (embedded at build time with primitives.cuh before it, runtime/src/
// CMakeLists.txt; compiled by NVRTC for each GPU's arch through the kernel
// cache, loaded once per GPU and process).
#include "cuda/RingAttention.h"

#include "cuda/CudaManifest.h"
#include "cuda/RuntimeModule.h"
#include "effc/Tensor.h"

#include <algorithm>
#include <map>

namespace effc::cuda {
namespace {

#include "RingAttentionDeviceFiles.inc"

constexpr unsigned kThreads = 128;

struct Functions {
  CUfunction attend = nullptr, finalize = nullptr, place = nullptr;
};

/// The ring kernels on `d`'s GPU, compiled and loaded once per process.
StatusOr<Functions> loadFunctions(const Driver &d, const SessionOptions &o) {
  return loadOncePerProcess<Functions>(&d, [&]() -> StatusOr<Functions> {
    Functions f;
    EFFC_RETURN_IF_ERROR(loadRuntimeModule(d, o, ringAttentionSource(),
                                           "the ring attention kernels", "ring_attention.cuh",
                                           {{&f.attend, "effc_ring_attend"},
                                            {&f.finalize, "effc_ring_finalize"},
                                            {&f.place, "effc_ring_place"}}));
    return f;
  });
}

/// One rank's scratch, sized for the largest ring kernel.
struct Scratch {
  CUdeviceptr kv[2] = {0, 0}, o = 0, ml = 0, mine = 0, staging = 0;
  size_t kvBytes = 0, oBytes = 0, mlBytes = 0, mineBytes = 0, stagingBytes = 0;
  Functions fn;
};

} // namespace

StatusOr<RingKernelShape> ringKernelShape(const artifact::Manifest &m, int k, int ranks) {
  const artifact::Kernel &kr = m.kernels(k);
  const std::string where = "cuda backend: " + kernelWhere(m.kernels(k), k) + ": ";
  std::optional<CollectiveKernel> c = collectiveOf(kr);
  if (!c || c->op != EffOp::RingAttentionOp)
    return Status::error(where + "not an eff.ring_attention");
  const int n = ranks;
  if (!c->devicesInOrder(size_t(n)))
    return Status::error(where + "the cuda backend runs the ring over devices 0.." +
                         std::to_string(n - 1) + " listed in order");
  if (kr.inputs_size() != 3 * n || kr.outputs_size() != 1)
    return Status::error(where + std::to_string(kr.inputs_size()) + " inputs and " +
                         std::to_string(kr.outputs_size()) + " outputs (3 blocks a device, 1)");
  auto shape = [&](int32_t id) {
    const artifact::Buffer &b = m.buffers(id);
    return std::vector<int64_t>(b.shape().begin(), b.shape().end());
  };
  const std::vector<int64_t> qs = shape(kr.inputs(0)), ks = shape(kr.inputs(n)),
                             vs = shape(kr.inputs(2 * n)), ys = shape(kr.outputs(0));
  if (qs.size() != 4 || ks.size() != 4 || vs.size() != 4 || ys.size() != 4)
    return Status::error(where + "q, k, v blocks and the result must be 4-D");
  RingKernelShape s;
  s.B = qs[0], s.Hq = qs[1], s.n = qs[2], s.D = qs[3], s.Hkv = ks[1], s.Dv = vs[3], s.N = n;
  s.dtype = DType(m.buffers(kr.inputs(0)).dtype());
  if (runtimeDtypeCode(s.dtype) < 0)
    return Status::error(where + dtypeName(s.dtype) +
                         " blocks (float32, float16 or bfloat16 only)");
  if (s.B < 1 || s.n < 1 || s.D < 1 || s.Dv < 1 || s.Hkv < 1 || s.Hq % s.Hkv != 0)
    return Status::error(where + "q " + shapeToString(qs) + ", k " + shapeToString(ks) +
                         ": empty blocks or query heads not a multiple of kv heads");
  for (int g = 0; g < 3; ++g) {
    const std::vector<int64_t> want = g == 0   ? qs
                                      : g == 1 ? std::vector<int64_t>{s.B, s.Hkv, s.n, s.D}
                                               : std::vector<int64_t>{s.B, s.Hkv, s.n, s.Dv};
    for (int i = 0; i < n; ++i) {
      const int32_t id = kr.inputs(g * n + i);
      if (shape(id) != want || DType(m.buffers(id).dtype()) != s.dtype)
        return Status::error(where + "block " + std::to_string(g * n + i) + " is " +
                             dtypeName(DType(m.buffers(id).dtype())) + " " +
                             shapeToString(shape(id)) + ", expected " + dtypeName(s.dtype) + " " +
                             shapeToString(want));
    }
  }
  if (ys != std::vector<int64_t>{s.B, s.Hq, s.n * n, s.Dv} ||
      DType(m.buffers(kr.outputs(0)).dtype()) != s.dtype)
    return Status::error(where + "result " + shapeToString(ys) + ", expected " +
                         shapeToString({s.B, s.Hq, s.n * n, s.Dv}) + " of the blocks' dtype");
  // D floats of query and one score a thread in shared memory (48 KiB).
  if ((s.D + kThreads + 32) * 4 > 48 * 1024)
    return Status::error(where + "head size " + std::to_string(s.D) + " (at most " +
                         std::to_string(48 * 1024 / 4 - kThreads - 32) + ")");
  for (const char *dim : {"B", "Hq"})
    if ((dim[0] == 'B' ? s.B : s.Hq) > 65535)
      return Status::error(where + dim + " above 65535 (a grid dimension)");
  auto attr = [&](const char *name) -> const artifact::Attr * {
    auto it = kr.attrs().find(name);
    return it == kr.attrs().end() ? nullptr : &it->second;
  };
  if (const artifact::Attr *a = attr("scale"))
    s.scale = float(a->f());
  if (const artifact::Attr *a = attr("causal"))
    s.causal = a->i() != 0;
  if (const artifact::Attr *a = attr("striped"))
    s.striped = a->i() != 0;
  if (const artifact::Attr *a = attr("num_kv_heads"); a && a->i() != s.Hkv)
    return Status::error(where + "num_kv_heads " + std::to_string(a->i()) + " differs from the k " +
                         "blocks' " + std::to_string(s.Hkv) + " heads");
  return s;
}

bool ringBlockSkipped(const RingKernelShape &s, int qOrigin, int kOrigin) {
  if (!s.causal)
    return false;
  // The block's first key after the position's last query.
  const int64_t lastQuery = s.striped ? qOrigin + (s.n - 1) * s.N : qOrigin * s.n + s.n - 1;
  const int64_t firstKey = s.striped ? kOrigin : kOrigin * s.n;
  return firstKey > lastQuery;
}

struct RingAttention::Impl {
  const artifact::Manifest *m = nullptr;
  std::vector<ExchangeRank> ranks;
  std::vector<Scratch> scratch;
  std::map<int, RingKernelShape> shapes;

  CUdeviceptr at(size_t rank, int32_t id) const { return (*ranks[rank].ptr)[size_t(id)]; }

  Status launch(size_t rank, CUfunction fn, const unsigned grid[3], unsigned shared,
                std::vector<void *> args, const std::string &what) {
    const ExchangeRank &r = ranks[rank];
    EFFC_RETURN_IF_ERROR(r.d->makeCurrent());
    return r.d->check(r.d->api.cuLaunchKernel(fn, grid[0], grid[1], grid[2], kThreads, 1, 1, shared,
                                              r.stream, args.data(), nullptr),
                      what + " (device " + std::to_string(rank) + ")");
  }

  Status run(int k, Collectives &coll) {
    const RingKernelShape &s = shapes.at(k);
    const artifact::Kernel &kr = m->kernels(k);
    const std::string where = kernelWhere(m->kernels(k), k);
    const int N = s.N;
    const size_t es = dtypeSize(s.dtype);
    const size_t kElems = size_t(s.B * s.Hkv * s.n * s.D),
                 vElems = size_t(s.B * s.Hkv * s.n * s.Dv);
    int64_t Hq = s.Hq, Hkv = s.Hkv, n = s.n, D = s.D, Dv = s.Dv, NN = N;
    float scale = s.scale;
    int causal = s.causal, striped = s.striped, dtype = runtimeDtypeCode(s.dtype);
    // The block position p holds at `hop`: its k and v addresses.
    auto block = [&](int p, int hop) {
      const int slot = ringSlot(hop);
      if (slot < 0)
        return std::pair{at(size_t(p), kr.inputs(N + p)), at(size_t(p), kr.inputs(2 * N + p))};
      const CUdeviceptr base = scratch[size_t(p)].kv[slot];
      return std::pair{base, base + CUdeviceptr(kElems * es)};
    };
    for (int hop = 0; hop < N; ++hop) {
      for (int p = 0; p < N; ++p) {
        const int origin = ringOrigin(p, hop, N);
        if (ringBlockSkipped(s, p, origin))
          continue;
        Scratch &sc = scratch[size_t(p)];
        auto [kp, vp] = block(p, hop);
        CUdeviceptr qp = at(size_t(p), kr.inputs(p)), o = sc.o, mm = sc.ml,
                    ll = sc.ml + CUdeviceptr(s.B * s.Hq * s.n * 4);
        int64_t qOrigin = p, kOrigin = origin;
        int first = hop == 0;
        const unsigned grid[3] = {unsigned(s.n), unsigned(s.Hq), unsigned(s.B)};
        EFFC_RETURN_IF_ERROR(launch(size_t(p), sc.fn.attend, grid, unsigned((s.D + kThreads) * 4),
                                    {&qp, &kp, &vp, &o, &mm, &ll, &Hq, &Hkv, &n, &D, &Dv, &scale,
                                     &causal, &striped, &NN, &qOrigin, &kOrigin, &first, &dtype},
                                    where + ": hop " + std::to_string(hop)));
      }
      if (hop + 1 == N)
        break;
      std::vector<Transfer> sends;
      for (int p = 0; p < N; ++p) {
        const int to = ringNext(p, N);
        auto [kp, vp] = block(p, hop);
        const CUdeviceptr dst = scratch[size_t(to)].kv[ringSlot(hop + 1)];
        sends.push_back(
            {p, to, reinterpret_cast<const void *>(kp), reinterpret_cast<void *>(dst), kElems});
        sends.push_back({p, to, reinterpret_cast<const void *>(vp),
                         reinterpret_cast<void *>(dst + CUdeviceptr(kElems * es)), vElems});
      }
      EFFC_RETURN_IF_ERROR(coll.sendRecv(sends, s.dtype)
                               .withPrefix(where + ": K/V hop " + std::to_string(hop + 1) + ": "));
    }
    int64_t rows = s.B * s.Hq * s.n;
    std::vector<const void *> send(static_cast<size_t>(N));
    std::vector<void *> recv(static_cast<size_t>(N));
    for (int p = 0; p < N; ++p) {
      Scratch &sc = scratch[size_t(p)];
      CUdeviceptr o = sc.o, ll = sc.ml + CUdeviceptr(rows * 4), mine = sc.mine;
      const unsigned grid[3] = {unsigned(rows), 1, 1};
      EFFC_RETURN_IF_ERROR(launch(size_t(p), sc.fn.finalize, grid, 0,
                                  {&o, &ll, &rows, &Dv, &dtype, &mine},
                                  where + ": normalizing the rows"));
      send[size_t(p)] = reinterpret_cast<const void *>(sc.mine);
      recv[size_t(p)] = reinterpret_cast<void *>(sc.staging);
    }
    EFFC_RETURN_IF_ERROR(coll.allGather(send, recv, size_t(rows * s.Dv), s.dtype)
                             .withPrefix(where + ": gathering the rows: "));
    int64_t B = s.B, rowBytes = s.Dv * int64_t(es);
    for (int p = 0; p < N; ++p) {
      Scratch &sc = scratch[size_t(p)];
      CUdeviceptr staged = sc.staging, out = at(size_t(p), kr.outputs(0));
      const unsigned grid[3] = {unsigned(s.n * N), unsigned(s.Hq), unsigned(s.B)};
      EFFC_RETURN_IF_ERROR(launch(size_t(p), sc.fn.place, grid, 0,
                                  {&staged, &B, &Hq, &n, &NN, &rowBytes, &striped, &out},
                                  where + ": placing the rows in token order"));
    }
    return Status::OK();
  }
};

RingAttention::RingAttention(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RingAttention::~RingAttention() {
  for (size_t r = 0; r < impl_->ranks.size(); ++r) {
    const Driver *d = impl_->ranks[r].d;
    if (!d || !d->makeCurrent().ok())
      continue;
    const Scratch &s = impl_->scratch[r];
    for (CUdeviceptr p : {s.kv[0], s.kv[1], s.o, s.ml, s.mine, s.staging})
      if (p)
        d->api.cuMemFree(p);
  }
}

StatusOr<std::unique_ptr<RingAttention>>
RingAttention::create(const artifact::Manifest &m, const std::vector<ExchangeRank> &ranks,
                      const SessionOptions &options) {
  auto impl = std::make_unique<Impl>();
  impl->m = &m;
  impl->ranks = ranks;
  impl->scratch.resize(ranks.size());
  const int n = int(ranks.size());
  for (int k = 0; k < m.kernels_size(); ++k) {
    std::optional<CollectiveKernel> c = collectiveOf(m.kernels(k));
    if (!c || c->op != EffOp::RingAttentionOp)
      continue;
    auto s = ringKernelShape(m, k, n);
    if (!s.ok())
      return s.status();
    impl->shapes[k] = *s;
    const size_t es = dtypeSize(s->dtype), rows = size_t(s->B * s->Hq * s->n);
    for (Scratch &sc : impl->scratch) {
      sc.kvBytes = std::max(sc.kvBytes, size_t(s->B * s->Hkv * s->n * (s->D + s->Dv)) * es);
      sc.oBytes = std::max(sc.oBytes, rows * size_t(s->Dv) * 4);
      sc.mlBytes = std::max(sc.mlBytes, rows * 2 * 4);
      sc.mineBytes = std::max(sc.mineBytes, rows * size_t(s->Dv) * es);
      sc.stagingBytes = std::max(sc.stagingBytes, rows * size_t(s->Dv) * es * size_t(n));
    }
  }
  if (impl->shapes.empty())
    return std::unique_ptr<RingAttention>();
  for (size_t r = 0; r < ranks.size(); ++r) {
    Scratch &s = impl->scratch[r];
    const Driver &d = *ranks[r].d;
    auto fn = loadFunctions(d, options);
    if (!fn.ok())
      return fn.status();
    s.fn = *fn;
    EFFC_RETURN_IF_ERROR(d.makeCurrent());
    for (auto [ptr, bytes] : {std::pair{&s.kv[0], s.kvBytes},
                              {&s.kv[1], s.kvBytes},
                              {&s.o, s.oBytes},
                              {&s.ml, s.mlBytes},
                              {&s.mine, s.mineBytes},
                              {&s.staging, s.stagingBytes}})
      if (bytes)
        EFFC_RETURN_IF_ERROR(
            d.check(d.api.cuMemAlloc(ptr, bytes), "allocating " + std::to_string(bytes) +
                                                      " bytes of ring attention scratch (device " +
                                                      std::to_string(r) + ")"));
  }
  return std::unique_ptr<RingAttention>(new RingAttention(std::move(impl)));
}

Status RingAttention::run(int k, Collectives &collectives) { return impl_->run(k, collectives); }

std::string ringAttentionSource() { return joinDeviceFiles(kDeviceFiles); }

} // namespace effc::cuda

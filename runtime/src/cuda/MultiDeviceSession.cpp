// The cuda backend on a partitioned artifact (cuda/MultiDeviceSession.h).
#include "cuda/MultiDeviceSession.h"

#include "DevicePlan.h"
#include "ModelManifest.h"
#include "cuda/CudaManifest.h"
#include "cuda/DeviceModel.h"
#include "cuda/ExpertExchange.h"
#include "cuda/Nccl.h"
#include "cuda/RingAttention.h"
#include "cuda/StreamCollectives.h"
#include "effc/Session.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace effc::cuda {
namespace {

using artifact::Buffer;

/// One rank: its GPU, module and weights (shared by ranks on one GPU), its
/// arena and dims buffer, and scratch for the collectives.
struct Rank {
  const Driver *d = nullptr;
  std::shared_ptr<DeviceModel> dm;
  CUstream stream = nullptr; // the collectives' stream of this rank
  CUdeviceptr arena = 0, dims = 0;
  CUdeviceptr zeros = 0;        // all-reduce: the partial of a rank that holds none
  CUdeviceptr staging = 0;      // all-gather along an inner axis: the gathered blocks
  std::vector<CUdeviceptr> ptr; // per manifest buffer
};

/// A generated kernel on one rank.
struct Launch {
  int rank = 0;
  CUfunction fn = nullptr;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1}, shared = 0;
  std::vector<CUdeviceptr> args;
  std::vector<CuTensorMap> maps;
  std::vector<void *> argPtrs;
  std::vector<GridRule> rules;
};

/// One manifest kernel: its launches (one rank, or every rank), or a
/// collective.
struct Step {
  int kernel = 0;
  std::vector<Launch> launches;
  std::optional<CollectiveKernel> collective;
  // all_gather: bytes of one block (`inner` bytes per outer index).
  size_t count = 0, outer = 1, inner = 0;
  // all_gather on axis 0 of blocks of different sizes (the token shards of
  // --expert-parallel=all-to-all when N does not divide T): each block's
  // elements, copied by Collectives::sendRecv (gatherTransfers).
  std::vector<size_t> blockCounts;
};

class MultiDeviceSession : public BackendSession {
public:
  static StatusOr<std::unique_ptr<BackendSession>> create(std::shared_ptr<const Model> model,
                                                          const SessionOptions &options) {
    std::unique_ptr<MultiDeviceSession> s(new MultiDeviceSession);
    s->model_ = std::move(model);
    s->syncEach_ = options.syncAfterEachKernel;
    Status st = s->init(options);
    if (!st.ok())
      return st.withPrefix(s->model_->path());
    return std::unique_ptr<BackendSession>(std::move(s));
  }

  ~MultiDeviceSession() override {
    if (collectives_)
      (void)collectives_->synchronize();
    for (Rank &r : ranks_) {
      if (!r.d || !r.d->makeCurrent().ok())
        continue;
      for (CUdeviceptr p : {r.arena, r.dims, r.zeros, r.staging})
        if (p)
          r.d->api.cuMemFree(p);
    }
  }

  Status setDims(const std::vector<int64_t> &values) override {
    if (values.size() != dimValues_.size())
      return Status::error(model_->path() + ": cuda backend: " + std::to_string(values.size()) +
                           " dim values for " + std::to_string(dimValues_.size()) + " dims");
    dimValues_ = values;
    return Status::OK();
  }

  Status run(const std::vector<Tensor> &inputs, const std::vector<MutableTensor> &outputs,
             RunProfile *profile) override {
    return runImpl(inputs, outputs, profile).withPrefix(model_->path());
  }

private:
  MultiDeviceSession() = default;

  const artifact::Manifest &manifest() const { return manifestOf(*model_); }

  Status init(const SessionOptions &options) {
    const artifact::Manifest &m = manifest();
    const int n = options.devices;
    const int planned = std::max(1, int(m.devices()));
    if (planned == 1)
      return Status::error("cuda backend: devices = " + std::to_string(n) +
                           " but the artifact is not partitioned (compile it with effc --devices=" +
                           std::to_string(n) + ")");
    if (n != planned)
      return Status::error("cuda backend: devices = " + std::to_string(n) +
                           " but the artifact was partitioned "
                           "for " +
                           std::to_string(planned) + " (effc --devices=" + std::to_string(planned) +
                           ")");
    auto placement = placeKernels(m, n, "device plan");
    if (!placement.ok())
      return placement.status().withPrefix("cuda backend");
    placement_ = std::move(*placement);
    for (int k = 0; k < m.kernels_size(); ++k) // checked before a GPU is opened
      if (std::optional<CollectiveKernel> c = collectiveOf(m.kernels(k));
          c && c->op == EffOp::RingAttentionOp)
        if (auto s = ringKernelShape(m, k, n); !s.ok())
          return s.status();
    auto first = getDriver(options.device);
    if (!first.ok())
      return first.status();
    int count = 0;
    EFFC_RETURN_IF_ERROR(
        (*first)->check((*first)->api.cuDeviceGetCount(&count), "cuDeviceGetCount"));
    const char *mode = std::getenv("EFFC_COLLECTIVES");
    const bool streams = count < n || (mode && std::string(mode) == "streams");
    std::vector<int> ordinals;
    for (int r = 0; r < n; ++r)
      ordinals.push_back(streams ? options.device : (options.device + r) % count);
    if (streams) {
      auto c = makeStreamCollectives(options.device, n);
      if (!c.ok())
        return c.status();
      collectives_ = std::move(*c);
    } else {
      auto c = makeNcclCollectives(ordinals);
      if (!c.ok())
        return c.status().withPrefix("cuda backend: " + std::to_string(n) + " devices on " +
                                     std::to_string(count) +
                                     " GPUs need NCCL (EFFC_COLLECTIVES=streams runs every device "
                                     "on GPU " +
                                     std::to_string(options.device) + " instead)");
      collectives_ = std::move(*c);
    }
    if (options.verbosity >= 1)
      std::fprintf(stderr, "effc: %s: %d devices: %s\n", model_->path().c_str(), n,
                   collectives_->describe().c_str());
    // The ranks: module and weights per GPU (DeviceModel shares them), an
    // arena and dims buffer each, zeroed.
    ranks_.resize(size_t(n));
    const uint64_t arenaBytes = m.arena_bytes();
    for (int r = 0; r < n; ++r) {
      Rank &rank = ranks_[size_t(r)];
      auto d = getDriver(ordinals[size_t(r)]);
      if (!d.ok())
        return d.status();
      rank.d = *d;
      rank.stream = static_cast<CUstream>(collectives_->rankStream(r));
      auto dm = DeviceModel::get(*rank.d, model_, options);
      if (!dm.ok())
        return dm.status();
      rank.dm = std::move(*dm);
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      const std::string which = " (device " + std::to_string(r) + ")";
      if (arenaBytes) {
        EFFC_RETURN_IF_ERROR(
            rank.d->check(rank.d->api.cuMemAlloc(&rank.arena, arenaBytes),
                          "allocating a " + std::to_string(arenaBytes) + "-byte arena" + which));
        EFFC_RETURN_IF_ERROR(rank.d->check(rank.d->api.cuMemsetD8(rank.arena, 0, arenaBytes),
                                           "clearing the arena" + which));
      }
      if (m.dims_size())
        EFFC_RETURN_IF_ERROR(rank.d->check(
            rank.d->api.cuMemAlloc(&rank.dims, sizeof(int64_t) * size_t(m.dims_size())),
            "allocating the dims buffer" + which));
      rank.ptr.resize(size_t(m.buffers_size()));
      for (int b = 0; b < m.buffers_size(); ++b)
        rank.ptr[size_t(b)] = address(rank, b);
    }
    // The token exchange of expert parallelism (eff.expert_dispatch/combine).
    std::vector<ExchangeRank> exchangeRanks;
    for (const Rank &rank : ranks_)
      exchangeRanks.push_back({rank.d, rank.stream, &rank.ptr});
    auto exchange = ExpertExchange::create(m, exchangeRanks, options);
    if (!exchange.ok())
      return exchange.status();
    exchange_ = std::move(*exchange);
    // Ring attention (eff.ring_attention): block kernels and K/V hops.
    auto ring = RingAttention::create(m, exchangeRanks, options);
    if (!ring.ok())
      return ring.status();
    ring_ = std::move(*ring);
    dimValues_.assign(size_t(m.dims_size()), 0);
    size_t zeros = 0, staging = 0;
    for (int k = 0; k < m.kernels_size(); ++k) {
      Step step;
      step.kernel = k;
      step.collective = collectiveOf(m.kernels(k));
      if (step.collective)
        EFFC_RETURN_IF_ERROR(prepareCollective(step, zeros, staging));
      else
        EFFC_RETURN_IF_ERROR(prepareLaunches(step));
      steps_.push_back(std::move(step));
    }
    for (Rank &rank : ranks_) {
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      if (zeros) {
        EFFC_RETURN_IF_ERROR(
            rank.d->check(rank.d->api.cuMemAlloc(&rank.zeros, zeros), "allocating zeros"));
        EFFC_RETURN_IF_ERROR(
            rank.d->check(rank.d->api.cuMemsetD8(rank.zeros, 0, zeros), "clearing zeros"));
      }
      if (staging)
        EFFC_RETURN_IF_ERROR(rank.d->check(rank.d->api.cuMemAlloc(&rank.staging, staging),
                                           "allocating all-gather staging"));
      // The memsets run on the legacy stream; the ranks' streams do not wait.
      EFFC_RETURN_IF_ERROR(rank.d->check(rank.d->api.cuCtxSynchronize(), "clearing the arena"));
    }
    return Status::OK();
  }

  // Buffer b's address on `rank`: weights from the rank's module, the rest
  // in its arena (views follow their chain; validated acyclic).
  CUdeviceptr address(const Rank &rank, int b) const {
    const artifact::Manifest &m = manifest();
    uint64_t off = 0;
    while (m.buffers(b).storage() == Buffer::ALIAS) {
      off += m.buffers(b).offset();
      b = int(m.buffers(b).alias_of());
    }
    const Buffer &root = m.buffers(b);
    CUdeviceptr base = root.storage() == Buffer::WEIGHT ? rank.dm->weights() : rank.arena;
    return base ? base + root.offset() + off : 0;
  }

  std::string where(int k) const { return kernelWhere(manifest().kernels(k), k); }

  Status prepareLaunches(Step &step) {
    const artifact::Manifest &m = manifest();
    const artifact::Kernel &k = m.kernels(step.kernel);
    const int on = placement_.runsOn[size_t(step.kernel)];
    for (int r = 0; r < int(ranks_.size()); ++r) {
      if (on >= 0 && r != on)
        continue;
      Rank &rank = ranks_[size_t(r)];
      Launch l;
      l.rank = r;
      l.fn = rank.dm->function(k.source());
      if (!l.fn)
        return Status::error("cuda backend: " + where(step.kernel) + ": no CUDA function '" +
                             k.source() + "'");
      for (int d = 0; d < k.launch().grid_size(); ++d)
        l.grid[d] = k.launch().grid(d);
      for (int d = 0; d < k.launch().block_size(); ++d)
        l.block[d] = k.launch().block(d);
      l.shared = k.launch().shared_bytes();
      l.rules = gridRules(m, step.kernel);
      for (int32_t id : k.inputs())
        l.args.push_back(id < 0 ? 0 : rank.ptr[size_t(id)]);
      for (int32_t id : k.outputs())
        l.args.push_back(rank.ptr[size_t(id)]);
      if (k.uses_dims())
        l.args.push_back(rank.dims);
      l.maps.resize(size_t(k.tensor_maps_size()));
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      for (int i = 0; i < k.tensor_maps_size(); ++i)
        EFFC_RETURN_IF_ERROR(encodeTensorMap(rank.d->api, m, step.kernel, i,
                                             l.args[k.tensor_maps(i).arg()], l.maps[size_t(i)]));
      step.launches.push_back(std::move(l));
    }
    for (Launch &l : step.launches) { // pointers into vectors that no longer grow
      for (CUdeviceptr &a : l.args)
        l.argPtrs.push_back(&a);
      for (CuTensorMap &map : l.maps)
        l.argPtrs.push_back(&map);
    }
    return Status::OK();
  }

  // Sizes the scratch a collective needs; all_gather takes equal blocks from
  // every device (what eff-partition-devices plans).
  Status prepareCollective(Step &step, size_t &zeros, size_t &staging) {
    const artifact::Manifest &m = manifest();
    const artifact::Kernel &k = m.kernels(step.kernel);
    const CollectiveKernel &c = *step.collective;
    if (c.outputsPerDevice() || c.op == EffOp::RingAttentionOp) // exchange_ / ring_ sized them
      return Status::OK();
    const Buffer &out = m.buffers(k.outputs(0));
    const DType dtype = DType(out.dtype());
    if (c.op == EffOp::AllReduceOp) {
      step.count = size_t(out.size_bytes() / std::max<size_t>(1, dtypeSize(dtype)));
      if (c.devices.size() < ranks_.size())
        zeros = std::max<size_t>(zeros, out.size_bytes());
      return Status::OK();
    }
    std::vector<bool> seen(ranks_.size(), false);
    for (int d : c.devices)
      seen[size_t(d)] = true;
    if (c.devices.size() != ranks_.size() ||
        !std::all_of(seen.begin(), seen.end(), [](bool b) { return b; }))
      return Status::error("cuda backend: " + where(step.kernel) +
                           ": an all-gather over some of the devices is not supported by the "
                           "cuda backend (every device gives one block)");
    const Buffer &block = m.buffers(k.inputs(0));
    for (int32_t id : k.inputs())
      if (m.buffers(id).size_bytes() != block.size_bytes()) {
        if (c.axis != 0)
          return Status::error("cuda backend: " + where(step.kernel) +
                               ": an all-gather of blocks of different sizes is supported by "
                               "the cuda backend on axis 0 only");
        for (int32_t in : k.inputs())
          step.blockCounts.push_back(
              size_t(m.buffers(in).size_bytes() / std::max<size_t>(1, dtypeSize(dtype))));
        return Status::OK();
      }
    for (int a = 0; a < int(c.axis); ++a)
      step.outer *= size_t(block.shape(a));
    step.count = size_t(block.size_bytes() / std::max<size_t>(1, dtypeSize(dtype)));
    step.inner = size_t(block.size_bytes()) / std::max<size_t>(1, step.outer);
    if (!directGather(step))
      staging = std::max<size_t>(staging, size_t(out.size_bytes()));
    return Status::OK();
  }

  // The gathered blocks land in place: one outer index, in device order.
  bool directGather(const Step &step) const {
    if (step.outer != 1)
      return false;
    for (size_t i = 0; i < step.collective->devices.size(); ++i)
      if (step.collective->devices[i] != int(i))
        return false;
    return true;
  }

  Status runCollective(const Step &step) {
    const artifact::Manifest &m = manifest();
    const artifact::Kernel &k = m.kernels(step.kernel);
    const CollectiveKernel &c = *step.collective;
    if (c.outputsPerDevice())
      return exchange_->run(step.kernel, c, *collectives_);
    if (c.op == EffOp::RingAttentionOp)
      return ring_->run(step.kernel, *collectives_);
    const int32_t outId = k.outputs(0);
    const DType dtype = DType(m.buffers(outId).dtype());
    const size_t n = ranks_.size();
    std::vector<const void *> send(n, nullptr);
    std::vector<void *> recv(n, nullptr);
    if (c.op == EffOp::AllReduceOp) {
      for (size_t r = 0; r < n; ++r) {
        send[r] = reinterpret_cast<const void *>(ranks_[r].zeros);
        recv[r] = reinterpret_cast<void *>(ranks_[r].ptr[size_t(outId)]);
      }
      for (size_t i = 0; i < c.devices.size(); ++i) {
        const size_t r = size_t(c.devices[i]);
        send[r] = reinterpret_cast<const void *>(ranks_[r].ptr[size_t(k.inputs(int(i)))]);
      }
      return collectives_->allReduceSum(send, recv, step.count, dtype)
          .withPrefix(where(step.kernel));
    }
    if (!step.blockCounts.empty()) { // blocks of different sizes, axis 0
      std::vector<CUdeviceptr> blocks, outs;
      for (size_t i = 0; i < c.devices.size(); ++i)
        blocks.push_back(ranks_[size_t(c.devices[i])].ptr[size_t(k.inputs(int(i)))]);
      for (const Rank &rank : ranks_)
        outs.push_back(rank.ptr[size_t(outId)]);
      return collectives_
          ->sendRecv(gatherTransfers(blocks, outs, c.devices, step.blockCounts, dtypeSize(dtype)),
                     dtype)
          .withPrefix(where(step.kernel));
    }
    // all_gather: rank q's block is operand i with devices[i] == q.
    const bool direct = directGather(step);
    for (size_t i = 0; i < c.devices.size(); ++i) {
      const size_t q = size_t(c.devices[i]);
      send[q] = reinterpret_cast<const void *>(ranks_[q].ptr[size_t(k.inputs(int(i)))]);
    }
    for (size_t r = 0; r < n; ++r)
      recv[r] = reinterpret_cast<void *>(direct ? ranks_[r].ptr[size_t(outId)] : ranks_[r].staging);
    EFFC_RETURN_IF_ERROR(
        collectives_->allGather(send, recv, step.count, dtype).withPrefix(where(step.kernel)));
    if (direct)
      return Status::OK();
    // The blocks from staging into the output, on each rank's stream.
    for (size_t r = 0; r < n; ++r) {
      const Rank &rank = ranks_[r];
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      std::vector<CudaMemcpy2D> copies = placeGatheredBlocks(rank.staging, rank.ptr[size_t(outId)],
                                                             c.devices, step.outer, step.inner);
      for (size_t i = 0; i < copies.size(); ++i)
        EFFC_RETURN_IF_ERROR(rank.d->check(rank.d->api.cuMemcpy2DAsync(&copies[i], rank.stream),
                                           where(step.kernel) + ": placing block " +
                                               std::to_string(i) + " (cuMemcpy2DAsync)"));
    }
    return Status::OK();
  }

  Status launch(int k, Launch &l) {
    const Rank &rank = ranks_[size_t(l.rank)];
    EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
    CUresult res =
        rank.d->api.cuLaunchKernel(l.fn, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1],
                                   l.block[2], l.shared, rank.stream, l.argPtrs.data(), nullptr);
    EFFC_RETURN_IF_ERROR(rank.d->check(res, where(k) + " (device " + std::to_string(l.rank) +
                                                "): launching '" + manifest().kernels(k).source() +
                                                "'"));
    if (syncEach_)
      EFFC_RETURN_IF_ERROR(
          rank.d->check(rank.d->api.cuStreamSynchronize(rank.stream),
                        where(k) + " (device " + std::to_string(l.rank) + "): execution"));
    return Status::OK();
  }

  Status runImpl(const std::vector<Tensor> &inputs, const std::vector<MutableTensor> &outputs,
                 RunProfile *profile) {
    const auto &ins = model_->inputs();
    const auto &outs = model_->outputs();
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].device != Device::Host)
        return Status::error("cuda backend: input '" + ins[i].name +
                             "' is device memory; a session over several devices takes host "
                             "tensors");
    for (size_t o = 0; o < outputs.size(); ++o)
      if (outputs[o].device != Device::Host)
        return Status::error("cuda backend: output '" + outs[o].name +
                             "' is device memory; a session over several devices writes host "
                             "tensors");
    // Grids of kernels with runtime extents at this run's bucket tops.
    if (!dimValues_.empty()) {
      std::vector<int64_t> maxima;
      for (const DimInfo &dim : model_->dims())
        maxima.push_back(dim.max);
      std::vector<int64_t> tops = bucketTops(dimValues_, maxima);
      for (Step &step : steps_)
        for (Launch &l : step.launches)
          for (const GridRule &rule : l.rules)
            l.grid[rule.axis] = runtimeGridDim(rule, dimValues_, tops);
    }
    for (Rank &rank : ranks_) { // every device gets the inputs (and the dims)
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      if (rank.dims)
        EFFC_RETURN_IF_ERROR(rank.d->check(
            rank.d->api.cuMemcpyHtoDAsync(rank.dims, dimValues_.data(),
                                          sizeof(int64_t) * dimValues_.size(), rank.stream),
            "copying the dim values to the device"));
      for (size_t i = 0; i < inputs.size(); ++i)
        if (size_t bytes = inputs[i].byteSize())
          EFFC_RETURN_IF_ERROR(
              rank.d->check(rank.d->api.cuMemcpyHtoDAsync(rank.ptr[ins[i].buffer], inputs[i].data,
                                                          bytes, rank.stream),
                            "copying input '" + ins[i].name + "' to the device"));
    }
    if (profile)
      profile->kernels.clear();
    for (Step &step : steps_) {
      auto t0 = std::chrono::steady_clock::now();
      if (step.collective)
        EFFC_RETURN_IF_ERROR(runCollective(step));
      for (Launch &l : step.launches)
        EFFC_RETURN_IF_ERROR(launch(step.kernel, l));
      if (profile) { // host time of the step on every device
        EFFC_RETURN_IF_ERROR(collectives_->synchronize());
        const artifact::Kernel &k = manifest().kernels(step.kernel);
        profile->kernels.push_back(
            {step.kernel, k.op(), k.location(),
             std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                 .count()});
      }
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      const int from = std::max(0, placement_.outputFrom[o]);
      Rank &rank = ranks_[size_t(from)];
      EFFC_RETURN_IF_ERROR(rank.d->makeCurrent());
      if (size_t bytes = outputs[o].byteSize())
        EFFC_RETURN_IF_ERROR(rank.d->check(
            rank.d->api.cuMemcpyDtoHAsync(outputs[o].data, rank.ptr[outs[o].buffer], bytes,
                                          rank.stream),
            "copying output '" + outs[o].name + "' (device " + std::to_string(from) + ")"));
    }
    Status st = collectives_->synchronize();
    if (!st.ok())
      return Status::error("cuda backend: running " + std::to_string(steps_.size()) +
                           " kernels on " + std::to_string(ranks_.size()) +
                           " devices failed: " + st.message() +
                           "; syncAfterEachKernel=true (EFFC_CUDA_SYNC=1) names the failing "
                           "kernel");
    return Status::OK();
  }

  std::shared_ptr<const Model> model_;
  std::unique_ptr<Collectives> collectives_; // owns the ranks' streams
  std::unique_ptr<ExpertExchange> exchange_; // null without eff.expert_dispatch/combine
  std::unique_ptr<RingAttention> ring_;      // null without eff.ring_attention
  std::vector<Rank> ranks_;
  Placement placement_;
  std::vector<Step> steps_;
  std::vector<int64_t> dimValues_;
  bool syncEach_ = false;
};

} // namespace

StatusOr<std::unique_ptr<BackendSession>>
createMultiDeviceSession(std::shared_ptr<const Model> model, const SessionOptions &options) {
  return MultiDeviceSession::create(std::move(model), options);
}

std::vector<Transfer> gatherTransfers(const std::vector<CUdeviceptr> &blocks,
                                      const std::vector<CUdeviceptr> &outs,
                                      const std::vector<int> &devices,
                                      const std::vector<size_t> &counts, size_t elementSize) {
  std::vector<Transfer> t;
  size_t at = 0; // elements before block i in the output
  for (size_t i = 0; i < blocks.size(); ++i) {
    for (size_t r = 0; r < outs.size(); ++r)
      t.push_back({devices[i], int(r), reinterpret_cast<const void *>(blocks[i]),
                   reinterpret_cast<void *>(outs[r] + CUdeviceptr(at * elementSize)), counts[i]});
    at += counts[i];
  }
  return t;
}

std::vector<CudaMemcpy2D> placeGatheredBlocks(CUdeviceptr staging, CUdeviceptr out,
                                              const std::vector<int> &devices, size_t outer,
                                              size_t inner) {
  std::vector<CudaMemcpy2D> copies;
  for (size_t i = 0; i < devices.size(); ++i) {
    CudaMemcpy2D copy;
    copy.srcDevice = staging + size_t(devices[i]) * outer * inner;
    copy.srcPitch = inner;
    copy.dstDevice = out + i * inner;
    copy.dstPitch = inner * devices.size();
    copy.WidthInBytes = inner;
    copy.Height = outer;
    copies.push_back(copy);
  }
  return copies;
}

} // namespace effc::cuda

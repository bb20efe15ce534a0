#include "cuda/CudaBackend.h"

#include "ModelManifest.h"
#include "cuda/CudaManifest.h"
#include "cuda/DeviceMemory.h"
#include "cuda/DeviceModel.h"
#include "cuda/MultiDeviceSession.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
#include <cstdio>

namespace effc {
namespace cuda {
namespace {

using artifact::Buffer;

struct PreparedKernel {
  CUfunction fn = nullptr;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1}, shared = 0;
  std::vector<int32_t> buffers;        // the manifest buffer of each argument; -1: absent
  std::vector<CUdeviceptr> args;       // one device pointer per input, then output
                                       // (then the DIMS buffer with usesDims)
  std::vector<CuTensorMap> maps;       // Kernel.tensor_maps, encoded, passed by value after args
  std::vector<CUdeviceptr> mapAddress; // the address each map was encoded over (0: not yet)
  std::vector<void *> argPtrs;         // cuLaunchKernel wants pointers to the values
  bool graphStale = false;             // args changed since the graph node was set
  std::vector<GridRule> gridRules;     // runtime extents: grid dims that follow the dims
  uint32_t stream = 0; // manifest Kernel.stream: 0 the session's, s > 0 side stream s
};

// Side streams a session creates for Kernel.stream > 0 at most.
constexpr uint32_t kMaxSideStreams = 64;

// Where one run's inputs and outputs go: bound (kernels use the caller's
// memory directly) or copied through the arena.
struct RunBindings {
  std::vector<bool> inputBound, outputBound;
  int boundInputs = 0, boundOutputs = 0;
};

class CudaSession : public BackendSession {
public:
  static StatusOr<std::unique_ptr<BackendSession>>
  create(const Driver &d, std::shared_ptr<const Model> model, const SessionOptions &options) {
    auto dm = DeviceModel::get(d, model, options);
    if (!dm.ok())
      return dm.status();
    std::unique_ptr<CudaSession> s(new CudaSession(d, options));
    s->model_ = std::move(model);
    s->dm_ = std::move(*dm);
    Status st = s->init();
    if (!st.ok())
      return st.withPrefix(s->model_->path());
    return std::unique_ptr<BackendSession>(std::move(s));
  }

  ~CudaSession() override {
    if (!d_.makeCurrent().ok())
      return;
    if (stream_)
      d_.api.cuStreamSynchronize(stream_.get());
    if (exec_)
      d_.api.cuGraphExecDestroy(exec_);
    if (graph_)
      d_.api.cuGraphDestroy(graph_);
    for (CUevent e : events_)
      if (e)
        d_.api.cuEventDestroy(e);
    for (CUevent e : joinEvents_)
      if (e)
        d_.api.cuEventDestroy(e);
    if (forkEvent_)
      d_.api.cuEventDestroy(forkEvent_);
    if (arena_)
      d_.api.cuMemFree(arena_);
    if (dims_)
      d_.api.cuMemFree(dims_);
    for (CUdeviceptr st : states_)
      if (st)
        d_.api.cuMemFree(st);
    // stream_ goes with the last DeviceTensor returned by runOnDevice.
  }

  void *stream() const override { return stream_.get(); }

  /// A copy within one session-state buffer (copy-on-write of a paged KV
  /// pool's page), queued on the session's stream after its runs.
  Status copyStateBytes(size_t state, uint64_t from, uint64_t to, uint64_t bytes) override {
    if (state >= states_.size())
      return Status::error("copyStateBytes: no session state " + std::to_string(state));
    const artifact::State &st = manifestOf(*model_).states(int(state));
    if (from + bytes > st.size_bytes() || to + bytes > st.size_bytes())
      return Status::error("copyStateBytes: outside session state " + std::to_string(state));
    CUdeviceptr base = states_[state];
    return d_.check(d_.api.cuMemcpyDtoDAsync(base + to, base + from, size_t(bytes), stream_.get()),
                    "copying a page of session state");
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
    Status st = runImpl(inputs, outputs, profile);
    return st.withPrefix(model_->path());
  }

  StatusOr<std::vector<DeviceTensor>> runOnDevice(const std::vector<Tensor> &inputs) override {
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    std::vector<DeviceTensor> out;
    std::vector<MutableTensor> views;
    for (const TensorInfo &o : model_->outputs()) {
      // Symbolic dims: the output's shape at this run's values (setDims).
      std::vector<int64_t> shape = o.shape;
      if (!dimValues_.empty()) {
        auto bound = model_->shapeOf(o, dimValues_);
        if (!bound.ok())
          return bound.status();
        shape = std::move(*bound);
      }
      size_t bytes = size_t(std::max<int64_t>(numElements(shape), 0)) * dtypeSize(o.dtype);
      auto mem = detail::allocateDevice(d_, bytes, stream_);
      if (!mem.ok())
        return mem.status().withPrefix("output '" + o.name + "'");
      out.emplace_back(o.dtype, shape, std::move(*mem));
      views.push_back(out.back().mutableView());
    }
    EFFC_RETURN_IF_ERROR(runImpl(inputs, views, nullptr));
    return out;
  }

  // Replays the graph (or the kernel sequence) between two events, on the
  // inputs of the last run (a caller's device input must still be alive);
  // outputs go to the arena, never into caller buffers that may be gone.
  StatusOr<std::vector<double>> timeKernels(int iterations) override {
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    RunBindings rb;
    EFFC_RETURN_IF_ERROR(bind(lastInputs_, {}, rb));
    CUstream s = stream_.get();
    CUevent begin = nullptr, end = nullptr;
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventCreate(&begin, CU_EVENT_DEFAULT), "cuEventCreate"));
    Status st = d_.check(d_.api.cuEventCreate(&end, CU_EVENT_DEFAULT), "cuEventCreate");
    if (st.ok() && exec_ && useGraph_)
      st = updateGraph();
    std::vector<double> times;
    for (int i = 0; st.ok() && i < iterations; ++i) {
      st = d_.check(d_.api.cuEventRecord(begin, s), "cuEventRecord");
      if (st.ok() && exec_ && useGraph_)
        st = d_.check(d_.api.cuGraphLaunch(exec_, s), "cuGraphLaunch");
      else
        st = launchAll();
      if (st.ok())
        st = d_.check(d_.api.cuEventRecord(end, s), "cuEventRecord");
      if (st.ok())
        st = d_.check(d_.api.cuEventSynchronize(end), "cuEventSynchronize");
      float ms = 0;
      if (st.ok())
        st = d_.check(d_.api.cuEventElapsedTime(&ms, begin, end), "cuEventElapsedTime");
      times.push_back(ms);
    }
    if (begin)
      d_.api.cuEventDestroy(begin);
    if (end)
      d_.api.cuEventDestroy(end);
    if (!st.ok())
      return st;
    return times;
  }

private:
  CudaSession(const Driver &d, const SessionOptions &o)
      : d_(d), useGraph_(o.cudaGraphs && !o.syncAfterEachKernel), syncEach_(o.syncAfterEachKernel),
        verbosity_(o.verbosity), callerStream_(o.stream != nullptr) {
    if (o.stream)
      stream_ = borrowedStream(static_cast<CUstream>(o.stream));
  }

  const artifact::Manifest &manifest() const { return manifestOf(*model_); }

  Status init() {
    const artifact::Manifest &m = manifest();
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    if (uint64_t n = m.arena_bytes()) {
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemAlloc(&arena_, n),
                                    "allocating a " + std::to_string(n) + "-byte arena"));
      // Zeroed so that a kernel reading what nobody wrote is reproducible.
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemsetD8(arena_, 0, n), "clearing the arena"));
      // The memset runs on the legacy stream; the session's stream is non-blocking.
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuCtxSynchronize(), "clearing the arena"));
    }
    // Session state (effc --kv-state): one zeroed buffer per state, kept
    // across runs at a fixed address; kernels append to it in place, no run
    // copies it (its STATE buffers are no inputs or outputs).
    for (const artifact::State &st : m.states()) {
      CUdeviceptr p = 0;
      const uint64_t n = std::max<uint64_t>(st.size_bytes(), 1);
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemAlloc(&p, n), "allocating session state '" +
                                                                  st.output() + "' of " +
                                                                  std::to_string(n) + " bytes"));
      states_.push_back(p);
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemsetD8(p, 0, n), "clearing session state"));
    }
    if (m.states_size())
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuCtxSynchronize(), "clearing session state"));
    // Runtime extents: the run's dim values live in a small device buffer
    // (DIMS) that kernels with uses_dims read through their effc_dims
    // argument. Its address never changes, so a CUDA graph replays unchanged
    // for any dim values; runImpl writes it once per run (stream-ordered
    // before the kernels).
    if (m.dims_size()) {
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemAlloc(&dims_, sizeof(int64_t) * m.dims_size()),
                                    "allocating the dims buffer"));
      dimValues_.assign(size_t(m.dims_size()), 0);
    }
    if (!stream_) {
      CUstream s = nullptr;
      EFFC_RETURN_IF_ERROR(
          d_.check(d_.api.cuStreamCreate(&s, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
      stream_ = ownedStream(d_, s);
    }
    // Every buffer as (root, byte offset in the root): a root is an ARENA or
    // WEIGHT buffer, views (ALIAS) follow their chain (acyclic: validated).
    int n = m.buffers_size();
    root_.resize(n);
    rootOffset_.resize(n);
    for (int i = 0; i < n; ++i) {
      int b = i;
      uint64_t off = 0;
      while (m.buffers(b).storage() == Buffer::ALIAS) {
        off += m.buffers(b).offset();
        b = int(m.buffers(b).alias_of());
      }
      root_[i] = b;
      rootOffset_[i] = off;
    }
    rootWritten_.assign(n, false);
    rootIsInput_.assign(n, false);
    rootTensorMapped_.assign(n, false);
    for (const TensorInfo &in : model_->inputs())
      rootIsInput_[root_[in.buffer]] = true;
    kernels_.resize(m.kernels_size());
    for (int i = 0; i < m.kernels_size(); ++i) {
      const artifact::Kernel &k = m.kernels(i);
      PreparedKernel &p = kernels_[i];
      p.fn = dm_->function(k.source());
      if (!p.fn)
        return Status::error(kernelWhere(k, i) + ": no CUDA function '" + k.source() + "'");
      for (int d = 0; d < k.launch().grid_size(); ++d)
        p.grid[d] = k.launch().grid(d);
      for (int d = 0; d < k.launch().block_size(); ++d)
        p.block[d] = k.launch().block(d);
      p.shared = k.launch().shared_bytes();
      p.stream = k.stream();
      if (p.stream > kMaxSideStreams)
        return Status::error(kernelWhere(k, i) + ": stream " + std::to_string(p.stream) +
                             " is beyond the " + std::to_string(kMaxSideStreams) +
                             " side streams a session has");
      p.gridRules = gridRules(m, i);
      p.buffers.assign(k.inputs().begin(), k.inputs().end());
      p.buffers.insert(p.buffers.end(), k.outputs().begin(), k.outputs().end());
      for (int32_t id : k.outputs())
        rootWritten_[root_[id]] = true;
      if (k.uses_dims() && !dims_)
        return Status::error(kernelWhere(k, i) + ": uses_dims in a model without symbolic dims");
      p.args.assign(p.buffers.size() + (k.uses_dims() ? 1 : 0), 0);
      if (k.uses_dims())
        p.args.back() = dims_;
      for (CUdeviceptr &a : p.args)
        p.argPtrs.push_back(&a); // args no longer grows
      // TMA tensor maps: after the pointers (and effc_dims), by value;
      // encoded by bind() over their argument's address.
      p.maps.resize(size_t(k.tensor_maps_size()));
      p.mapAddress.assign(p.maps.size(), 0);
      for (CuTensorMap &map : p.maps)
        p.argPtrs.push_back(&map);
      for (const artifact::TensorMap &t : k.tensor_maps()) {
        int32_t id = t.arg() < p.buffers.size() ? p.buffers[t.arg()] : -1;
        if (id < 0) // checkKernels rejects it first
          return Status::error(kernelWhere(k, i) + ": a tensor map over no buffer");
        rootTensorMapped_[root_[id]] = true;
      }
    }
    EFFC_RETURN_IF_ERROR(createSideStreams());
    RunBindings none;
    none.inputBound.assign(model_->inputs().size(), false);
    EFFC_RETURN_IF_ERROR(bind({}, {}, none)); // every buffer at its arena/weights address
    if (verbosity_ >= 1 && mapEncodes_)
      std::fprintf(stderr, "effc: %s: %d kernels take TMA tensor maps (%d encoded)\n",
                   model_->path().c_str(),
                   int(std::count_if(kernels_.begin(), kernels_.end(),
                                     [](const PreparedKernel &p) { return !p.maps.empty(); })),
                   mapEncodes_);
    return Status::OK();
  }

  // The default address of a root buffer.
  CUdeviceptr rootAddress(int r) const {
    const Buffer &b = manifest().buffers(r);
    if (b.storage() == Buffer::WEIGHT)
      return dm_->weights() ? dm_->weights() + b.offset() : 0;
    if (b.storage() == Buffer::STATE)
      return states_[b.state()];
    return arena_ ? arena_ + b.offset() : 0;
  }

  // Decides which caller buffers the kernels use directly and points every
  // buffer and kernel argument there (marking changed graph nodes stale).
  //  - A device input is bound when no kernel writes its buffer or a view of
  //    it (kernels never write model inputs in effc's plans; the check keeps
  //    a caller's input from being overwritten should one do so) and, with
  //    symbolic dims, it has its buffer's planned size.
  //  - A device output is bound when its buffer is a whole ARENA root (offset
  //    0, same size) that kernels write and that is no input: the arena
  //    planner gives such a root a byte range shared only with tensors whose
  //    lifetimes do not overlap it, so moving it to the caller's memory
  //    leaves every other tensor where it was.
  //  - A buffer that a kernel reads through a TMA tensor map is bound only
  //    at a 16-byte aligned address (cuTensorMapEncodeTiled's rule).
  // Anything else is copied through the arena (after binding: copies read
  // and write the addresses in ptr_). Tensor maps whose argument moved are
  // encoded again (and their graph nodes marked stale).
  Status bind(const std::vector<Tensor> &inputs, const std::vector<MutableTensor> &outputs,
              RunBindings &rb) {
    const artifact::Manifest &m = manifest();
    std::vector<CUdeviceptr> rootPtr(m.buffers_size(), 0);
    std::vector<bool> rootBound(m.buffers_size(), false);
    for (int b = 0; b < m.buffers_size(); ++b)
      if (root_[b] == b)
        rootPtr[b] = rootAddress(b);
    const auto &ins = model_->inputs();
    rb.inputBound.assign(inputs.size(), false);
    for (size_t i = 0; i < inputs.size(); ++i) {
      int buf = int(ins[i].buffer), r = root_[buf];
      // With runtime extents an input smaller than its planned buffer is
      // copied: kernels may read a buffer up to its planned size (a GEMM
      // computes rows up to the largest M and discards the rest).
      if (inputs[i].device != Device::Cuda || rootWritten_[r] || rootBound[r] ||
          m.buffers(r).storage() != Buffer::ARENA ||
          (m.dims_size() && inputs[i].byteSize() != m.buffers(buf).size_bytes()) ||
          (rootTensorMapped_[r] && CUdeviceptr(inputs[i].data) % 16))
        continue;
      rootPtr[r] = CUdeviceptr(inputs[i].data) - rootOffset_[buf];
      rootBound[r] = rb.inputBound[i] = true;
      ++rb.boundInputs;
    }
    const auto &outs = model_->outputs();
    rb.outputBound.assign(outputs.size(), false);
    for (size_t o = 0; o < outputs.size(); ++o) {
      int buf = int(outs[o].buffer), r = root_[buf];
      const Buffer &root = m.buffers(r);
      if (outputs[o].device != Device::Cuda || !outputs[o].data || rootBound[r] ||
          rootIsInput_[r] || !rootWritten_[r] || root.storage() != Buffer::ARENA ||
          rootOffset_[buf] != 0 || root.size_bytes() != outputs[o].byteSize() ||
          (rootTensorMapped_[r] && CUdeviceptr(outputs[o].data) % 16))
        continue;
      rootPtr[r] = CUdeviceptr(outputs[o].data);
      rootBound[r] = rb.outputBound[o] = true;
      ++rb.boundOutputs;
    }
    ptr_.resize(m.buffers_size());
    for (int b = 0; b < m.buffers_size(); ++b)
      ptr_[b] = rootPtr[root_[b]] ? rootPtr[root_[b]] + rootOffset_[b] : 0;
    for (PreparedKernel &p : kernels_)
      for (size_t a = 0; a < p.buffers.size(); ++a) {
        CUdeviceptr v = p.buffers[a] < 0 ? 0 : ptr_[p.buffers[a]];
        if (p.args[a] != v) {
          p.args[a] = v;
          p.graphStale = true;
        }
      }
    for (size_t k = 0; k < kernels_.size(); ++k) {
      PreparedKernel &p = kernels_[k];
      for (size_t i = 0; i < p.maps.size(); ++i) {
        CUdeviceptr address = p.args[m.kernels(int(k)).tensor_maps(int(i)).arg()];
        if (p.mapAddress[i] == address)
          continue;
        EFFC_RETURN_IF_ERROR(encodeTensorMap(d_.api, m, int(k), int(i), address, p.maps[i]));
        p.mapAddress[i] = address;
        p.graphStale = true;
        ++mapEncodes_;
      }
    }
    return Status::OK();
  }

  std::string where(size_t k) const { return kernelWhere(manifest().kernels(int(k)), int(k)); }

  CudaKernelNodeParams nodeParams(PreparedKernel &p) const {
    CudaKernelNodeParams np;
    np.func = p.fn;
    np.gridDimX = p.grid[0], np.gridDimY = p.grid[1], np.gridDimZ = p.grid[2];
    np.blockDimX = p.block[0], np.blockDimY = p.block[1], np.blockDimZ = p.block[2];
    np.sharedMemBytes = p.shared;
    np.kernelParams = p.argPtrs.data();
    return np;
  }

  // One side stream (and its join event) per stream number the kernels
  // use, and the fork event, made once per session.
  Status createSideStreams() {
    uint32_t used = 0;
    for (const PreparedKernel &p : kernels_)
      used = std::max(used, p.stream);
    if (!used)
      return Status::OK();
    EFFC_RETURN_IF_ERROR(
        d_.check(d_.api.cuEventCreate(&forkEvent_, CU_EVENT_DISABLE_TIMING), "cuEventCreate"));
    joinEvents_.assign(used, nullptr);
    for (uint32_t s = 0; s < used; ++s) {
      CUstream side = nullptr;
      EFFC_RETURN_IF_ERROR(
          d_.check(d_.api.cuStreamCreate(&side, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
      sideStreams_.push_back(ownedStream(d_, side));
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventCreate(&joinEvents_[s], CU_EVENT_DISABLE_TIMING),
                                    "cuEventCreate"));
    }
    return Status::OK();
  }

  CUstream streamOf(size_t k) const {
    uint32_t s = kernels_[k].stream;
    return s ? sideStreams_[s - 1].get() : stream_.get();
  }

  Status launch(size_t k, CUstream stream) {
    PreparedKernel &p = kernels_[k];
    CUresult r =
        d_.api.cuLaunchKernel(p.fn, p.grid[0], p.grid[1], p.grid[2], p.block[0], p.block[1],
                              p.block[2], p.shared, stream, p.argPtrs.data(), nullptr);
    return d_.check(r, where(k) + ": launching '" + manifest().kernels(int(k)).source() + "'");
  }

  // Every kernel in manifest order, eagerly. A run of side-stream kernels
  // (Kernel.stream > 0) forks from the session's stream (one event recorded
  // there, waited on by each side stream it uses), and the next stream-0
  // kernel, or the end, joins every side stream used (an event each, waited
  // on by the session's stream): plain stream-ordered work, so a caller's
  // stream capture records the same fork and join.
  Status launchAll() {
    CUstream main = stream_.get();
    std::vector<bool> forkedTo(sideStreams_.size(), false), pending(sideStreams_.size(), false);
    bool forked = false;
    auto join = [&]() -> Status {
      for (size_t s = 0; s < pending.size(); ++s) {
        if (!pending[s])
          continue;
        EFFC_RETURN_IF_ERROR(
            d_.check(d_.api.cuEventRecord(joinEvents_[s], sideStreams_[s].get()), "cuEventRecord"));
        EFFC_RETURN_IF_ERROR(
            d_.check(d_.api.cuStreamWaitEvent(main, joinEvents_[s], 0), "cuStreamWaitEvent"));
        pending[s] = false;
      }
      forked = false;
      std::fill(forkedTo.begin(), forkedTo.end(), false);
      return Status::OK();
    };
    for (size_t k = 0; k < kernels_.size(); ++k) {
      uint32_t stream = kernels_[k].stream;
      if (stream == 0) {
        EFFC_RETURN_IF_ERROR(join());
      } else {
        size_t s = stream - 1;
        if (!forked)
          EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventRecord(forkEvent_, main), "cuEventRecord"));
        forked = true;
        if (!forkedTo[s])
          EFFC_RETURN_IF_ERROR(d_.check(
              d_.api.cuStreamWaitEvent(sideStreams_[s].get(), forkEvent_, 0), "cuStreamWaitEvent"));
        forkedTo[s] = pending[s] = true;
      }
      EFFC_RETURN_IF_ERROR(launch(k, streamOf(k)));
      if (syncEach_)
        EFFC_RETURN_IF_ERROR(
            d_.check(d_.api.cuStreamSynchronize(streamOf(k)), where(k) + ": execution"));
    }
    return join();
  }

  // The graph is built from explicit kernel nodes (a chain in manifest order)
  // rather than captured from a stream: each node's handle is kept, so when a
  // run binds other caller buffers only the kernels whose pointers changed
  // get new parameters (cuGraphExecKernelNodeSetParams, a host-side update
  // of the instantiated graph) instead of a capture and instantiation per
  // run. Launches stay one cuGraphLaunch. Side-stream kernels branch as in
  // launchAll: each hangs off the last stream-0 node (or the node before it
  // on its own stream), and the next stream-0 node depends on every branch.
  Status buildGraph() {
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuGraphCreate(&graph_, 0), "cuGraphCreate"));
    nodes_.assign(kernels_.size(), nullptr);
    CUgraphNode lastMain = nullptr;
    std::vector<CUgraphNode> branch(sideStreams_.size(), nullptr);
    std::vector<CUgraphNode> deps;
    for (size_t k = 0; k < kernels_.size(); ++k) {
      uint32_t stream = kernels_[k].stream;
      deps.clear();
      if (stream == 0) {
        if (lastMain)
          deps.push_back(lastMain);
        for (CUgraphNode &b : branch) {
          if (b)
            deps.push_back(b);
          b = nullptr;
        }
      } else if (CUgraphNode before = branch[stream - 1] ? branch[stream - 1] : lastMain) {
        deps.push_back(before);
      }
      CudaKernelNodeParams np = nodeParams(kernels_[k]);
      EFFC_RETURN_IF_ERROR(d_.check(
          d_.api.cuGraphAddKernelNode(&nodes_[k], graph_, deps.data(), deps.size(), &np),
          where(k) + ": adding '" + manifest().kernels(int(k)).source() + "' to the CUDA graph"));
      (stream == 0 ? lastMain : branch[stream - 1]) = nodes_[k];
      kernels_[k].graphStale = false;
    }
    CUresult r = d_.api.cuGraphInstantiateWithFlags(&exec_, graph_, 0);
    if (r != CUDA_SUCCESS)
      exec_ = nullptr;
    return d_.check(r, "cuGraphInstantiate");
  }

  // New pointers into the instantiated graph, for the kernels that changed.
  Status updateGraph() {
    for (size_t k = 0; k < kernels_.size(); ++k) {
      PreparedKernel &p = kernels_[k];
      if (!p.graphStale)
        continue;
      CudaKernelNodeParams np = nodeParams(p);
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuGraphExecKernelNodeSetParams(exec_, nodes_[k], &np),
                                    where(k) + ": updating the CUDA graph's pointers"));
      p.graphStale = false;
      ++graphUpdates_;
    }
    return Status::OK();
  }

  void dropGraph() {
    if (exec_)
      d_.api.cuGraphExecDestroy(exec_);
    if (graph_)
      d_.api.cuGraphDestroy(graph_);
    exec_ = nullptr;
    graph_ = nullptr;
  }

  Status runKernelsTimed(RunProfile &profile) {
    CUstream s = stream_.get();
    if (events_.empty()) {
      events_.resize(kernels_.size() + 1, nullptr);
      for (CUevent &e : events_)
        EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventCreate(&e, CU_EVENT_DEFAULT), "cuEventCreate"));
    }
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventRecord(events_[0], s), "cuEventRecord"));
    // One stream, so that each kernel's time is its own (side-stream kernels
    // run one after another here).
    for (size_t k = 0; k < kernels_.size(); ++k) {
      EFFC_RETURN_IF_ERROR(launch(k, s));
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventRecord(events_[k + 1], s), "cuEventRecord"));
      if (syncEach_)
        EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuStreamSynchronize(s), where(k) + ": execution"));
    }
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuStreamSynchronize(s), "running the kernels"));
    const artifact::Manifest &m = manifest();
    for (size_t k = 0; k < kernels_.size(); ++k) {
      float ms = 0;
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventElapsedTime(&ms, events_[k], events_[k + 1]),
                                    "cuEventElapsedTime"));
      profile.kernels.push_back(
          {int(k), m.kernels(int(k)).op(), m.kernels(int(k)).location(), double(ms)});
    }
    return Status::OK();
  }

  Status runKernels() {
    if (useGraph_ && !kernels_.empty()) {
      Status ready = exec_ ? updateGraph() : buildGraph();
      if (ready.ok())
        return d_.check(d_.api.cuGraphLaunch(exec_, stream_.get()), "cuGraphLaunch");
      // The driver may refuse a launch only at instantiation, where no
      // kernel index is known: launching eagerly names the kernel. Should
      // that work, this session just runs without a graph.
      dropGraph();
      Status st = launchAll();
      if (!st.ok())
        return st.message() == ready.message()
                   ? st
                   : Status::error(st.message() + " (CUDA graph: " + ready.message() + ")");
      useGraph_ = false;
      return Status::OK();
    }
    return launchAll();
  }

  // Runtime extents: grids at the bucket top of this run's dims (each value
  // rounded up to a power of two, at most its max). A kernel whose grid
  // changes gets its graph node updated with the rest (graphStale); within a
  // bucket the graph replays as it is, only the DIMS buffer differs.
  void followDims() {
    std::vector<int64_t> maxima;
    for (const DimInfo &dim : model_->dims())
      maxima.push_back(dim.max);
    std::vector<int64_t> tops = bucketTops(dimValues_, maxima);
    for (PreparedKernel &p : kernels_)
      for (const GridRule &rule : p.gridRules) {
        unsigned g = runtimeGridDim(rule, dimValues_, tops);
        if (p.grid[rule.axis] != g) {
          p.grid[rule.axis] = g;
          p.graphStale = true;
        }
      }
  }

  // A caller's device pointer must be device memory of this session's device.
  Status checkDevicePointer(const void *data, const std::string &what) const {
    int ordinal = -1;
    CUresult r = d_.api.cuPointerGetAttribute(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                              CUdeviceptr(data));
    if (r != CUDA_SUCCESS)
      return Status::error("cuda backend: " + what + ": not CUDA device memory (" +
                           d_.errorText(r) + ")");
    if (ordinal != d_.ordinal)
      return Status::error("cuda backend: " + what + ": memory of device " +
                           std::to_string(ordinal) + ", the session runs on device " +
                           std::to_string(d_.ordinal));
    return Status::OK();
  }

  Status runImpl(const std::vector<Tensor> &inputs, const std::vector<MutableTensor> &outputs,
                 RunProfile *profile) {
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    const auto &ins = model_->inputs();
    const auto &outs = model_->outputs();
    bool touchesHost = profile != nullptr;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].device == Device::Cuda && inputs[i].byteSize())
        EFFC_RETURN_IF_ERROR(checkDevicePointer(inputs[i].data, "input '" + ins[i].name + "'"));
      touchesHost |= inputs[i].device == Device::Host;
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      if (outputs[o].device == Device::Cuda && outputs[o].byteSize())
        EFFC_RETURN_IF_ERROR(checkDevicePointer(outputs[o].data, "output '" + outs[o].name + "'"));
      touchesHost |= outputs[o].device == Device::Host;
    }
    RunBindings rb;
    int encodesBefore = mapEncodes_;
    EFFC_RETURN_IF_ERROR(bind(inputs, outputs, rb));
    lastInputs_ = inputs;
    CUstream s = stream_.get();
    if (dims_)
      followDims();
    // From pageable memory on purpose: the driver stages the bytes before the
    // call returns (no device synchronization), so the next run may change
    // dimValues_ while this one is still queued. A fixed pinned source (or a
    // memcpy node inside the graph) would be read only when the copy runs.
    if (dims_)
      EFFC_RETURN_IF_ERROR(
          d_.check(d_.api.cuMemcpyHtoDAsync(dims_, dimValues_.data(),
                                            sizeof(int64_t) * dimValues_.size(), s),
                   "copying the dim values to the device"));
    uint64_t bytesIn = 0, bytesOut = 0; // copied by this run (RunProfile, verbosity 2)
    for (size_t i = 0; i < inputs.size(); ++i) {
      size_t n = inputs[i].byteSize();
      if (!n || rb.inputBound[i])
        continue;
      CUdeviceptr dst = ptr_[ins[i].buffer];
      CUresult r = inputs[i].device == Device::Cuda
                       ? d_.api.cuMemcpyDtoDAsync(dst, CUdeviceptr(inputs[i].data), n, s)
                       : d_.api.cuMemcpyHtoDAsync(dst, inputs[i].data, n, s);
      EFFC_RETURN_IF_ERROR(d_.check(r, "copying input '" + ins[i].name + "' to the device"));
      bytesIn += n;
    }
    int updatesBefore = graphUpdates_;
    if (profile) {
      profile->kernels.clear();
      EFFC_RETURN_IF_ERROR(runKernelsTimed(*profile));
    } else {
      EFFC_RETURN_IF_ERROR(runKernels());
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      size_t n = outputs[o].byteSize();
      if (!n || rb.outputBound[o])
        continue;
      CUdeviceptr src = ptr_[outs[o].buffer];
      CUresult r = outputs[o].device == Device::Cuda
                       ? d_.api.cuMemcpyDtoDAsync(CUdeviceptr(outputs[o].data), src, n, s)
                       : d_.api.cuMemcpyDtoHAsync(outputs[o].data, src, n, s);
      EFFC_RETURN_IF_ERROR(d_.check(r, "copying output '" + outs[o].name + "'"));
      bytesOut += n;
    }
    if (profile)
      profile->bytesIn = bytesIn, profile->bytesOut = bytesOut;
    if (verbosity_ >= 2)
      std::fprintf(stderr,
                   "effc: %s: run on cuda:%d: %zu kernels (%s), inputs %d bound / %zu, "
                   "outputs %d written in place / %zu, %d graph nodes updated, %d tensor maps "
                   "encoded, copied %llu bytes in and %llu out, %d session-state tensors in "
                   "place%s\n",
                   model_->path().c_str(), d_.ordinal, kernels_.size(),
                   profile              ? "profiled"
                   : exec_ && useGraph_ ? "CUDA graph"
                                        : "eager",
                   rb.boundInputs, inputs.size(), rb.boundOutputs, outputs.size(),
                   graphUpdates_ - updatesBefore, mapEncodes_ - encodesBefore,
                   (unsigned long long)bytesIn, (unsigned long long)bytesOut, int(states_.size()),
                   touchesHost || !callerStream_ ? "" : ", not synchronized");
    // A device-only run on the caller's stream stays stream-ordered.
    if (!touchesHost && callerStream_)
      return Status::OK();
    CUresult r = d_.api.cuStreamSynchronize(s);
    if (r != CUDA_SUCCESS)
      return Status::error("cuda backend: running " + std::to_string(kernels_.size()) + " kernels" +
                           (useGraph_ && !profile ? " (CUDA graph)" : "") +
                           " failed: " + d_.errorText(r) +
                           "; cudaGraphs=false with syncAfterEachKernel=true (EFFC_CUDA_GRAPH=0 "
                           "EFFC_CUDA_SYNC=1) names the failing kernel");
    return Status::OK();
  }

  const Driver &d_;
  std::shared_ptr<const Model> model_;
  std::shared_ptr<DeviceModel> dm_;
  CUdeviceptr arena_ = 0;
  std::vector<CUdeviceptr> states_; // session state (Manifest.states), kept across runs
  CUdeviceptr dims_ = 0;            // DIMS: the run's dim values (int64, Manifest.dims order)
  std::vector<int64_t> dimValues_;  // set by Session (setDims) before each run
  SharedStream stream_;
  CUgraph graph_ = nullptr;
  CUgraphExec exec_ = nullptr;
  std::vector<CUgraphNode> nodes_;
  std::vector<CUevent> events_;
  std::vector<SharedStream> sideStreams_; // Kernel.stream s runs on sideStreams_[s - 1]
  CUevent forkEvent_ = nullptr;
  std::vector<CUevent> joinEvents_;
  std::vector<int> root_;
  std::vector<uint64_t> rootOffset_;
  std::vector<bool> rootWritten_, rootIsInput_;
  std::vector<bool> rootTensorMapped_; // a kernel reads the root through a TMA tensor map
  std::vector<CUdeviceptr> ptr_;
  std::vector<Tensor> lastInputs_; // what timeKernels replays on
  std::vector<PreparedKernel> kernels_;
  bool useGraph_ = true, syncEach_ = false;
  int verbosity_ = 0;
  bool callerStream_ = false;
  int graphUpdates_ = 0;
  int mapEncodes_ = 0; // tensor maps encoded (verbosity 2 reports them per run)
};

class CudaBackend : public Backend {
public:
  std::string name() const override { return "cuda"; }

  // Manifest checks only, so they work (and are tested) without a GPU.
  Status supports(const Model &model) const override {
    const artifact::Manifest &m = manifestOf(model);
    Status st = checkKernels(m);
    if (st.ok() && m.kernels_size() > 0 && m.cubins_size() == 0)
      st = cudaSource(m, model.payload()).status();
    for (int i = 0; st.ok() && i < m.cubins_size(); ++i)
      st = embeddedCubin(m, model.payload(), m.cubins(i).arch()).status();
    return st.withPrefix(model.path() + ": cuda backend");
  }

  StatusOr<std::unique_ptr<BackendSession>>
  createSession(std::shared_ptr<const Model> model, const SessionOptions &options) const override {
    if (options.device < 0)
      return Status::error(model->path() + ": cuda backend: device " +
                           std::to_string(options.device) +
                           " is not a device ordinal (SessionOptions::device; EFFC_CUDA_DEVICE "
                           "must be a non-negative integer)");
    if (options.devices != 1 || manifestOf(*model).devices() > 1) // effc --devices=N
      return createMultiDeviceSession(std::move(model), options);
    auto d = getDriver(options.device);
    if (!d.ok())
      return d.status().withPrefix(model->path());
    return CudaSession::create(**d, std::move(model), options);
  }
};

} // namespace
} // namespace cuda

std::shared_ptr<Backend> makeCudaBackend() { return std::make_shared<cuda::CudaBackend>(); }

} // namespace effc

#include "cuda/CudaBackend.h"

#include "ModelManifest.h"
#include "cuda/CudaManifest.h"
#include "cuda/DeviceModel.h"
#include "cuda/DynLib.h"
#include "runtime/proto/artifact.pb.h"

namespace effc {
namespace cuda {
namespace {

using artifact::Buffer;

struct PreparedKernel {
  CUfunction fn = nullptr;
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1}, shared = 0;
  std::vector<CUdeviceptr> args; // one device pointer per input, then output
  std::vector<void *> argPtrs;   // cuLaunchKernel wants pointers to the values
};

class CudaSession : public BackendSession {
public:
  static StatusOr<std::unique_ptr<BackendSession>> create(const Driver &d,
                                                          std::shared_ptr<const Model> model) {
    auto dm = DeviceModel::get(d, model);
    if (!dm.ok())
      return dm.status();
    std::unique_ptr<CudaSession> s(new CudaSession(d));
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
      d_.api.cuStreamSynchronize(stream_);
    if (exec_)
      d_.api.cuGraphExecDestroy(exec_);
    for (CUevent e : events_)
      if (e)
        d_.api.cuEventDestroy(e);
    if (stream_)
      d_.api.cuStreamDestroy(stream_);
    if (arena_)
      d_.api.cuMemFree(arena_);
  }

  Status run(const std::vector<Tensor> &inputs, std::vector<HostTensor> &outputs,
             RunProfile *profile) override {
    Status st = runImpl(inputs, outputs, profile);
    return st.withPrefix(model_->path());
  }

  // Replays the captured graph (or the kernel sequence) between two events.
  StatusOr<std::vector<double>> timeKernels(int iterations) override {
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    CUevent begin = nullptr, end = nullptr;
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventCreate(&begin, CU_EVENT_DEFAULT), "cuEventCreate"));
    Status st = d_.check(d_.api.cuEventCreate(&end, CU_EVENT_DEFAULT), "cuEventCreate");
    std::vector<double> times;
    for (int i = 0; st.ok() && i < iterations; ++i) {
      st = d_.check(d_.api.cuEventRecord(begin, stream_), "cuEventRecord");
      if (st.ok() && exec_ && useGraph_)
        st = d_.check(d_.api.cuGraphLaunch(exec_, stream_), "cuGraphLaunch");
      else
        for (size_t k = 0; st.ok() && k < kernels_.size(); ++k)
          st = launch(k);
      if (st.ok())
        st = d_.check(d_.api.cuEventRecord(end, stream_), "cuEventRecord");
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
  explicit CudaSession(const Driver &d) : d_(d) {}

  Status init() {
    const artifact::Manifest &m = manifestOf(*model_);
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    if (uint64_t n = m.arena_bytes()) {
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemAlloc(&arena_, n),
                                    "allocating a " + std::to_string(n) + "-byte arena"));
      // Zeroed so that a kernel reading what nobody wrote is reproducible.
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuMemsetD8(arena_, 0, n), "clearing the arena"));
      // The memset runs on the legacy stream; the session's stream is non-blocking.
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuCtxSynchronize(), "clearing the arena"));
    }
    EFFC_RETURN_IF_ERROR(
        d_.check(d_.api.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate"));
    ptr_.resize(m.buffers_size());
    for (int i = 0; i < m.buffers_size(); ++i)
      ptr_[i] = resolve(i);
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
      for (int32_t id : k.inputs())
        p.args.push_back(id < 0 ? 0 : ptr_[id]);
      for (int32_t id : k.outputs())
        p.args.push_back(ptr_[id]);
      for (CUdeviceptr &a : p.args)
        p.argPtrs.push_back(&a); // args no longer grows
    }
    useGraph_ = envFlag("EFFC_CUDA_GRAPH", true);
    syncEach_ = envFlag("EFFC_CUDA_SYNC", false);
    return Status::OK();
  }

  // Buffers were validated by the loader: ranges in bounds, aliases acyclic.
  CUdeviceptr resolve(int i) const {
    const Buffer &b = manifestOf(*model_).buffers(i);
    switch (b.storage()) {
    case Buffer::ARENA:
      return arena_ ? arena_ + b.offset() : 0;
    case Buffer::WEIGHT:
      return dm_->weights() ? dm_->weights() + b.offset() : 0;
    default: {
      CUdeviceptr base = resolve(int(b.alias_of()));
      return base ? base + b.offset() : 0;
    }
    }
  }

  std::string where(size_t k) const {
    return kernelWhere(manifestOf(*model_).kernels(int(k)), int(k));
  }

  Status launch(size_t k) {
    PreparedKernel &p = kernels_[k];
    CUresult r =
        d_.api.cuLaunchKernel(p.fn, p.grid[0], p.grid[1], p.grid[2], p.block[0], p.block[1],
                              p.block[2], p.shared, stream_, p.argPtrs.data(), nullptr);
    return d_.check(r, where(k) + ": launching '" + manifestOf(*model_).kernels(int(k)).source() +
                           "'");
  }

  // Capture the whole kernel sequence once; later runs replay it.
  Status captureGraph() {
    EFFC_RETURN_IF_ERROR(
        d_.check(d_.api.cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                 "cuStreamBeginCapture"));
    Status launched;
    for (size_t k = 0; k < kernels_.size() && launched.ok(); ++k)
      launched = launch(k);
    CUgraph graph = nullptr;
    CUresult end = d_.api.cuStreamEndCapture(stream_, &graph); // always leave capture mode
    if (!launched.ok()) {
      if (graph)
        d_.api.cuGraphDestroy(graph);
      return launched;
    }
    if (end != CUDA_SUCCESS) {
      if (graph)
        d_.api.cuGraphDestroy(graph);
      return d_.check(end, "cuStreamEndCapture");
    }
    CUresult r = d_.api.cuGraphInstantiateWithFlags(&exec_, graph, 0);
    d_.api.cuGraphDestroy(graph); // the executable graph is independent of it
    if (r != CUDA_SUCCESS)
      exec_ = nullptr;
    return d_.check(r, "cuGraphInstantiate");
  }

  Status runKernelsTimed(RunProfile &profile) {
    if (events_.empty()) {
      events_.resize(kernels_.size() + 1, nullptr);
      for (CUevent &e : events_)
        EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventCreate(&e, CU_EVENT_DEFAULT), "cuEventCreate"));
    }
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventRecord(events_[0], stream_), "cuEventRecord"));
    for (size_t k = 0; k < kernels_.size(); ++k) {
      EFFC_RETURN_IF_ERROR(launch(k));
      EFFC_RETURN_IF_ERROR(
          d_.check(d_.api.cuEventRecord(events_[k + 1], stream_), "cuEventRecord"));
      if (syncEach_)
        EFFC_RETURN_IF_ERROR(
            d_.check(d_.api.cuStreamSynchronize(stream_), where(k) + ": execution"));
    }
    EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuStreamSynchronize(stream_), "running the kernels"));
    const artifact::Manifest &m = manifestOf(*model_);
    for (size_t k = 0; k < kernels_.size(); ++k) {
      float ms = 0;
      EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuEventElapsedTime(&ms, events_[k], events_[k + 1]),
                                    "cuEventElapsedTime"));
      profile.kernels.push_back(
          {int(k), m.kernels(int(k)).op(), m.kernels(int(k)).location(), double(ms)});
    }
    return Status::OK();
  }

  Status runImpl(const std::vector<Tensor> &inputs, std::vector<HostTensor> &outputs,
                 RunProfile *profile) {
    EFFC_RETURN_IF_ERROR(d_.makeCurrent());
    const auto &ins = model_->inputs();
    for (size_t i = 0; i < inputs.size(); ++i)
      if (size_t n = inputs[i].byteSize())
        EFFC_RETURN_IF_ERROR(
            d_.check(d_.api.cuMemcpyHtoDAsync(ptr_[ins[i].buffer], inputs[i].data, n, stream_),
                     "copying input '" + ins[i].name + "' to the device"));
    if (profile) {
      profile->kernels.clear();
      EFFC_RETURN_IF_ERROR(runKernelsTimed(*profile));
    } else if (useGraph_ && !kernels_.empty()) {
      Status captured = exec_ ? Status::OK() : captureGraph();
      if (captured.ok()) {
        EFFC_RETURN_IF_ERROR(d_.check(d_.api.cuGraphLaunch(exec_, stream_), "cuGraphLaunch"));
      } else {
        // The driver may refuse a launch only at instantiation, where no
        // kernel index is known: launching eagerly names the kernel. Should
        // that work, this session just runs without a graph.
        for (size_t k = 0; k < kernels_.size(); ++k) {
          Status st = launch(k);
          if (!st.ok())
            return st.message() == captured.message()
                       ? st
                       : Status::error(st.message() + " (graph capture: " + captured.message() +
                                       ")");
        }
        useGraph_ = false;
      }
    } else {
      for (size_t k = 0; k < kernels_.size(); ++k) {
        EFFC_RETURN_IF_ERROR(launch(k));
        if (syncEach_)
          EFFC_RETURN_IF_ERROR(
              d_.check(d_.api.cuStreamSynchronize(stream_), where(k) + ": execution"));
      }
    }
    const auto &outs = model_->outputs();
    for (size_t o = 0; o < outputs.size(); ++o)
      if (size_t n = outputs[o].byteSize())
        EFFC_RETURN_IF_ERROR(
            d_.check(d_.api.cuMemcpyDtoHAsync(outputs[o].data(), ptr_[outs[o].buffer], n, stream_),
                     "copying output '" + outs[o].name + "' to the host"));
    CUresult r = d_.api.cuStreamSynchronize(stream_);
    if (r != CUDA_SUCCESS)
      return Status::error("cuda backend: running " + std::to_string(kernels_.size()) + " kernels" +
                           (useGraph_ && !profile ? " (CUDA graph)" : "") +
                           " failed: " + d_.errorText(r) +
                           "; EFFC_CUDA_GRAPH=0 EFFC_CUDA_SYNC=1 names the failing kernel");
    return Status::OK();
  }

  const Driver &d_;
  std::shared_ptr<const Model> model_;
  std::shared_ptr<DeviceModel> dm_;
  CUdeviceptr arena_ = 0;
  CUstream stream_ = nullptr;
  CUgraphExec exec_ = nullptr;
  std::vector<CUevent> events_;
  std::vector<CUdeviceptr> ptr_;
  std::vector<PreparedKernel> kernels_;
  bool useGraph_ = true, syncEach_ = false;
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
  createSession(std::shared_ptr<const Model> model) const override {
    auto d = getDriver();
    if (!d.ok())
      return d.status();
    return CudaSession::create(**d, std::move(model));
  }
};

} // namespace
} // namespace cuda

std::shared_ptr<Backend> makeCudaBackend() { return std::make_shared<cuda::CudaBackend>(); }

} // namespace effc

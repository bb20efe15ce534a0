#include "HostBackend.h"

#include "DevicePlan.h"
#include "DimExpr.h"
#include "EffOp.h"
#include "ModelManifest.h"
#include "host/HostKernels.h"
#include "runtime/proto/artifact.pb.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace effc {
namespace {

using artifact::Buffer;

std::string kernelWhere(const artifact::Kernel &k, int i) {
  return "kernel " + std::to_string(i) + " (" + k.op() +
         (k.location().empty() ? "" : " at " + k.location()) + ")";
}

StatusOr<host::Attrs> convertAttrs(const artifact::Kernel &k) {
  host::Attrs attrs;
  for (const auto &[name, a] : k.attrs()) {
    switch (a.value_case()) {
    case artifact::Attr::kI:
      attrs[name] = int64_t(a.i());
      break;
    case artifact::Attr::kF:
      attrs[name] = a.f();
      break;
    case artifact::Attr::kS:
      attrs[name] = a.s();
      break;
    case artifact::Attr::kInts:
      attrs[name] = std::vector<int64_t>(a.ints().values().begin(), a.ints().values().end());
      break;
    case artifact::Attr::kFloats:
      attrs[name] = std::vector<double>(a.floats().values().begin(), a.floats().values().end());
      break;
    default:
      return Status::error("attribute '" + name + "' has no value");
    }
  }
  return attrs;
}

struct PreparedOp {
  std::string op;
  host::Attrs attrs;
  std::vector<host::ConstTensorRef> in;
  std::vector<host::TensorRef> out;
};

// A kernel: one op, or for eff.fusion the body ops over session-owned scratch
// values, whose chosen results are then copied into the kernel's outputs.
struct PreparedKernel : PreparedOp {
  int index = 0;                      // manifest kernel index
  std::vector<int32_t> inIds, outIds; // manifest buffer ids (-1: absent)
  std::vector<PreparedOp> body;
  std::vector<std::pair<const void *, size_t>> bodyOutputs; // source, bytes
  // Over symbolic shapes (setDims): each body op's operand value indices,
  // and the body values that take output 0's shape per run.
  std::vector<std::vector<int32_t>> bodyOperands;
  std::vector<bool> followsOutput; // by value index (inputs first)
  // By value index: the shape expressions of a body value (index-mapping
  // body ops: BodyOp.result_shape_exprs); empty where followsOutput decides.
  std::vector<std::vector<DimExpr>> bodyShapeExprs;
  std::vector<int32_t> bodyOutputValues;
};

class HostSession : public BackendSession {
public:
  // devices > 1 (SessionOptions::devices): the artifact's placement
  // (effc --devices) simulated in this process, one arena per device.
  static StatusOr<std::unique_ptr<BackendSession>> create(std::shared_ptr<const Model> model,
                                                          int devices, int verbosity = 0) {
    std::unique_ptr<HostSession> s(new HostSession());
    s->model_ = model;
    s->verbosity_ = verbosity;
    const artifact::Manifest &m = manifestOf(*model);
    const int planned = std::max(1, int(m.devices()));
    if (devices < 1)
      return Status::error(model->path() + ": host backend: devices = " + std::to_string(devices) +
                           " (SessionOptions::devices must be >= 1)");
    if (devices > 1 && planned == 1)
      return Status::error(model->path() + ": host backend: devices = " + std::to_string(devices) +
                           " but the artifact is not partitioned (compile it with effc --devices=" +
                           std::to_string(devices) + ")");
    if (devices > 1 && devices != planned)
      return Status::error(model->path() + ": host backend: devices = " + std::to_string(devices) +
                           " but the artifact was partitioned for " + std::to_string(planned) +
                           " (effc --devices=" + std::to_string(planned) + ")");
    if (m.states_size() && devices > 1)
      return Status::error(model->path() + ": host backend: session state (a KV cache kept in "
                                           "place) on several devices is not done yet");
    // Session state: allocated once, zeroed, kept across runs.
    for (const artifact::State &st : m.states()) {
      s->states_.emplace_back(st.size_bytes() ? st.size_bytes() : 1, uint8_t(0));
      s->stateCapacity_.push_back(st.shape(2));
    }
    uint64_t bytes = (m.arena_bytes() + 63) / 64 * 64;
    s->arenas_.assign(size_t(devices), nullptr);
    s->ptrs_.resize(size_t(devices));
    for (int d = 0; d < devices; ++d) {
      if (bytes) {
        s->arenas_[d] = static_cast<uint8_t *>(std::aligned_alloc(64, bytes));
        if (!s->arenas_[d])
          return Status::error("cannot allocate a host arena of " + std::to_string(bytes) +
                               " bytes" +
                               (devices > 1 ? " (device " + std::to_string(d) + ")" : ""));
      }
      s->ptrs_[d].resize(m.buffers_size());
      for (int i = 0; i < m.buffers_size(); ++i)
        s->ptrs_[d][i] = s->resolve(d, i);
    }
    // Which device alone holds each buffer's data (-1: every device).
    s->owner_.assign(size_t(m.buffers_size()), -1);
    for (int k = 0; k < m.kernels_size(); ++k) {
      const artifact::Kernel &kr = m.kernels(k);
      if (devices > 1) {
        const int at = int(kr.device()) - 1; // -1: replicated
        if (at >= devices)
          return Status::error(model->path() + ": " + kernelWhere(kr, k) + ": device " +
                               std::to_string(at) + " of " + std::to_string(devices));
        for (size_t i = 0; i < size_t(kr.inputs_size()); ++i) {
          const int32_t id = kr.inputs(int(i));
          const int from = id < 0 ? -1 : s->owner_[size_t(s->root(id))];
          if (from < 0 || collectiveOf(kr) || from == at) // a collective reads every device
            continue;
          return Status::error(
              model->path() + ": " + kernelWhere(kr, k) + " (" +
              (at < 0 ? std::string("on every device") : "on device " + std::to_string(at)) +
              ") reads buffer " + std::to_string(id) + " (input " + std::to_string(i) +
              "), which only device " + std::to_string(from) +
              " computed; another device's data needs a collective");
        }
      }
      auto attrs = convertAttrs(kr);
      if (!attrs.ok())
        return attrs.status().withPrefix(model->path() + ": " + kernelWhere(kr, k));
      const int at = devices > 1 ? int(kr.device()) - 1 : 0;
      // The token exchange (eff.expert_dispatch / eff.expert_combine) runs once:
      // output o goes to the arena of the device that alone holds it.
      std::optional<CollectiveKernel> exchange =
          devices > 1 ? collectiveOf(kr) : std::optional<CollectiveKernel>();
      if (exchange && !exchange->outputsPerDevice())
        exchange.reset();
      for (int d = 0; d < devices; ++d) {
        if ((at >= 0 && d != at) || (exchange && d > 0))
          continue; // placed on another device
        PreparedKernel p;
        p.index = k;
        p.op = kr.op();
        p.attrs = *attrs;
        p.inIds.assign(kr.inputs().begin(), kr.inputs().end());
        p.outIds.assign(kr.outputs().begin(), kr.outputs().end());
        EFFC_RETURN_IF_ERROR(s->checkStateUse(kr, k));
        for (int32_t id : kr.inputs()) {
          if (id < 0) {
            p.in.push_back({});
            continue;
          }
          const Buffer &b = m.buffers(id);
          // A collective reads a buffer one device computed from that
          // device's arena (the memcpy of the simulated transfer).
          const int from = devices > 1 ? s->owner_[size_t(s->root(id))] : -1;
          void *data = s->ptrs_[from >= 0 ? size_t(from) : size_t(d)][id];
          p.in.push_back(
              {DType(b.dtype()), {b.shape().begin(), b.shape().end()}, data, s->capacityOf(id)});
        }
        for (int o = 0; o < kr.outputs_size(); ++o) {
          const int32_t id = kr.outputs(o);
          const Buffer &b = m.buffers(id);
          const size_t on = exchange ? size_t(exchange->outputDevice(size_t(o))) : size_t(d);
          p.out.push_back({DType(b.dtype()),
                           {b.shape().begin(), b.shape().end()},
                           s->ptrs_[on][id],
                           s->capacityOf(id)});
        }
        if (isOp(kr.op(), EffOp::FusionOp))
          EFFC_RETURN_IF_ERROR(s->prepareFusion(kr, k, p));
        s->kernels_.push_back(std::move(p));
      }
      if (devices > 1) // a collective's or replicated kernel's results are on every device
        for (int o = 0; o < kr.outputs_size(); ++o) // (an exchange's on its device)
          s->owner_[size_t(s->root(kr.outputs(o)))] = exchange ? exchange->outputDevice(size_t(o))
                                                      : collectiveOf(kr) ? -1
                                                                         : at;
    }
    for (int i = 0; i < m.buffers_size(); ++i)
      if (m.buffers(i).shape_exprs_size()) {
        std::vector<DimExpr> exprs;
        for (const auto &e : m.buffers(i).shape_exprs())
          exprs.push_back(*DimExpr::fromProto(e, uint32_t(m.dims_size()))); // validated at load
        s->shapeExprs_.emplace(i, std::move(exprs));
      }
    return std::unique_ptr<BackendSession>(std::move(s));
  }

  // Every buffer is planned at the dims' upper bounds and holds its tensor
  // contiguously from its start, so only the kernels' shapes change.
  Status setDims(const std::vector<int64_t> &values) override {
    std::map<int32_t, std::vector<int64_t>> shapes;
    for (const auto &[id, exprs] : shapeExprs_) {
      std::vector<int64_t> &shape = shapes[id];
      for (const DimExpr &e : exprs) {
        std::optional<int64_t> v = e.eval(values);
        if (!v || *v < 0)
          return Status::error(model_->path() + ": buffer " + std::to_string(id) +
                               " has no valid extent for these dims");
        shape.push_back(*v);
      }
    }
    for (PreparedKernel &p : kernels_) {
      for (size_t i = 0; i < p.inIds.size(); ++i)
        if (auto it = shapes.find(p.inIds[i]); it != shapes.end())
          p.in[i].shape = it->second;
      for (size_t o = 0; o < p.outIds.size(); ++o)
        if (auto it = shapes.find(p.outIds[o]); it != shapes.end())
          p.out[o].shape = it->second;
      if (!p.body.empty() && shapes.count(p.outIds[0]))
        EFFC_RETURN_IF_ERROR(reshapeFusion(p, values));
    }
    return Status::OK();
  }

  // An eff.fusion over symbolic shapes: body values with shape expressions
  // take their value at this run's dims, the others of the output's planned
  // shape the output's shape of this run, its inputs theirs.
  Status reshapeFusion(PreparedKernel &p, const std::vector<int64_t> &values) const {
    std::vector<std::vector<int64_t>> shapes;
    for (const host::ConstTensorRef &in : p.in)
      shapes.push_back(in.shape);
    for (PreparedOp &op : p.body) {
      const size_t i = size_t(&op - p.body.data());
      for (size_t k = 0; k < op.in.size(); ++k)
        if (int32_t v = p.bodyOperands[i][k]; v >= 0)
          op.in[k].shape = shapes[size_t(v)];
      for (host::TensorRef &out : op.out) {
        if (const std::vector<DimExpr> &exprs = p.bodyShapeExprs[shapes.size()]; !exprs.empty()) {
          for (size_t d = 0; d < exprs.size(); ++d) {
            std::optional<int64_t> v = exprs[d].eval(values);
            if (!v || *v < 0) // at most the planned extent: validated at load
              return Status::error(model_->path() + ": kernel " + std::to_string(p.index) +
                                   ": body op " + std::to_string(i) +
                                   " has no valid extent for these dims");
          }
          for (size_t d = 0; d < exprs.size(); ++d)
            out.shape[d] = *exprs[d].eval(values);
        } else if (p.followsOutput[shapes.size()]) {
          out.shape = p.out[0].shape;
        }
        shapes.push_back(out.shape);
      }
    }
    for (size_t o = 0; o < p.out.size(); ++o) {
      size_t n = dtypeSize(p.out[o].dtype);
      for (int64_t e : shapes[size_t(p.bodyOutputValues[o])])
        n *= size_t(e);
      p.bodyOutputs[o].second = n;
    }
    return Status::OK();
  }

  ~HostSession() override {
    for (uint8_t *a : arenas_)
      std::free(a);
  }

  Status run(const std::vector<Tensor> &inputs, const std::vector<MutableTensor> &outputs,
             RunProfile *profile) override {
    const artifact::Manifest &m = manifestOf(*model_);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].device != Device::Host)
        return Status::error(model_->path() + ": input '" + model_->inputs()[i].name +
                             "' is in CUDA device memory; the host backend takes host tensors "
                             "only");
    for (size_t o = 0; o < outputs.size(); ++o)
      if (outputs[o].device != Device::Host)
        return Status::error(model_->path() + ": output '" + model_->outputs()[o].name +
                             "': a CUDA device buffer; the host backend writes host memory only");
    uint64_t copiedIn = 0, copiedOut = 0;
    for (size_t i = 0; i < inputs.size(); ++i) // every device gets the inputs
      if (size_t n = inputs[i].byteSize())
        for (auto &ptr : ptrs_) {
          std::memcpy(ptr[model_->inputs()[i].buffer], inputs[i].data, n);
          copiedIn += n;
        }
    if (profile)
      profile->kernels.clear();
    for (size_t k = 0; k < kernels_.size(); ++k) {
      auto t0 = std::chrono::steady_clock::now();
      const PreparedKernel &p = kernels_[k];
      Status st = p.body.empty() ? host::runKernel(p.op, p.attrs, p.in, p.out) : runFusion(p);
      if (!st.ok())
        return st.withPrefix(model_->path() + ": " + kernelWhere(m.kernels(p.index), p.index));
      if (profile) {
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                        .count();
        profile->kernels.push_back({p.index, p.op, m.kernels(p.index).location(), ms});
      }
    }
    for (size_t o = 0; o < outputs.size(); ++o) // from the device that holds it
      if (size_t n = outputs[o].byteSize()) {
        const int32_t id = int32_t(model_->outputs()[o].buffer);
        const int from = owner_.empty() ? -1 : owner_[size_t(root(id))];
        std::memcpy(outputs[o].data, ptrs_[from >= 0 ? size_t(from) : 0][id], n);
        copiedOut += n;
      }
    if (profile) {
      profile->bytesIn = copiedIn;
      profile->bytesOut = copiedOut;
    }
    if (verbosity_ >= 2) // what the cuda backend's line says of its copies
      std::fprintf(stderr,
                   "effc: %s: run on host: copied %llu bytes in and %llu out, %d session-state "
                   "tensors in place\n",
                   model_->path().c_str(), (unsigned long long)copiedIn,
                   (unsigned long long)copiedOut, int(states_.size()));
    return Status::OK();
  }

  StatusOr<std::vector<DeviceTensor>> runOnDevice(const std::vector<Tensor> &) override {
    return Status::error("host backend: no device memory: runOnDevice needs the cuda backend");
  }

  Status copyStateBytes(size_t state, uint64_t from, uint64_t to, uint64_t bytes) override {
    std::vector<uint8_t> &st = states_.at(state);
    if (from + bytes > st.size() || to + bytes > st.size())
      return Status::error("copyStateBytes: outside session state " + std::to_string(state));
    std::memmove(st.data() + to, st.data() + from, bytes);
    return Status::OK();
  }

private:
  HostSession() = default;

  // Values 0..n-1 are the kernel inputs, then each body op's results (in
  // scratch_, owned by this session so that sessions stay independent).
  Status prepareFusion(const artifact::Kernel &kr, int k, PreparedKernel &p) {
    std::vector<host::ConstTensorRef> vals = p.in;
    const std::vector<int64_t> &outShape = p.out.at(0).shape; // planned (upper bounds)
    p.followsOutput.assign(vals.size(), false);
    p.bodyShapeExprs.assign(vals.size(), {});
    for (int i = 0; i < kr.body_size(); ++i) {
      const artifact::BodyOp &b = kr.body(i);
      artifact::Kernel tmp;
      *tmp.mutable_attrs() = b.attrs();
      auto attrs = convertAttrs(tmp);
      if (!attrs.ok())
        return attrs.status().withPrefix(model_->path() + ": " + kernelWhere(kr, k) + ": body op " +
                                         std::to_string(i));
      PreparedOp op{b.op(), std::move(*attrs), {}, {}};
      for (int32_t v : b.operands()) {
        if (v >= int32_t(vals.size()))
          return Status::error(model_->path() + ": " + kernelWhere(kr, k) + ": body op " +
                               std::to_string(i) + " reads value " + std::to_string(v) +
                               ", which is not defined before it");
        op.in.push_back(v < 0 ? host::ConstTensorRef{} : vals[v]);
      }
      p.bodyOperands.emplace_back(b.operands().begin(), b.operands().end());
      size_t firstExpr = 0;
      for (int r = 0; r < b.result_dtypes_size(); ++r) {
        std::vector<int64_t> shape(b.result_shapes(r).values().begin(),
                                   b.result_shapes(r).values().end());
        scratch_.push_back(std::make_unique<HostTensor>(DType(b.result_dtypes(r)), shape));
        HostTensor &t = *scratch_.back();
        op.out.push_back({t.dtype(), t.shape(), t.data()});
        vals.push_back({t.dtype(), t.shape(), t.data()});
        p.followsOutput.push_back(shape == outShape);
        p.bodyShapeExprs.emplace_back();
        if (b.result_shape_exprs_size()) // validated at load: one per dim of every result
          for (size_t d = 0; d < shape.size(); ++d)
            p.bodyShapeExprs.back().push_back(
                *DimExpr::fromProto(b.result_shape_exprs(int(firstExpr + d)),
                                    uint32_t(manifestOf(*model_).dims_size())));
        firstExpr += shape.size();
      }
      p.body.push_back(std::move(op));
    }
    for (int o = 0; o < kr.body_outputs_size(); ++o) {
      p.bodyOutputValues.push_back(kr.body_outputs(o));
      p.bodyOutputs.push_back(
          {vals[kr.body_outputs(o)].data, manifestOf(*model_).buffers(kr.outputs(o)).size_bytes()});
    }
    return Status::OK();
  }

  Status runFusion(const PreparedKernel &p) {
    for (size_t i = 0; i < p.body.size(); ++i) {
      const PreparedOp &op = p.body[i];
      Status st = host::runKernel(op.op, op.attrs, op.in, op.out);
      if (!st.ok())
        return st.withPrefix("body op " + std::to_string(i));
    }
    for (size_t o = 0; o < p.out.size(); ++o)
      if (p.bodyOutputs[o].second)
        std::memmove(p.out[o].data, p.bodyOutputs[o].first, p.bodyOutputs[o].second);
    return Status::OK();
  }

  // Buffers were validated by the loader: ranges are in bounds, aliases acyclic.
  uint8_t *resolve(int device, int i) const {
    const Buffer &b = manifestOf(*model_).buffers(i);
    uint8_t *arena = arenas_[size_t(device)];
    switch (b.storage()) {
    case Buffer::ARENA:
      return arena ? arena + b.offset() : nullptr;
    case Buffer::WEIGHT:
      return const_cast<uint8_t *>(model_->weightsData()) + b.offset(); // never written
    case Buffer::STATE:
      return const_cast<uint8_t *>(states_[b.state()].data()); // the session's own
    default: {
      uint8_t *base = resolve(device, int(b.alias_of()));
      return base ? base + b.offset() : nullptr;
    }
    }
  }

  /// The buffer whose storage `i` views (itself when not an alias).
  int32_t root(int32_t i) const {
    const artifact::Manifest &m = manifestOf(*model_);
    while (m.buffers(i).storage() == Buffer::ALIAS)
      i = int32_t(m.buffers(i).alias_of());
    return i;
  }

  /// The row capacity of a session-state buffer (its [b, h] slices' stride),
  /// 0 for every other buffer.
  int64_t capacityOf(int32_t id) const {
    const Buffer &b = manifestOf(*model_).buffers(id);
    return b.storage() == Buffer::STATE ? stateCapacity_[b.state()] : 0;
  }

  /// Session state is read only where a kernel knows its row stride:
  /// eff.kv_append appends to it (past and present), eff.attention(_partial)
  /// reads its keys and values, eff.shape only its shape; a paged pool:
  /// eff.paged_kv_write writes it in place, eff.paged_attention(_partial)
  /// reads it (whole pools: their stride is their own).
  Status checkStateUse(const artifact::Kernel &kr, int k) const {
    const artifact::Manifest &m = manifestOf(*model_);
    auto isState = [&](int32_t id) {
      return id >= 0 && m.buffers(root(id)).storage() == Buffer::STATE;
    };
    auto refuse = [&](const std::string &what) {
      return Status::error(model_->path() + ": " + kernelWhere(kr, k) + ": " + what +
                           " is session state, which this kernel cannot read or write");
    };
    for (int i = 0; i < kr.inputs_size(); ++i) {
      const int32_t id = kr.inputs(i);
      if (!isState(id))
        continue;
      bool ok = m.buffers(id).storage() == Buffer::STATE &&
                ((isOp(kr.op(), EffOp::KvAppendOp) && i == 0) || isOp(kr.op(), EffOp::ShapeOp) ||
                 ((isOp(kr.op(), EffOp::AttentionOp) || isOp(kr.op(), EffOp::AttentionPartialOp) ||
                   isOp(kr.op(), EffOp::PagedAttentionOp) ||
                   isOp(kr.op(), EffOp::PagedAttentionPartialOp)) &&
                  (i == 1 || i == 2)) ||
                 (isOp(kr.op(), EffOp::PagedKvWriteOp) && i == 0));
      if (!ok)
        return refuse("input " + std::to_string(i));
    }
    for (int o = 0; o < kr.outputs_size(); ++o)
      if (isState(kr.outputs(o)) &&
          !((isOp(kr.op(), EffOp::KvAppendOp) || isOp(kr.op(), EffOp::PagedKvWriteOp)) &&
            m.buffers(kr.outputs(o)).storage() == Buffer::STATE))
        return refuse("output " + std::to_string(o));
    return Status::OK();
  }

  std::shared_ptr<const Model> model_;
  std::vector<uint8_t *> arenas_;         // one per device
  std::vector<std::vector<void *>> ptrs_; // [device][buffer]
  std::vector<int> owner_;                // [root buffer]: the one device that holds it, or -1
  std::vector<PreparedKernel> kernels_;
  std::vector<std::unique_ptr<HostTensor>> scratch_;
  std::map<int32_t, std::vector<DimExpr>> shapeExprs_; // buffers of symbolic shape
  std::vector<std::vector<uint8_t>> states_; // session state, one per Manifest.states entry
  std::vector<int64_t> stateCapacity_;       // rows per [b, h] slice of each state
  int verbosity_ = 0; // SessionOptions::verbosity: 2 prints each run's copies
};

class HostBackend : public Backend {
public:
  std::string name() const override { return "host"; }
  Status supports(const Model &model) const override {
    const artifact::Manifest &m = manifestOf(model);
    for (int k = 0; k < m.kernels_size(); ++k) {
      const artifact::Kernel &kr = m.kernels(k);
      if (isOp(kr.op(), EffOp::FusionOp)) {
        for (int i = 0; i < kr.body_size(); ++i)
          if (!host::hasKernel(kr.body(i).op()))
            return Status::error(model.path() + ": " + kernelWhere(kr, k) + ": body op " +
                                 std::to_string(i) + ": op '" + kr.body(i).op() +
                                 "' is not supported by the host backend");
      } else if (!host::hasKernel(kr.op())) {
        return Status::error(model.path() + ": " + kernelWhere(kr, k) + ": op '" + kr.op() +
                             "' is not supported by the host backend");
      }
    }
    return Status::OK();
  }
  StatusOr<std::unique_ptr<BackendSession>>
  createSession(std::shared_ptr<const Model> model, const SessionOptions &options) const override {
    return HostSession::create(std::move(model), options.devices, options.verbosity);
  }
};

} // namespace

std::shared_ptr<Backend> makeHostBackend() { return std::make_shared<HostBackend>(); }

} // namespace effc

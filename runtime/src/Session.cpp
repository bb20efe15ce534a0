#include "effc/Session.h"

#include "effc/Backend.h"

#include <set>
#include <utility>

namespace effc {

StatusOr<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                   const SessionOptions &options) {
  if (!model)
    return Status::error("Session::create: null model");
  auto be = getBackend(options.backend);
  if (!be.ok())
    return be.status().withPrefix(model->path());
  // Runtime extents: the host backend, and the cuda backend for an artifact
  // whose kernels all have CUDA code (its supports() says which has none).
  if (!model->dims().empty() && (*be)->name() != "host" && (*be)->name() != "cuda")
    return Status::error(model->path() + ": the model has symbolic dims (--dim " +
                         model->dims()[0].name + "=" + std::to_string(model->dims()[0].min) + ".." +
                         std::to_string(model->dims()[0].max) + "); runtime extents on the " +
                         (*be)->name() + " backend are not done yet: use the host backend");
  EFFC_RETURN_IF_ERROR((*be)->supports(*model));
  if (options.arenaLimitBytes && model->arenaBytes() > options.arenaLimitBytes)
    return Status::error(model->path() + ": the planned arena needs " +
                         std::to_string(model->arenaBytes()) + " bytes, over the limit of " +
                         std::to_string(options.arenaLimitBytes) +
                         " (SessionOptions::arenaLimitBytes)");
  auto impl = (*be)->createSession(model, options);
  if (!impl.ok())
    return impl.status();
  std::unique_ptr<Session> s(new Session());
  s->model_ = std::move(model);
  s->options_ = options;
  s->impl_ = std::move(*impl);
  return s;
}

StatusOr<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                   const std::string &backend) {
  SessionOptions options = SessionOptions::fromEnvironment();
  options.backend = backend;
  return create(std::move(model), options);
}

Session::~Session() = default;

void *Session::stream() const { return impl_->stream(); }

StatusOr<std::vector<double>> Session::timeKernels(int iterations) {
  return impl_->timeKernels(iterations);
}

namespace {
/// `named` in the order of `infos` (the model's inputs or outputs): a name the
/// model does not have is "unknown <kind> 'x' (model <kind>s: ...)", a model
/// tensor missing from `named` is "<missing> '<name>'".
template <typename T>
StatusOr<std::vector<T>> orderByModel(const std::string &path, const std::vector<TensorInfo> &infos,
                                      const std::map<std::string, T> &named,
                                      const std::string &kind, const std::string &missing) {
  std::set<std::string> known;
  for (auto &i : infos)
    known.insert(i.name);
  for (auto &kv : named)
    if (!known.count(kv.first)) {
      std::string list;
      for (auto &i : infos)
        list += (list.empty() ? "" : ", ") + i.name;
      return Status::error(path + ": unknown " + kind + " '" + kv.first + "' (model " + kind +
                           "s: " + list + ")");
    }
  std::vector<T> ordered;
  for (auto &i : infos) {
    auto it = named.find(i.name);
    if (it == named.end())
      return Status::error(path + ": " + missing + " '" + i.name + "'");
    ordered.push_back(it->second);
  }
  return ordered;
}
} // namespace

StatusOr<std::vector<Tensor>>
Session::orderInputs(const std::map<std::string, Tensor> &inputs) const {
  return orderByModel(model_->path(), model_->inputs(), inputs, "input", "missing input");
}

namespace {

// dtype, shape, data and device of one input or output against its TensorInfo.
template <typename T>
Status checkTensor(const T &t, const TensorInfo &info, const std::vector<int64_t> &shape,
                   const std::string &what, const SessionOptions &options) {
  if (t.dtype != info.dtype)
    return Status::error(what + ": dtype expected " + dtypeName(info.dtype) + ", got " +
                         dtypeName(t.dtype));
  if (t.shape != shape)
    return Status::error(what + ": shape expected " + shapeToString(shape) + ", got " +
                         shapeToString(t.shape));
  if (!t.data && t.byteSize())
    return Status::error(what + ": null data");
  if (t.device != Device::Host && t.device != Device::Cuda)
    return Status::error(what + ": unknown device " + std::to_string(int(t.device)));
  if (t.device == Device::Cuda && options.backend != "host" && t.deviceIndex != options.device)
    return Status::error(what + ": on cuda device " + std::to_string(t.deviceIndex) +
                         ", the session runs on device " + std::to_string(options.device));
  return Status::OK();
}

} // namespace

Status Session::checkInputs(const std::vector<Tensor> &inputs) {
  const auto &infos = model_->inputs();
  if (inputs.size() != infos.size())
    return Status::error(model_->path() + ": expected " + std::to_string(infos.size()) +
                         " inputs, got " + std::to_string(inputs.size()));
  const auto &dims = model_->dims();
  if (!dims.empty()) {
    // Bind each dim at the first input dim that is exactly it; the checks
    // below then compare every input against the shapes those values give.
    std::vector<int64_t> values(dims.size(), -1);
    std::vector<std::string> boundBy(dims.size());
    for (size_t i = 0; i < inputs.size(); ++i)
      for (size_t d = 0; d < infos[i].dimNames.size() && d < inputs[i].shape.size(); ++d)
        for (size_t k = 0; k < dims.size(); ++k) {
          if (infos[i].dimNames[d] != dims[k].name)
            continue;
          int64_t v = inputs[i].shape[d];
          std::string where = "input '" + infos[i].name + "' dim " + std::to_string(d) + " '" +
                              dims[k].name + "' = " + std::to_string(v);
          if (v < dims[k].min || v > dims[k].max)
            return Status::error(
                model_->path() + ": " + where + " is outside " + std::to_string(dims[k].min) +
                ".." + std::to_string(dims[k].max) + " (compiled with --dim " + dims[k].name + "=" +
                std::to_string(dims[k].min) + ".." + std::to_string(dims[k].max) + ")");
          if (values[k] < 0) {
            values[k] = v;
            boundBy[k] = where;
          } else if (values[k] != v) {
            return Status::error(model_->path() + ": " + where + ", but " + boundBy[k]);
          }
        }
    // Session state: its rows are what the session holds, not an input's.
    for (const StateInfo &st : model_->states()) {
      if (st.pages) // a paged pool: read whole, no rows to bind
        continue;
      const DimInfo &dim = dims[st.rowsDim];
      int64_t &v = values[st.rowsDim];
      std::string where =
          "session state '" + st.output + "' holds " + std::to_string(stateRows_) + " rows";
      if (v >= 0 && v != stateRows_)
        return Status::error(model_->path() + ": " + where + " ('" + dim.name + "'), but " +
                             boundBy[st.rowsDim]);
      if (stateRows_ < dim.min || stateRows_ > dim.max)
        return Status::error(model_->path() + ": " + where + ", outside '" + dim.name + "' " +
                             std::to_string(dim.min) + ".." + std::to_string(dim.max));
      v = stateRows_;
    }
    for (size_t k = 0; k < dims.size(); ++k)
      if (values[k] < 0)
        return Status::error(model_->path() + ": no input has the dim '" + dims[k].name +
                             "' alone, so its value cannot be bound");
    dimValues_ = values;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<int64_t> shape = infos[i].shape;
    if (!dims.empty()) {
      auto bound = model_->shapeOf(infos[i], dimValues_);
      if (!bound.ok())
        return bound.status();
      shape = std::move(*bound);
    }
    EFFC_RETURN_IF_ERROR(checkTensor(inputs[i], infos[i], shape,
                                     model_->path() + ": input '" + infos[i].name + "'", options_));
  }
  if (!dims.empty())
    return impl_->setDims(dimValues_);
  return Status::OK();
}

Status Session::resetState(int64_t rows) {
  if (rows < 0 || rows > stateRows_)
    return Status::error(model_->path() + ": resetState(" + std::to_string(rows) +
                         "): the session state holds " + std::to_string(stateRows_) + " rows");
  stateRows_ = rows;
  return Status::OK();
}

Status Session::copyStatePage(int64_t from, int64_t to) {
  bool any = false;
  for (size_t s = 0; s < model_->states().size(); ++s) {
    const StateInfo &st = model_->states()[s];
    if (!st.pages)
      continue;
    any = true;
    if (from < 0 || to < 0 || from >= st.shape[0] || to >= st.shape[0])
      return Status::error(model_->path() + ": copyStatePage(" + std::to_string(from) + ", " +
                           std::to_string(to) + "): pool '" + st.output + "' has " +
                           std::to_string(st.shape[0]) + " pages");
    if (from == to)
      continue;
    const uint64_t page = uint64_t(st.shape[1] * st.shape[2] * st.shape[3]) * dtypeSize(st.dtype);
    EFFC_RETURN_IF_ERROR(
        impl_->copyStateBytes(s, uint64_t(from) * page, uint64_t(to) * page, page));
  }
  if (!any)
    return Status::error(model_->path() + ": copyStatePage: the model keeps no paged KV pool "
                                          "in session state");
  return Status::OK();
}

Status Session::advanceState() {
  for (const StateInfo &st : model_->states()) {
    if (st.pages)
      continue;
    auto shape = model_->shapeOf(st.presentView, dimValues_);
    if (!shape.ok())
      return shape.status();
    stateRows_ = (*shape)[2]; // every state appends the same rows (checked at load)
  }
  return Status::OK();
}

StatusOr<std::vector<std::vector<int64_t>>> Session::outputShapes() const {
  std::vector<std::vector<int64_t>> shapes;
  for (const TensorInfo &o : model_->outputs()) {
    if (model_->dims().empty()) {
      shapes.push_back(o.shape);
      continue;
    }
    auto shape = model_->shapeOf(o, dimValues_);
    if (!shape.ok())
      return shape.status();
    shapes.push_back(std::move(*shape));
  }
  return shapes;
}

StatusOr<std::vector<HostTensor>> Session::run(const std::map<std::string, Tensor> &inputs,
                                               RunProfile *profile) {
  auto ordered = orderInputs(inputs);
  if (!ordered.ok())
    return ordered.status();
  return runPositional(*ordered, profile);
}

StatusOr<std::vector<HostTensor>> Session::runPositional(const std::vector<Tensor> &inputs,
                                                         RunProfile *profile) {
  EFFC_RETURN_IF_ERROR(checkInputs(inputs));
  auto shapes = outputShapes();
  if (!shapes.ok())
    return shapes.status();
  std::vector<HostTensor> outputs;
  std::vector<MutableTensor> views;
  for (size_t o = 0; o < shapes->size(); ++o)
    outputs.emplace_back(model_->outputs()[o].dtype, (*shapes)[o]);
  for (HostTensor &t : outputs)
    views.push_back(t.mutableView());
  RunProfile *next = std::exchange(nextProfile_, nullptr);
  EFFC_RETURN_IF_ERROR(impl_->run(inputs, views, profile ? profile : next));
  EFFC_RETURN_IF_ERROR(advanceState());
  return outputs;
}

StatusOr<std::vector<DeviceTensor>>
Session::runOnDevice(const std::map<std::string, Tensor> &inputs) {
  auto ordered = orderInputs(inputs);
  if (!ordered.ok())
    return ordered.status();
  return runOnDevicePositional(*ordered);
}

StatusOr<std::vector<DeviceTensor>>
Session::runOnDevicePositional(const std::vector<Tensor> &inputs) {
  EFFC_RETURN_IF_ERROR(checkInputs(inputs));
  auto out = impl_->runOnDevice(inputs);
  if (!out.ok())
    return out.status().withPrefix(model_->path());
  EFFC_RETURN_IF_ERROR(advanceState());
  return out;
}

Status Session::runInto(const std::map<std::string, Tensor> &inputs,
                        const std::map<std::string, MutableTensor> &outputs) {
  auto ordered = orderInputs(inputs);
  if (!ordered.ok())
    return ordered.status();
  auto orderedOut =
      orderByModel(model_->path(), model_->outputs(), outputs, "output", "no buffer for output");
  if (!orderedOut.ok())
    return orderedOut.status();
  return runIntoPositional(*ordered, *orderedOut);
}

Status Session::runIntoPositional(const std::vector<Tensor> &inputs,
                                  const std::vector<MutableTensor> &outputs) {
  EFFC_RETURN_IF_ERROR(checkInputs(inputs));
  const auto &infos = model_->outputs();
  if (outputs.size() != infos.size())
    return Status::error(model_->path() + ": expected " + std::to_string(infos.size()) +
                         " output buffers, got " + std::to_string(outputs.size()));
  auto shapes = outputShapes();
  if (!shapes.ok())
    return shapes.status();
  for (size_t o = 0; o < outputs.size(); ++o)
    EFFC_RETURN_IF_ERROR(checkTensor(outputs[o], infos[o], (*shapes)[o],
                                     model_->path() + ": output '" + infos[o].name + "'",
                                     options_));
  EFFC_RETURN_IF_ERROR(impl_->run(inputs, outputs, std::exchange(nextProfile_, nullptr)));
  return advanceState();
}

} // namespace effc

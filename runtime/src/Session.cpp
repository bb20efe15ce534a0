#include "effc/Session.h"

#include "effc/Backend.h"

#include <set>

namespace effc {

StatusOr<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                   const SessionOptions &options) {
  if (!model)
    return Status::error("Session::create: null model");
  auto be = getBackend(options.backend);
  if (!be.ok())
    return be.status().withPrefix(model->path());
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

StatusOr<std::vector<Tensor>>
Session::orderInputs(const std::map<std::string, Tensor> &inputs) const {
  const auto &infos = model_->inputs();
  std::set<std::string> known;
  for (auto &i : infos)
    known.insert(i.name);
  for (auto &kv : inputs)
    if (!known.count(kv.first)) {
      std::string list;
      for (auto &i : infos)
        list += (list.empty() ? "" : ", ") + i.name;
      return Status::error(model_->path() + ": unknown input '" + kv.first +
                           "' (model inputs: " + list + ")");
    }
  std::vector<Tensor> ordered;
  for (auto &i : infos) {
    auto it = inputs.find(i.name);
    if (it == inputs.end())
      return Status::error(model_->path() + ": missing input '" + i.name + "'");
    ordered.push_back(it->second);
  }
  return ordered;
}

namespace {

// dtype, shape, data and device of one input or output against its TensorInfo.
template <typename T>
Status checkTensor(const T &t, const TensorInfo &info, const std::string &what,
                   const SessionOptions &options) {
  if (t.dtype != info.dtype)
    return Status::error(what + ": dtype expected " + dtypeName(info.dtype) + ", got " +
                         dtypeName(t.dtype));
  if (t.shape != info.shape)
    return Status::error(what + ": shape expected " + shapeToString(info.shape) + ", got " +
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

Status Session::checkInputs(const std::vector<Tensor> &inputs) const {
  const auto &infos = model_->inputs();
  if (inputs.size() != infos.size())
    return Status::error(model_->path() + ": expected " + std::to_string(infos.size()) +
                         " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i)
    EFFC_RETURN_IF_ERROR(checkTensor(inputs[i], infos[i],
                                     model_->path() + ": input '" + infos[i].name + "'", options_));
  return Status::OK();
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
  std::vector<HostTensor> outputs;
  std::vector<MutableTensor> views;
  for (auto &o : model_->outputs())
    outputs.emplace_back(o.dtype, o.shape);
  for (HostTensor &t : outputs)
    views.push_back(t.mutableView());
  EFFC_RETURN_IF_ERROR(impl_->run(inputs, views, profile));
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
  return out;
}

Status Session::runInto(const std::map<std::string, Tensor> &inputs,
                        const std::map<std::string, MutableTensor> &outputs) {
  auto ordered = orderInputs(inputs);
  if (!ordered.ok())
    return ordered.status();
  const auto &infos = model_->outputs();
  std::set<std::string> known;
  for (auto &o : infos)
    known.insert(o.name);
  for (auto &kv : outputs)
    if (!known.count(kv.first)) {
      std::string list;
      for (auto &o : infos)
        list += (list.empty() ? "" : ", ") + o.name;
      return Status::error(model_->path() + ": unknown output '" + kv.first +
                           "' (model outputs: " + list + ")");
    }
  std::vector<MutableTensor> orderedOut;
  for (auto &o : infos) {
    auto it = outputs.find(o.name);
    if (it == outputs.end())
      return Status::error(model_->path() + ": no buffer for output '" + o.name + "'");
    orderedOut.push_back(it->second);
  }
  return runIntoPositional(*ordered, orderedOut);
}

Status Session::runIntoPositional(const std::vector<Tensor> &inputs,
                                  const std::vector<MutableTensor> &outputs) {
  EFFC_RETURN_IF_ERROR(checkInputs(inputs));
  const auto &infos = model_->outputs();
  if (outputs.size() != infos.size())
    return Status::error(model_->path() + ": expected " + std::to_string(infos.size()) +
                         " output buffers, got " + std::to_string(outputs.size()));
  for (size_t o = 0; o < outputs.size(); ++o)
    EFFC_RETURN_IF_ERROR(checkTensor(
        outputs[o], infos[o], model_->path() + ": output '" + infos[o].name + "'", options_));
  return impl_->run(inputs, outputs, nullptr);
}

} // namespace effc

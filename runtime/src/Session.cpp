#include "effc/Session.h"

#include <set>

namespace effc {

StatusOr<std::unique_ptr<Session>> Session::create(std::shared_ptr<const Model> model,
                                                   const std::string &backend) {
  if (!model)
    return Status::error("Session::create: null model");
  auto be = getBackend(backend);
  if (!be.ok())
    return be.status();
  EFFC_RETURN_IF_ERROR((*be)->supports(*model));
  auto impl = (*be)->createSession(model);
  if (!impl.ok())
    return impl.status();
  std::unique_ptr<Session> s(new Session());
  s->model_ = std::move(model);
  s->backendName_ = backend;
  s->impl_ = std::move(*impl);
  return s;
}

StatusOr<std::vector<HostTensor>> Session::run(const std::map<std::string, Tensor> &inputs,
                                               RunProfile *profile) {
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
  return runPositional(ordered, profile);
}

StatusOr<std::vector<HostTensor>> Session::runPositional(const std::vector<Tensor> &inputs,
                                                         RunProfile *profile) {
  const auto &infos = model_->inputs();
  const std::string &path = model_->path();
  if (inputs.size() != infos.size())
    return Status::error(path + ": expected " + std::to_string(infos.size()) + " inputs, got " +
                         std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor &t = inputs[i];
    const TensorInfo &info = infos[i];
    if (t.dtype != info.dtype)
      return Status::error(path + ": input '" + info.name + "': dtype expected " +
                           dtypeName(info.dtype) + ", got " + dtypeName(t.dtype));
    if (t.shape != info.shape)
      return Status::error(path + ": input '" + info.name + "': shape expected " +
                           shapeToString(info.shape) + ", got " + shapeToString(t.shape));
    if (t.device != Device::Host)
      return Status::error(path + ": input '" + info.name + "': not a host tensor");
    if (!t.data && t.byteSize())
      return Status::error(path + ": input '" + info.name + "': null data");
  }
  std::vector<HostTensor> outputs;
  for (auto &o : model_->outputs())
    outputs.emplace_back(o.dtype, o.shape);
  EFFC_RETURN_IF_ERROR(impl_->run(inputs, outputs, profile));
  return outputs;
}

} // namespace effc

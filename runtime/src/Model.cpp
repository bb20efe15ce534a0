#include "effc/Model.h"

#include "Artifact.h"
#include "ArtifactFormat.h"
#include "DimExpr.h"
#include "ModelManifest.h"
#include "effc/TensorIO.h"

namespace effc {

Model::Model() : manifest_(std::make_unique<detail::ModelManifest>()) {}
Model::~Model() = default;

const detail::ModelManifest &detail::modelManifest(const Model &model) { return *model.manifest_; }

uint64_t Model::arenaBytes() const { return manifest_->manifest.arena_bytes(); }

bool TensorInfo::isStatic() const {
  for (int64_t d : shape)
    if (d < 0)
      return false;
  return true;
}

StatusOr<std::vector<int64_t>> Model::shapeOf(const TensorInfo &info,
                                              const std::vector<int64_t> &dimValues) const {
  if (dimValues.size() != dims_.size())
    return Status::error(path_ + ": " + std::to_string(dimValues.size()) +
                         " dim values for a model with " + std::to_string(dims_.size()) +
                         " symbolic dims");
  for (size_t d = 0; d < dims_.size(); ++d)
    if (dimValues[d] < dims_[d].min || dimValues[d] > dims_[d].max)
      return Status::error(path_ + ": dim '" + dims_[d].name +
                           "' = " + std::to_string(dimValues[d]) + " is outside " +
                           std::to_string(dims_[d].min) + ".." + std::to_string(dims_[d].max));
  const artifact::Buffer &buf = manifest_->manifest.buffers(int(info.buffer));
  std::vector<int64_t> shape(buf.shape().begin(), buf.shape().end());
  for (int d = 0; d < buf.shape_exprs_size(); ++d) {
    // Validated at load: the expressions stay within [0, planned extent].
    auto expr = DimExpr::fromProto(buf.shape_exprs(d), uint32_t(dims_.size()));
    shape[d] = expr->eval(dimValues).value_or(-1);
  }
  return shape;
}

StatusOr<std::shared_ptr<const Model>> Model::load(const std::string &path) {
  auto bytes = readFileBytes(path);
  if (!bytes.ok())
    return bytes.status();
  return loadFromMemory(bytes->data(), bytes->size(), path);
}

StatusOr<std::shared_ptr<const Model>> Model::loadFromMemory(const void *data, size_t size,
                                                             const std::string &name) {
  std::shared_ptr<Model> m(new Model());
  m->path_ = name;
  // Keep the image 256-byte aligned in memory so weights keep their alignment.
  m->storage_.resize(size + format::kAlign);
  uint8_t *base = m->storage_.data();
  base += (format::kAlign - reinterpret_cast<uintptr_t>(base) % format::kAlign) % format::kAlign;
  if (size)
    std::memcpy(base, data, size);
  ArtifactSections secs;
  EFFC_RETURN_IF_ERROR(parseArtifact(base, size, name, &secs));
  m->manifest_->manifest = std::move(secs.manifest);
  m->weights_ = base + secs.weightsOffset;
  m->weightsSize_ = secs.weightsSize;
  m->payload_.assign(reinterpret_cast<const char *>(base + secs.payloadOffset), secs.payloadSize);
  const artifact::Manifest &man = m->manifest_->manifest;
  for (const auto &d : man.dims())
    m->dims_.push_back({d.name(), d.min(), d.max()});
  std::vector<std::string> dimNames;
  for (const auto &d : man.dims())
    dimNames.push_back(d.name());
  auto infoOf = [&](const std::string &name, uint32_t id) {
    const auto &buf = man.buffers(int(id));
    TensorInfo info{name, DType(buf.dtype()), {buf.shape().begin(), buf.shape().end()}, id, {}};
    info.dimNames.assign(info.shape.size(), "");
    for (int d = 0; d < buf.shape_exprs_size(); ++d) {
      auto expr = DimExpr::fromProto(buf.shape_exprs(d), uint32_t(man.dims_size()));
      if (expr.ok() && !expr->isConstant()) {
        info.shape[d] = -1;
        info.dimNames[d] = expr->toString(dimNames);
      }
    }
    return info;
  };
  for (const auto &b : man.inputs())
    m->inputs_.push_back(infoOf(b.name(), b.buffer()));
  for (const auto &b : man.outputs())
    m->outputs_.push_back(infoOf(b.name(), b.buffer()));
  for (const auto &st : man.states()) { // validated: the input's rows are a dim alone
    StateInfo info{st.input(),
                   st.output(),
                   DType(st.dtype()),
                   {st.shape().begin(), st.shape().end()},
                   infoOf(st.input(), st.input_buffer()),
                   infoOf(st.output(), st.output_buffer()),
                   0,
                   st.pages()};
    if (!info.pages) {
      auto rows = DimExpr::fromProto(man.buffers(int(st.input_buffer())).shape_exprs(2),
                                     uint32_t(man.dims_size()));
      info.rowsDim = rows->terms()[0].dims[0];
    }
    m->states_.push_back(std::move(info));
  }
  return std::shared_ptr<const Model>(std::move(m));
}

} // namespace effc

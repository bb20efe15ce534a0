#include "effc/Model.h"

#include "Artifact.h"
#include "ArtifactFormat.h"
#include "ModelManifest.h"
#include "effc/TensorIO.h"

namespace effc {

Model::Model() : manifest_(std::make_unique<detail::ModelManifest>()) {}
Model::~Model() = default;

const detail::ModelManifest &detail::modelManifest(const Model &model) { return *model.manifest_; }

uint64_t Model::arenaBytes() const { return manifest_->manifest.arena_bytes(); }

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
  for (int io = 0; io < 2; ++io) {
    const auto &binds = io == 0 ? man.inputs() : man.outputs();
    for (const auto &b : binds) {
      const auto &buf = man.buffers(int(b.buffer()));
      TensorInfo info{
          b.name(), DType(buf.dtype()), {buf.shape().begin(), buf.shape().end()}, b.buffer()};
      (io == 0 ? m->inputs_ : m->outputs_).push_back(std::move(info));
    }
  }
  return std::shared_ptr<const Model>(std::move(m));
}

} // namespace effc

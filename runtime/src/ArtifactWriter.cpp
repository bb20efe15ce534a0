#include "Artifact.h"
#include "ArtifactFormat.h"
#include "effc/DType.h"
#include "effc/Tensor.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <fstream>
#include <set>

namespace effc {

#ifndef EFFC_VERSION_STRING
#define EFFC_VERSION_STRING "0.1.0"
#endif

uint64_t fnv1a64(const void *data, size_t size) {
  uint64_t h = 1469598103934665603ull;
  const uint8_t *p = static_cast<const uint8_t *>(data);
  for (size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

namespace format {
void encodeHeader(const Header &h, uint8_t *p) {
  std::memcpy(p, kMagic, 8);
  putU32(p + 8, h.formatVersion);
  putU32(p + 12, h.headerSize);
  putU64(p + 16, h.manifestOffset);
  putU64(p + 24, h.manifestSize);
  putU64(p + 32, h.payloadOffset);
  putU64(p + 40, h.payloadSize);
  putU64(p + 48, h.weightsOffset);
  putU64(p + 56, h.weightsSize);
  putU64(p + 64, h.fileSize);
  putU64(p + 72, h.manifestChecksum);
  putU64(p + 80, h.payloadChecksum);
  putU64(p + 88, fnv1a64(p, 88));
}
Header decodeHeader(const uint8_t *p) {
  Header h;
  h.formatVersion = getU32(p + 8);
  h.headerSize = getU32(p + 12);
  h.manifestOffset = getU64(p + 16);
  h.manifestSize = getU64(p + 24);
  h.payloadOffset = getU64(p + 32);
  h.payloadSize = getU64(p + 40);
  h.weightsOffset = getU64(p + 48);
  h.weightsSize = getU64(p + 56);
  h.fileSize = getU64(p + 64);
  h.manifestChecksum = getU64(p + 72);
  h.payloadChecksum = getU64(p + 80);
  h.checksum = getU64(p + 88);
  return h;
}
} // namespace format

void planArenaWithoutReuse(artifact::Manifest &m) {
  uint64_t off = 0;
  for (auto &b : *m.mutable_buffers()) {
    if (b.storage() != artifact::Buffer::ARENA)
      continue;
    if (b.size_bytes() == 0) {
      int64_t n = numElements({b.shape().begin(), b.shape().end()});
      b.set_size_bytes(n < 0 ? 0 : uint64_t(n) * dtypeSize(DType(b.dtype())));
    }
    b.set_offset(off);
    off = format::alignUp(off + b.size_bytes());
  }
  m.set_arena_bytes(off);
}

StatusOr<std::string> serializeArtifact(artifact::Manifest m,
                                        const std::vector<WeightBlob> &weights,
                                        const std::string &payload) {
  bool tensorMaps = false, bodyShapeExprs = false;
  for (const auto &k : m.kernels()) {
    tensorMaps |= k.tensor_maps_size() > 0;
    for (const auto &op : k.body())
      bodyShapeExprs |= op.result_shape_exprs_size() > 0;
  }
  m.set_format_version(format::formatVersionFor(m.dims_size() > 0, tensorMaps || m.devices() > 1,
                                                m.states_size() > 0, bodyShapeExprs));
  if (m.producer().empty())
    m.set_producer(std::string("effc ") + EFFC_VERSION_STRING);
  uint64_t interm = 0;
  for (auto &b : *m.mutable_buffers()) {
    if (b.size_bytes() == 0) {
      int64_t n = numElements({b.shape().begin(), b.shape().end()});
      if (n > 0)
        b.set_size_bytes(uint64_t(n) * dtypeSize(DType(b.dtype())));
    }
    if (b.storage() == artifact::Buffer::ARENA)
      interm += b.size_bytes();
  }
  if (m.intermediate_bytes() == 0)
    m.set_intermediate_bytes(interm);
  // Weights: each blob 256-aligned in the section.
  m.clear_weights();
  std::string wsec;
  std::set<uint32_t> seen;
  for (const WeightBlob &w : weights) {
    if (w.buffer >= uint32_t(m.buffers_size()))
      return Status::error("weight for buffer " + std::to_string(w.buffer) + ": no such buffer");
    if (!seen.insert(w.buffer).second)
      return Status::error("two weight blobs for buffer " + std::to_string(w.buffer));
    artifact::Buffer *b = m.mutable_buffers(int(w.buffer));
    if (b->storage() != artifact::Buffer::WEIGHT)
      return Status::error("weight blob for buffer " + std::to_string(w.buffer) + " ('" +
                           b->name() + "') which is not a WEIGHT buffer");
    wsec.resize(format::alignUp(wsec.size()), '\0');
    artifact::Weight *e = m.add_weights();
    e->set_buffer(w.buffer);
    e->set_offset(wsec.size());
    e->set_size(w.bytes.size());
    e->set_checksum(fnv1a64(w.bytes.data(), w.bytes.size()));
    b->set_offset(wsec.size());
    wsec += w.bytes;
  }
  Status v = validateManifest(m, wsec.size(), payload.size());
  if (!v.ok())
    return v;
  // Deterministic: protobuf maps (kernel attributes) otherwise serialize in
  // hash order, so two compiles of one model would differ byte for byte.
  std::string man;
  {
    google::protobuf::io::StringOutputStream stream(&man);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!m.SerializeToCodedStream(&coded))
      return Status::error("cannot serialize the manifest");
  }

  format::Header h;
  h.formatVersion = m.format_version();
  h.manifestOffset = format::kAlign;
  h.manifestSize = man.size();
  h.payloadOffset = format::alignUp(h.manifestOffset + h.manifestSize);
  h.payloadSize = payload.size();
  h.weightsOffset = format::alignUp(h.payloadOffset + h.payloadSize);
  h.weightsSize = wsec.size();
  h.fileSize = h.weightsOffset + h.weightsSize;
  h.manifestChecksum = fnv1a64(man.data(), man.size());
  h.payloadChecksum = fnv1a64(payload.data(), payload.size());
  std::string out(h.fileSize, '\0');
  format::encodeHeader(h, reinterpret_cast<uint8_t *>(&out[0]));
  out.replace(h.manifestOffset, man.size(), man);
  out.replace(h.payloadOffset, payload.size(), payload);
  out.replace(h.weightsOffset, wsec.size(), wsec);
  return out;
}

Status writeArtifact(const std::string &path, artifact::Manifest manifest,
                     const std::vector<WeightBlob> &weights, const std::string &payload) {
  auto bytes = serializeArtifact(std::move(manifest), weights, payload);
  if (!bytes.ok())
    return bytes.status().withPrefix(path);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f)
    return Status::error(path + ": cannot open for writing");
  f.write(bytes->data(), std::streamsize(bytes->size()));
  f.close();
  if (!f)
    return Status::error(path + ": write failed");
  return Status::OK();
}

} // namespace effc

// Writing and parsing .effc artifacts (file layout: runtime/src/ArtifactFormat.h).
// The compiler builds a Manifest (buffers, bindings, kernels, arena plan) and
// calls writeArtifact with the weight bytes; the writer lays out the file.
// Runtime-internal (it exposes the protobuf manifest): the compiler, the
// runtime and its tests use it, the public API (runtime/include/effc) never.
#pragma once

#include "effc/Status.h"
#include "runtime/proto/artifact.pb.h"

#include <cstdint>
#include <string>
#include <vector>

namespace effc {

/// Bytes of one WEIGHT buffer (manifest buffer id `buffer`).
struct WeightBlob {
  uint32_t buffer = 0;
  std::string bytes;
};

/// Fills in the manifest what only the layout knows, then writes the file:
///  - format_version, producer (if empty: "effc <version>"),
///  - Buffer.size_bytes where 0 (dtype size x elements),
///  - Manifest.weights (one entry per blob: offset, size, FNV-1a checksum) and
///    Buffer.offset of each WEIGHT buffer,
///  - intermediate_bytes when 0 (sum of ARENA buffer sizes).
/// The result is validated like the reader does before anything is written,
/// so an inconsistent manifest is reported here, not at load time.
Status writeArtifact(const std::string &path, artifact::Manifest manifest,
                     const std::vector<WeightBlob> &weights, const std::string &payload = "");
/// Same, into memory.
StatusOr<std::string> serializeArtifact(artifact::Manifest manifest,
                                        const std::vector<WeightBlob> &weights,
                                        const std::string &payload = "");

/// Assigns ARENA offsets without reuse (each buffer 256-aligned after the
/// previous) and sets arena_bytes. For tests and as a planner fallback.
void planArenaWithoutReuse(artifact::Manifest &manifest);

/// The parsed sections of an artifact image (pointers into `data`).
struct ArtifactSections {
  artifact::Manifest manifest;
  uint64_t weightsOffset = 0, weightsSize = 0;
  uint64_t payloadOffset = 0, payloadSize = 0;
};
/// Validates everything (header, checksums, manifest consistency). `name`
/// (the file path) prefixes every message.
Status parseArtifact(const uint8_t *data, size_t size, const std::string &name,
                     ArtifactSections *out);
/// The manifest-only checks of parseArtifact (weight table vs `weightsSize`,
/// CUDA source/cubin ranges vs `payloadSize`, eff.fusion bodies).
Status validateManifest(const artifact::Manifest &m, uint64_t weightsSize,
                        uint64_t payloadSize = ~uint64_t(0));

/// FNV-1a 64-bit.
uint64_t fnv1a64(const void *data, size_t size);

} // namespace effc

// Embedding NVRTC-compiled cubins into an artifact (effc --embed-cubin).
// Runtime-internal: it takes the protobuf manifest, which the public
// cuda/Nvrtc.h does not name.
#pragma once

#include "effc/Status.h"
#include "runtime/proto/artifact.pb.h"

#include <string>
#include <vector>

namespace effc {
namespace nvrtc {

/// For `effc --embed-cubin`: compiles the manifest's CUDA source (payload
/// [cuda_source_offset, +cuda_source_size)) for each arch with
/// compileOptions(arch, nvrtc_options), checks that every Kernel.source is in
/// the cubin, appends the cubins to `payload` (256-byte aligned) and adds or
/// replaces one Manifest.cubins entry per arch.
Status embedCubins(artifact::Manifest &manifest, std::string &payload,
                   const std::vector<std::string> &archs);

} // namespace nvrtc
} // namespace effc

// effc --embed-cubin: cubins compiled at build time travel in the payload so
// a GPU machine without NVRTC (or in a hurry) skips the JIT.
#include "cuda/EmbedCubins.h"

#include "cuda/CudaManifest.h"
#include "cuda/Nvrtc.h"
#include "runtime/proto/artifact.pb.h"

namespace effc::nvrtc {

Status embedCubins(artifact::Manifest &m, std::string &payload,
                   const std::vector<std::string> &archs) {
  auto source = cuda::cudaSource(m, payload);
  if (!source.ok())
    return source.status();
  EFFC_RETURN_IF_ERROR(cuda::checkKernels(m));
  auto ver = version();
  if (!ver.ok())
    return ver.status();
  std::vector<std::string> extra(m.nvrtc_options().begin(), m.nvrtc_options().end());
  for (const std::string &arch : archs) {
    auto c = compile(*source, compileOptions(arch, extra));
    if (!c.ok())
      return c.status();
    EFFC_RETURN_IF_ERROR(cuda::checkCubinHasKernels(m, c->cubin, "cubin for " + arch));
    payload.resize((payload.size() + 255) / 256 * 256, '\0');
    artifact::Cubin *entry = nullptr;
    for (artifact::Cubin &e : *m.mutable_cubins())
      if (e.arch() == arch)
        entry = &e; // the old bytes stay, unreferenced
    if (!entry)
      entry = m.add_cubins();
    entry->set_arch(arch);
    entry->set_offset(payload.size());
    entry->set_size(c->cubin.size());
    entry->set_nvrtc_version(*ver);
    payload += c->cubin;
  }
  return Status::OK();
}

} // namespace effc::nvrtc

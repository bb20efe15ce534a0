// effc-nvrtc-check ARTIFACT.effc [--arch=sm_80,sm_90,sm_90a] [-v]
//
// Compiles an artifact's CUDA source with NVRTC for each arch and checks that
// every Kernel.source is a function of the resulting cubin (read from its ELF
// symbol table), plus any embedded cubins. Needs libnvrtc, no GPU or driver.
// Exit 0 when everything compiles and resolves, 1 otherwise.
#include "ModelManifest.h"
#include "cuda/CudaManifest.h"
#include "cuda/Nvrtc.h"
#include "effc/Model.h"
#include "runtime/proto/artifact.pb.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace effc;

namespace {

/// The exit status, without the exit-time leak check of an ASan build: after
/// NVRTC (closed source, uninstrumented) has run, LeakSanitizer's
/// stop-the-world tracer can segfault on this process ("Tracer caught signal
/// 11", reproducible in CI for some artifacts), which is no report about
/// effc. ASan and UBSan still check everything the tool did before.
int finish(int status) {
#if defined(__SANITIZE_ADDRESS__)
  std::fflush(nullptr);
  std::_Exit(status);
#endif
  return status;
}

const char *kUsage = "usage: effc-nvrtc-check ARTIFACT.effc [--arch=sm_80,sm_90,sm_90a] [-v]\n"
                     "  --arch=LIST   comma-separated targets (default sm_80,sm_90,sm_90a)\n"
                     "  -v            print the NVRTC log, options and the kernels of each cubin\n";

std::vector<std::string> splitCommas(const std::string &s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos)
      end = s.size();
    if (end > start)
      out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int fail(const std::string &msg) {
  std::fprintf(stderr, "effc-nvrtc-check: %s\n", msg.c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  std::vector<std::string> archs = {"sm_80", "sm_90", "sm_90a"};
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "-v")
      verbose = true;
    else if (a.rfind("--arch=", 0) == 0)
      archs = splitCommas(a.substr(7));
    else if (a == "--arch" && i + 1 < argc)
      archs = splitCommas(argv[++i]);
    else if (!a.empty() && a[0] == '-')
      return fail("unknown option '" + a + "'\n" + kUsage);
    else if (path.empty())
      path = a;
    else
      return fail("more than one artifact given\n" + std::string(kUsage));
  }
  if (path.empty())
    return fail(std::string("no artifact given\n") + kUsage);
  if (archs.empty())
    return fail("--arch lists no target");

  auto model = Model::load(path);
  if (!model.ok())
    return fail(model.status().message());
  const artifact::Manifest &m = manifestOf(**model);
  Status st = cuda::checkKernels(m);
  if (!st.ok())
    return fail(path + ": " + st.message());
  auto source = cuda::cudaSource(m, (*model)->payload());
  if (!source.ok())
    return fail(path + ": " + source.status().message());
  auto ver = nvrtc::version();
  if (!ver.ok())
    return fail(ver.status().message());
  std::vector<std::string> extra(m.nvrtc_options().begin(), m.nvrtc_options().end());
  size_t nKernels = cuda::kernelFunctions(m).size();
  if (!m.cuda_arch().empty()) // runtimes JIT such an artifact for this arch only
    std::printf("needs %s\n", m.cuda_arch().c_str());
  if (verbose)
    std::printf("%s: %d launches of %zu kernels, NVRTC %s\n", path.c_str(), m.kernels_size(),
                nKernels, ver->c_str());

  int failures = 0;
  for (const std::string &arch : archs) {
    std::vector<std::string> opts = nvrtc::compileOptions(arch, extra);
    if (verbose) {
      std::printf("%s: options:", arch.c_str());
      for (auto &o : opts)
        std::printf(" %s", o.c_str());
      std::printf("\n");
    }
    auto c = nvrtc::compile(*source, opts);
    if (!c.ok()) {
      std::fprintf(stderr, "%s: FAILED\n%s\n", arch.c_str(), c.status().message().c_str());
      ++failures;
      continue;
    }
    if (verbose && !c->log.empty())
      std::printf("%s: NVRTC log:\n%s\n", arch.c_str(), c->log.c_str());
    Status has = cuda::checkCubinHasKernels(m, c->cubin, arch);
    if (!has.ok()) {
      std::fprintf(stderr, "%s: FAILED: %s\n", arch.c_str(), has.message().c_str());
      ++failures;
      continue;
    }
    std::printf("%s: %zu kernels compiled in %.0f ms (cubin %zu bytes)\n", arch.c_str(), nKernels,
                c->ms, c->cubin.size());
    if (verbose)
      for (const std::string &k : cuda::kernelFunctions(m))
        std::printf("  %s\n", k.c_str());
  }
  // Embedded cubins must hold every kernel too (they are used without a check
  // of the source at run time).
  for (const artifact::Cubin &e : m.cubins()) {
    auto cubin = cuda::embeddedCubin(m, (*model)->payload(), e.arch());
    Status ok = cubin.ok() ? cuda::checkCubinHasKernels(m, **cubin, "embedded cubin " + e.arch())
                           : cubin.status();
    if (!ok.ok()) {
      std::fprintf(stderr, "%s\n", ok.message().c_str());
      ++failures;
    } else {
      std::printf("embedded %s: %zu kernels present (NVRTC %s)\n", e.arch().c_str(), nKernels,
                  e.nvrtc_version().c_str());
    }
  }
  return finish(failures ? 1 : 0);
}

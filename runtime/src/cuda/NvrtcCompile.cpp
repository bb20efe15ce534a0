// One NVRTC compilation: CUDA C++ text -> cubin for one arch.
#include "cuda/Nvrtc.h"
#include "cuda/NvrtcApi.h"

#include <chrono>

namespace effc::nvrtc {

namespace {
bool hasOptionPrefix(const std::vector<std::string> &opts,
                     std::initializer_list<const char *> prefixes) {
  for (const std::string &o : opts)
    for (const char *p : prefixes)
      if (o.rfind(p, 0) == 0)
        return true;
  return false;
}

std::string joinOptions(const std::vector<std::string> &opts) {
  std::string s;
  for (const std::string &o : opts)
    s += (s.empty() ? "" : " ") + o;
  return s;
}
} // namespace

std::vector<std::string> compileOptions(const std::string &arch,
                                        const std::vector<std::string> &extra) {
  std::vector<std::string> opts{"--gpu-architecture=" + arch};
  opts.insert(opts.end(), extra.begin(), extra.end());
  // NVRTC rejects some options given twice, so only add what is missing.
  if (!hasOptionPrefix(extra, {"-default-device", "--device-as-default-execution-space"}))
    opts.push_back("-default-device");
  if (!hasOptionPrefix(extra, {"--std", "-std"}))
    opts.push_back("--std=c++17");
  return opts;
}

std::string archForComputeCapability(int major, int minor) {
  return "sm_" + std::to_string(major) + std::to_string(minor);
}

StatusOr<Compiled> compile(const std::string &source, const std::vector<std::string> &options,
                           const std::string &name) {
  auto apiOr = cuda::getNvrtc();
  if (!apiOr.ok())
    return apiOr.status();
  const cuda::NvrtcApi &api = **apiOr;
  auto err = [&](const char *what, cuda::nvrtcResult r) {
    return Status::error(std::string("nvrtc: ") + what + ": " + api.nvrtcGetErrorString(r));
  };
  auto t0 = std::chrono::steady_clock::now();
  cuda::nvrtcProgram prog = nullptr;
  cuda::nvrtcResult r =
      api.nvrtcCreateProgram(&prog, source.c_str(), name.c_str(), 0, nullptr, nullptr);
  if (r != cuda::NVRTC_SUCCESS)
    return err("nvrtcCreateProgram", r);
  std::vector<const char *> argv;
  for (const std::string &o : options)
    argv.push_back(o.c_str());
  cuda::nvrtcResult cr = api.nvrtcCompileProgram(prog, int(argv.size()), argv.data());
  Compiled out;
  size_t logSize = 0;
  if (api.nvrtcGetProgramLogSize(prog, &logSize) == cuda::NVRTC_SUCCESS && logSize > 1) {
    out.log.resize(logSize);
    if (api.nvrtcGetProgramLog(prog, &out.log[0]) != cuda::NVRTC_SUCCESS)
      out.log.clear();
    while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n'))
      out.log.pop_back();
  }
  Status st;
  if (cr != cuda::NVRTC_SUCCESS) {
    st = Status::error("nvrtc: compiling " + name + " (" + joinOptions(options) + ") failed: " +
                       api.nvrtcGetErrorString(cr) + (out.log.empty() ? "" : "\n" + out.log));
  } else {
    size_t size = 0;
    r = api.nvrtcGetCUBINSize(prog, &size);
    if (r != cuda::NVRTC_SUCCESS)
      st = err("nvrtcGetCUBINSize", r);
    else if (size == 0)
      st = Status::error("nvrtc: empty cubin (was --gpu-architecture a compute_XY PTX target?)");
    else {
      out.cubin.resize(size);
      r = api.nvrtcGetCUBIN(prog, &out.cubin[0]);
      if (r != cuda::NVRTC_SUCCESS)
        st = err("nvrtcGetCUBIN", r);
    }
  }
  api.nvrtcDestroyProgram(&prog);
  if (!st.ok())
    return st;
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

} // namespace effc::nvrtc

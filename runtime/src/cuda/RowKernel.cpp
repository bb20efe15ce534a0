// The shared part of the kernels over rows of logits (RowKernel.h).
#include "cuda/RowKernel.h"

#include "cuda/DeviceMemory.h"
#include "cuda/RuntimeModule.h"

#include <utility>

namespace effc::cuda {
namespace {

struct Loaded {
  const Driver *driver = nullptr;
  CUfunction fn = nullptr;
};

} // namespace

Status RowKernel::load(const SessionOptions &o, std::string (*source)(), const char *what,
                       const char *file, const char *entry) {
  // One call site for every row kernel: the entry is part of the key.
  auto k = loadOncePerProcess<Loaded>(
      std::pair<int, std::string>(o.device, entry), [&]() -> StatusOr<Loaded> {
        auto d = getDriver(o.device);
        if (!d.ok())
          return d.status();
        const Driver &drv = **d;
        Loaded l{&drv, nullptr};
        EFFC_RETURN_IF_ERROR(loadRuntimeModule(drv, o, source(), what, file, {{&l.fn, entry}}));
        return l;
      });
  if (!k.ok())
    return k.status();
  driver_ = k->driver;
  fn_ = k->fn;
  entry_ = entry;
  device_ = o.device;
  return Status::OK();
}

Status RowKernel::stage(int64_t n, std::vector<int64_t> upload, CUstream s, const char *what,
                        uint64_t &bytes) {
  const Driver &d = *driver_;
  EFFC_RETURN_IF_ERROR(d.makeCurrent());
  // A default DeviceTensor has no storage but numElements() 1 (shape []).
  if (!ids_.data() || ids_.numElements() < n) {
    for (auto [t, count] : {std::pair{&rows_, int64_t(upload.size())}, std::pair{&ids_, n}}) {
      auto a = DeviceTensor::allocate(DType::INT64, {count}, device_);
      if (!a.ok())
        return a.status();
      *t = std::move(*a);
    }
    uploaded_.clear();
  }
  // Pageable source: staged before the call returns.
  if (uploaded_ != upload) {
    EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemcpyHtoDAsync(CUdeviceptr(rows_.data()), upload.data(),
                                                         sizeof(int64_t) * upload.size(), s),
                                 what));
    bytes += sizeof(int64_t) * upload.size();
    uploaded_ = std::move(upload);
  }
  return Status::OK();
}

Status RowKernel::run(void **args, unsigned threads, CUstream s, std::vector<int64_t> &ids,
                      const char *copyWhat, const char *syncWhat, uint64_t &bytes) {
  const Driver &d = *driver_;
  EFFC_RETURN_IF_ERROR(d.check(
      d.api.cuLaunchKernel(fn_, unsigned(ids.size()), 1, 1, threads, 1, 1, 0, s, args, nullptr),
      "launching " + entry_));
  EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemcpyDtoHAsync(ids.data(), CUdeviceptr(ids_.data()),
                                                       sizeof(int64_t) * ids.size(), s),
                               copyWhat));
  bytes += sizeof(int64_t) * ids.size();
  return d.check(d.api.cuStreamSynchronize(s), syncWhat);
}

} // namespace effc::cuda

// The device side of the Generator's picks (DeviceArgmax.h): the kernel of
// compiler/codegen/device/argmax_rows.cuh, embedded at build time with
// primitives.cuh before it (runtime/src/CMakeLists.txt, the compiler's
// EmbedDeviceCode.cmake), compiled by NVRTC for the device's arch through
// the kernel cache and loaded once per device and process.
#include "cuda/DeviceArgmax.h"

#include "cuda/DeviceMemory.h"
#include "cuda/DriverApi.h"
#include "cuda/RuntimeModule.h"

#include <string>

namespace effc::cuda {
namespace {

#include "ArgmaxDeviceFiles.inc"

struct Loaded {
  const Driver *driver = nullptr;
  CUfunction fn = nullptr;
};

/// The kernel on device `ordinal`, compiled and loaded once per process.
StatusOr<Loaded> loadKernel(const SessionOptions &o) {
  return loadOncePerProcess<Loaded>(o.device, [&]() -> StatusOr<Loaded> {
    auto d = getDriver(o.device);
    if (!d.ok())
      return d.status();
    const Driver &drv = **d;
    Loaded l{&drv, nullptr};
    EFFC_RETURN_IF_ERROR(loadRuntimeModule(drv, o, argmaxRowsSource(), "the greedy-pick kernel",
                                           "argmax_rows.cuh", {{&l.fn, "effc_argmax_rows"}}));
    return l;
  });
}

} // namespace

std::string argmaxRowsSource() { return joinDeviceFiles(kDeviceFiles); }

struct DeviceArgmax::Impl {
  Loaded k;
  int device = 0;
  DeviceTensor rows, ids;            // INT64 [capacity]
  std::vector<int64_t> uploadedRows; // what `rows` holds
};

DeviceArgmax::DeviceArgmax(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceArgmax::~DeviceArgmax() = default;

StatusOr<std::unique_ptr<DeviceArgmax>> DeviceArgmax::create(const SessionOptions &options) {
  auto k = loadKernel(options);
  if (!k.ok())
    return k.status();
  auto impl = std::make_unique<Impl>();
  impl->k = *k;
  impl->device = options.device;
  return std::unique_ptr<DeviceArgmax>(new DeviceArgmax(std::move(impl)));
}

bool DeviceArgmax::reads(DType dtype) { return runtimeDtypeCode(dtype) >= 0; }

Status DeviceArgmax::pick(const Tensor &logits, const std::vector<int64_t> &rows, void *stream,
                          std::vector<int64_t> &ids, uint64_t &bytes) {
  Impl &m = *impl_;
  const Driver &d = *m.k.driver;
  const int code = runtimeDtypeCode(logits.dtype);
  if (logits.device != Device::Cuda || code < 0 || logits.shape.empty() || logits.shape.back() <= 0)
    return Status::error(std::string("greedy pick on the device: logits must be a float32, fp16 "
                                     "or bf16 device tensor [..., vocab], got ") +
                         dtypeName(logits.dtype) + " " + shapeToString(logits.shape));
  const int64_t V = logits.shape.back(), total = logits.numElements() / V;
  for (int64_t r : rows)
    if (r < 0 || r >= total)
      return Status::error("greedy pick on the device: row " + std::to_string(r) +
                           " outside the logits' " + std::to_string(total) + " rows");
  const int64_t n = int64_t(rows.size());
  ids.assign(rows.size(), -1);
  if (!n)
    return Status::OK();
  EFFC_RETURN_IF_ERROR(d.makeCurrent());
  CUstream s = static_cast<CUstream>(stream);
  // A default DeviceTensor has no storage but numElements() 1 (shape []).
  if (!m.rows.data() || m.rows.numElements() < n) {
    for (DeviceTensor *t : {&m.rows, &m.ids}) {
      auto a = DeviceTensor::allocate(DType::INT64, {n}, m.device);
      if (!a.ok())
        return a.status();
      *t = std::move(*a);
    }
    m.uploadedRows.clear();
  }
  // Pageable source: staged before the call returns (like the dim values).
  if (m.uploadedRows != rows) {
    EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemcpyHtoDAsync(CUdeviceptr(m.rows.data()), rows.data(),
                                                         sizeof(int64_t) * rows.size(), s),
                                 "copying the greedy-pick rows to the device"));
    bytes += sizeof(int64_t) * rows.size();
    m.uploadedRows = rows;
  }
  const void *src = logits.data;
  void *rowsPtr = m.rows.data(), *idsPtr = m.ids.data();
  float *maxes = nullptr;
  int64_t nArg = n, vArg = V;
  int dtypeArg = code;
  void *args[] = {&src, &rowsPtr, &nArg, &vArg, &dtypeArg, &idsPtr, &maxes};
  EFFC_RETURN_IF_ERROR(
      d.check(d.api.cuLaunchKernel(m.k.fn, unsigned(n), 1, 1, 256, 1, 1, 0, s, args, nullptr),
              "launching effc_argmax_rows"));
  EFFC_RETURN_IF_ERROR(d.check(
      d.api.cuMemcpyDtoHAsync(ids.data(), CUdeviceptr(idsPtr), sizeof(int64_t) * ids.size(), s),
      "copying the greedy picks to the host"));
  bytes += sizeof(int64_t) * ids.size();
  return d.check(d.api.cuStreamSynchronize(s), "greedy pick on the device");
}

Status copyLogitsRows(const Tensor &logits, const std::vector<int64_t> &rows, void *stream,
                      HostTensor &out, uint64_t &bytes) {
  if (logits.device != Device::Cuda || logits.shape.empty() || logits.shape.back() <= 0)
    return Status::error("copying logits rows: not a device tensor [..., vocab]");
  const int64_t V = logits.shape.back(), total = logits.numElements() / V;
  auto d = getDriver(logits.deviceIndex);
  if (!d.ok())
    return d.status();
  const Driver &drv = **d;
  EFFC_RETURN_IF_ERROR(drv.makeCurrent());
  std::vector<int64_t> shape = {int64_t(rows.size()), V};
  if (out.dtype() != logits.dtype || out.shape() != shape)
    out = HostTensor(logits.dtype, shape);
  const size_t rowBytes = size_t(V) * dtypeSize(logits.dtype);
  CUstream s = static_cast<CUstream>(stream);
  for (int64_t r : rows)
    if (r < 0 || r >= total)
      return Status::error("copying logits rows: row " + std::to_string(r) +
                           " outside the logits' " + std::to_string(total) + " rows");
  for (size_t r = 0; r < rows.size(); ++r) {
    // Consecutive rows go in one copy.
    size_t run = 1;
    while (r + run < rows.size() && rows[r + run] == rows[r] + int64_t(run))
      ++run;
    EFFC_RETURN_IF_ERROR(
        drv.check(drv.api.cuMemcpyDtoHAsync(static_cast<char *>(out.data()) + r * rowBytes,
                                            CUdeviceptr(logits.data) + size_t(rows[r]) * rowBytes,
                                            run * rowBytes, s),
                  "copying logits rows to the host"));
    bytes += run * rowBytes;
    r += run - 1;
  }
  return drv.check(drv.api.cuStreamSynchronize(s), "copying logits rows to the host");
}

} // namespace effc::cuda

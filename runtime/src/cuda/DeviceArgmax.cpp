// The device side of the Generator's picks (DeviceArgmax.h): the kernel of
// compiler/codegen/device/argmax_rows.cuh, embedded at build time with
// primitives.cuh before it (runtime/src/CMakeLists.txt, the compiler's
// EmbedDeviceCode.cmake), compiled by NVRTC for the device's arch through
// the kernel cache and loaded once per device and process.
#include "cuda/DeviceArgmax.h"

#include "cuda/DeviceMemory.h"
#include "cuda/DriverApi.h"
#include "cuda/RowKernel.h"
#include "cuda/RuntimeModule.h"

#include <string>

namespace effc::cuda {
namespace {

#include "ArgmaxDeviceFiles.inc"

} // namespace

std::string argmaxRowsSource() { return joinDeviceFiles(kDeviceFiles); }

struct DeviceArgmax::Impl {
  RowKernel k; // rows: INT64 [capacity]
};

DeviceArgmax::DeviceArgmax(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceArgmax::~DeviceArgmax() = default;

StatusOr<std::unique_ptr<DeviceArgmax>> DeviceArgmax::create(const SessionOptions &options) {
  auto impl = std::make_unique<Impl>();
  EFFC_RETURN_IF_ERROR(impl->k.load(options, argmaxRowsSource, "the greedy-pick kernel",
                                    "argmax_rows.cuh", "effc_argmax_rows"));
  return std::unique_ptr<DeviceArgmax>(new DeviceArgmax(std::move(impl)));
}

bool DeviceArgmax::reads(DType dtype) { return runtimeDtypeCode(dtype) >= 0; }

Status DeviceArgmax::pick(const Tensor &logits, const std::vector<int64_t> &rows, void *stream,
                          std::vector<int64_t> &ids, uint64_t &bytes) {
  RowKernel &k = impl_->k;
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
  CUstream s = static_cast<CUstream>(stream);
  EFFC_RETURN_IF_ERROR(k.stage(n, rows, s, "copying the greedy-pick rows to the device", bytes));
  const void *src = logits.data;
  void *rowsPtr = k.rows(), *idsPtr = k.ids();
  float *maxes = nullptr;
  int64_t nArg = n, vArg = V;
  int dtypeArg = code;
  void *args[] = {&src, &rowsPtr, &nArg, &vArg, &dtypeArg, &idsPtr, &maxes};
  return k.run(args, 256, s, ids, "copying the greedy picks to the host",
               "greedy pick on the device", bytes);
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

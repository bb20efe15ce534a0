// The device side of the Generator's sampled picks (DeviceSampler.h): the
// kernel of compiler/codegen/device/sample_rows.cuh, embedded at build time
// after primitives.cuh and token_sampling.cuh (runtime/src/CMakeLists.txt),
// compiled by NVRTC for the device's arch through the kernel cache and
// loaded once per device and process.
#include "cuda/DeviceSampler.h"

#include "cuda/DeviceMemory.h"
#include "cuda/DriverApi.h"
#include "cuda/RuntimeModule.h"
#include "token_sampling.cuh"

#include <string>

namespace effc::cuda {
namespace {

#include "SampleDeviceFiles.inc"

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
    EFFC_RETURN_IF_ERROR(loadRuntimeModule(drv, o, sampleRowsSource(), "the sampling kernel",
                                           "sample_rows.cuh", {{&l.fn, "effc_sample_rows"}}));
    return l;
  });
}

} // namespace

std::string sampleRowsSource() { return joinDeviceFiles(kDeviceFiles); }

struct DeviceSampler::Impl {
  Loaded k;
  int device = 0;
  DeviceTensor rows, ids;            // INT64 [2 x capacity] (rows, then sequences), [capacity]
  std::vector<int64_t> uploadedRows; // what `rows` holds
};

DeviceSampler::DeviceSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceSampler::~DeviceSampler() = default;

StatusOr<std::unique_ptr<DeviceSampler>> DeviceSampler::create(const SessionOptions &options) {
  auto k = loadKernel(options);
  if (!k.ok())
    return k.status();
  auto impl = std::make_unique<Impl>();
  impl->k = *k;
  impl->device = options.device;
  return std::unique_ptr<DeviceSampler>(new DeviceSampler(std::move(impl)));
}

bool DeviceSampler::reads(DType dtype) { return runtimeDtypeCode(dtype) >= 0; }

Status DeviceSampler::sample(const Tensor &logits, const std::vector<int64_t> &rows,
                             const std::vector<int64_t> &sequences, const detail::SamplingParams &p,
                             uint64_t seed, uint64_t step, void *stream, std::vector<int64_t> &ids,
                             uint64_t &bytes) {
  Impl &m = *impl_;
  const Driver &d = *m.k.driver;
  const int code = runtimeDtypeCode(logits.dtype);
  if (logits.device != Device::Cuda || code < 0 || logits.shape.empty() || logits.shape.back() <= 0)
    return Status::error(std::string("sampling on the device: logits must be a float32, fp16 "
                                     "or bf16 device tensor [..., vocab], got ") +
                         dtypeName(logits.dtype) + " " + shapeToString(logits.shape));
  if (!(p.temperature > 0))
    return Status::error("sampling on the device: temperature must be > 0 (0 is greedy), got " +
                         std::to_string(p.temperature));
  if (sequences.size() != rows.size())
    return Status::error("sampling on the device: " + std::to_string(sequences.size()) +
                         " sequences for " + std::to_string(rows.size()) + " rows");
  const int64_t V = logits.shape.back(), total = logits.numElements() / V;
  for (int64_t r : rows)
    if (r < 0 || r >= total)
      return Status::error("sampling on the device: row " + std::to_string(r) +
                           " outside the logits' " + std::to_string(total) + " rows");
  const int64_t n = int64_t(rows.size());
  ids.assign(rows.size(), -1);
  if (!n)
    return Status::OK();
  EFFC_RETURN_IF_ERROR(d.makeCurrent());
  CUstream s = static_cast<CUstream>(stream);
  // A default DeviceTensor has no storage but numElements() 1 (shape []).
  if (!m.ids.data() || m.ids.numElements() < n) {
    for (auto [t, count] : {std::pair{&m.rows, 2 * n}, std::pair{&m.ids, n}}) {
      auto a = DeviceTensor::allocate(DType::INT64, {count}, m.device);
      if (!a.ok())
        return a.status();
      *t = std::move(*a);
    }
    m.uploadedRows.clear();
  }
  // rows[n + r]: row r's sequence (its random stream). Pageable source:
  // staged before the call returns.
  std::vector<int64_t> upload = rows;
  upload.insert(upload.end(), sequences.begin(), sequences.end());
  if (m.uploadedRows != upload) {
    EFFC_RETURN_IF_ERROR(d.check(d.api.cuMemcpyHtoDAsync(CUdeviceptr(m.rows.data()), upload.data(),
                                                         sizeof(int64_t) * upload.size(), s),
                                 "copying the sampled rows to the device"));
    bytes += sizeof(int64_t) * upload.size();
    m.uploadedRows = std::move(upload);
  }
  const void *src = logits.data;
  void *rowsPtr = m.rows.data(), *idsPtr = m.ids.data();
  int64_t nArg = n, vArg = V, topK = p.topK;
  int dtypeArg = code;
  float scale = ts_scale(p.temperature);
  double topP = p.topP;
  unsigned long long seedArg = seed, stepArg = step;
  void *args[] = {&src,  &rowsPtr, &nArg,    &vArg,    &dtypeArg, &scale,
                  &topK, &topP,    &seedArg, &stepArg, &idsPtr};
  EFFC_RETURN_IF_ERROR(
      d.check(d.api.cuLaunchKernel(m.k.fn, unsigned(n), 1, 1, 512, 1, 1, 0, s, args, nullptr),
              "launching effc_sample_rows"));
  EFFC_RETURN_IF_ERROR(d.check(
      d.api.cuMemcpyDtoHAsync(ids.data(), CUdeviceptr(idsPtr), sizeof(int64_t) * ids.size(), s),
      "copying the sampled ids to the host"));
  bytes += sizeof(int64_t) * ids.size();
  return d.check(d.api.cuStreamSynchronize(s), "sampling on the device");
}

} // namespace effc::cuda

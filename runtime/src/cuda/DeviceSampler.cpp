// The device side of the Generator's sampled picks (DeviceSampler.h): the
// kernel of compiler/codegen/device/sample_rows.cuh, embedded at build time
// after primitives.cuh and token_sampling.cuh (runtime/src/CMakeLists.txt),
// compiled by NVRTC for the device's arch through the kernel cache and
// loaded once per device and process.
#include "cuda/DeviceSampler.h"

#include "cuda/DeviceMemory.h"
#include "cuda/DriverApi.h"
#include "cuda/RowKernel.h"
#include "cuda/RuntimeModule.h"
#include "token_sampling.cuh"

#include <string>

namespace effc::cuda {
namespace {

#include "SampleDeviceFiles.inc"

} // namespace

std::string sampleRowsSource() { return joinDeviceFiles(kDeviceFiles); }

struct DeviceSampler::Impl {
  RowKernel k; // rows: INT64 [2 x capacity] (rows, then sequences)
};

DeviceSampler::DeviceSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DeviceSampler::~DeviceSampler() = default;

StatusOr<std::unique_ptr<DeviceSampler>> DeviceSampler::create(const SessionOptions &options) {
  auto impl = std::make_unique<Impl>();
  EFFC_RETURN_IF_ERROR(impl->k.load(options, sampleRowsSource, "the sampling kernel",
                                    "sample_rows.cuh", "effc_sample_rows"));
  return std::unique_ptr<DeviceSampler>(new DeviceSampler(std::move(impl)));
}

bool DeviceSampler::reads(DType dtype) { return runtimeDtypeCode(dtype) >= 0; }

Status DeviceSampler::sample(const Tensor &logits, const std::vector<int64_t> &rows,
                             const std::vector<int64_t> &sequences, const detail::SamplingParams &p,
                             uint64_t seed, uint64_t step, void *stream, std::vector<int64_t> &ids,
                             uint64_t &bytes) {
  RowKernel &k = impl_->k;
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
  CUstream s = static_cast<CUstream>(stream);
  // rows[n + r]: row r's sequence (its random stream).
  std::vector<int64_t> upload = rows;
  upload.insert(upload.end(), sequences.begin(), sequences.end());
  EFFC_RETURN_IF_ERROR(
      k.stage(n, std::move(upload), s, "copying the sampled rows to the device", bytes));
  const void *src = logits.data;
  void *rowsPtr = k.rows(), *idsPtr = k.ids();
  int64_t nArg = n, vArg = V, topK = p.topK;
  int dtypeArg = code;
  float scale = ts_scale(p.temperature);
  double topP = p.topP;
  unsigned long long seedArg = seed, stepArg = step;
  void *args[] = {&src,  &rowsPtr, &nArg,    &vArg,    &dtypeArg, &scale,
                  &topK, &topP,    &seedArg, &stepArg, &idsPtr};
  return k.run(args, 512, s, ids, "copying the sampled ids to the host", "sampling on the device",
               bytes);
}

} // namespace effc::cuda

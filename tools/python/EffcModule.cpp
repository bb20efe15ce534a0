//===- EffcModule.cpp - the Python extension effc._effc -------------------===//
//
// Binds the compiler (effc::compileModel) and the runtime (Model, Session) to
// Python with nanobind. Tensors cross the boundary as DLPack (nb::ndarray):
// numpy arrays and any DLPack producer (torch CPU/GPU tensors) come in without
// a copy; outputs are effc.Tensor objects that numpy.asarray and
// torch.from_dlpack accept. The GIL is released while compiling and running.
// C++ errors (Status) become RuntimeError with their message, bad arguments
// ValueError. This is the only effc target built with exceptions and RTTI.
//
#include "effc/Engine.h"
#include "effc/Generator.h"
#include "effc/Model.h"
#include "effc/Session.h"
#include "effc/SessionOptions.h"
#include "effc/Status.h"
#include "effc/Tensor.h"
#ifdef EFFC_PYTHON_HAS_COMPILER
#include "compiler/driver/Compile.h"
#endif

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

template <typename T> T valueOrThrow(effc::StatusOr<T> result) {
  if (!result.ok())
    throw std::runtime_error(result.status().message());
  return std::move(*result);
}

void throwIfError(const effc::Status &status) {
  if (!status.ok())
    throw std::runtime_error(status.message());
}

//===----------------------------------------------------------------------===//
// dtypes: effc::DType <-> DLPack <-> the names Python sees
//===----------------------------------------------------------------------===//

nb::dlpack::dtype toDlpack(effc::DType t) {
  using Code = nb::dlpack::dtype_code;
  auto make = [](Code code, int bits) {
    return nb::dlpack::dtype{uint8_t(code), uint8_t(bits), 1};
  };
  switch (t) {
  case effc::DType::FLOAT32:
    return make(Code::Float, 32);
  case effc::DType::FLOAT16:
    return make(Code::Float, 16);
  case effc::DType::FLOAT64:
    return make(Code::Float, 64);
  case effc::DType::BFLOAT16:
    return make(Code::Bfloat, 16);
  case effc::DType::INT8:
    return make(Code::Int, 8);
  case effc::DType::INT16:
    return make(Code::Int, 16);
  case effc::DType::INT32:
    return make(Code::Int, 32);
  case effc::DType::INT64:
    return make(Code::Int, 64);
  case effc::DType::UINT8:
    return make(Code::UInt, 8);
  case effc::DType::UINT16:
    return make(Code::UInt, 16);
  case effc::DType::UINT32:
    return make(Code::UInt, 32);
  case effc::DType::UINT64:
    return make(Code::UInt, 64);
  case effc::DType::BOOL:
    return make(Code::Bool, 8);
  default:
    throw std::runtime_error(std::string("effc: no DLPack type for dtype ") + effc::dtypeName(t));
  }
}

/// UNDEFINED when effc has no such dtype.
effc::DType fromDlpack(nb::dlpack::dtype d) {
  using Code = nb::dlpack::dtype_code;
  if (d.lanes != 1)
    return effc::DType::UNDEFINED;
  switch (Code(d.code)) {
  case Code::Float:
    return d.bits == 32   ? effc::DType::FLOAT32
           : d.bits == 16 ? effc::DType::FLOAT16
           : d.bits == 64 ? effc::DType::FLOAT64
                          : effc::DType::UNDEFINED;
  case Code::Bfloat:
    return d.bits == 16 ? effc::DType::BFLOAT16 : effc::DType::UNDEFINED;
  case Code::Int:
    return d.bits == 8    ? effc::DType::INT8
           : d.bits == 16 ? effc::DType::INT16
           : d.bits == 32 ? effc::DType::INT32
           : d.bits == 64 ? effc::DType::INT64
                          : effc::DType::UNDEFINED;
  case Code::UInt:
    return d.bits == 8    ? effc::DType::UINT8
           : d.bits == 16 ? effc::DType::UINT16
           : d.bits == 32 ? effc::DType::UINT32
           : d.bits == 64 ? effc::DType::UINT64
                          : effc::DType::UNDEFINED;
  case Code::Bool:
    return d.bits == 8 ? effc::DType::BOOL : effc::DType::UNDEFINED;
  default:
    return effc::DType::UNDEFINED;
  }
}

std::string describeDlpack(nb::dlpack::dtype d) {
  static const char *codes[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
  std::string code = d.code < 7 ? codes[d.code] : "code" + std::to_string(d.code);
  return code + std::to_string(d.bits) + (d.lanes != 1 ? "x" + std::to_string(d.lanes) : "");
}

nb::tuple shapeTuple(const std::vector<int64_t> &shape) {
  nb::list dims;
  for (int64_t d : shape)
    dims.append(d);
  return nb::tuple(dims);
}

//===----------------------------------------------------------------------===//
// Model, Session, Tensor
//===----------------------------------------------------------------------===//

/// A model input or output: name, dtype name, shape.
struct PyTensorInfo {
  std::string name, dtype;
  std::vector<int64_t> shape;
};

std::vector<PyTensorInfo> describe(const std::vector<effc::TensorInfo> &infos) {
  std::vector<PyTensorInfo> out;
  for (const effc::TensorInfo &i : infos)
    out.push_back({i.name, effc::dtypeName(i.dtype), i.shape});
  return out;
}

/// A loaded artifact and, for save(), its bytes.
class PyModel {
public:
  PyModel(std::shared_ptr<const effc::Model> model, std::string bytes)
      : model_(std::move(model)), bytes_(std::move(bytes)) {}

  const effc::Model &model() const { return *model_; }
  std::shared_ptr<const effc::Model> shared() const { return model_; }
  const std::string &bytes() const { return bytes_; }

private:
  std::shared_ptr<const effc::Model> model_;
  std::string bytes_;
};

std::string readFile(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    throw std::runtime_error(path + ": cannot open");
  std::ostringstream bytes;
  bytes << f.rdbuf();
  if (!f && !f.eof())
    throw std::runtime_error(path + ": read failed");
  return bytes.str();
}

std::shared_ptr<PyModel> loadModel(const std::string &path) {
  std::string bytes;
  effc::StatusOr<std::shared_ptr<const effc::Model>> model = effc::Status::error("unreachable");
  {
    nb::gil_scoped_release release;
    effc::StatusOr<std::shared_ptr<const effc::Model>> loaded = effc::Model::load(path);
    if (loaded.ok()) {
      // Keep the file's bytes for save(); Model::load already validated them.
      std::ifstream f(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    model = std::move(loaded);
  }
  return std::make_shared<PyModel>(valueOrThrow(std::move(model)), std::move(bytes));
}

void saveModel(const PyModel &self, const std::string &path) {
  nb::gil_scoped_release release;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f)
    throw std::runtime_error(path + ": cannot open for writing");
  f.write(self.bytes().data(), std::streamsize(self.bytes().size()));
  f.close();
  if (!f)
    throw std::runtime_error(path + ": write failed");
}

/// An output of Session.run: host memory or CUDA device memory, shared (the
/// Python views and DLPack capsules of it keep it alive).
class PyTensor {
public:
  explicit PyTensor(std::shared_ptr<effc::HostTensor> host) : host_(std::move(host)) {}
  explicit PyTensor(effc::DeviceTensor device) : device_(std::move(device)) {}

  bool onDevice() const { return !host_; }
  effc::DType dtype() const { return host_ ? host_->dtype() : device_.dtype(); }
  const std::vector<int64_t> &shape() const { return host_ ? host_->shape() : device_.shape(); }
  void *data() const { return host_ ? const_cast<void *>(host_->data()) : device_.data(); }
  int deviceId() const { return host_ ? 0 : device_.deviceIndex(); }
  std::string device() const {
    return host_ ? "host" : "cuda:" + std::to_string(device_.deviceIndex());
  }
  int dlpackDeviceType() const { return host_ ? nb::device::cpu::value : nb::device::cuda::value; }
  /// A host copy (this tensor itself when it is in host memory).
  PyTensor toHost() const {
    if (host_)
      return *this;
    effc::StatusOr<effc::HostTensor> copy = effc::Status::error("unreachable");
    {
      nb::gil_scoped_release release;
      copy = device_.toHost();
    }
    return PyTensor(std::make_shared<effc::HostTensor>(valueOrThrow(std::move(copy))));
  }

  /// The tensor as an ndarray of `Framework` over the same memory; `owner`
  /// (this tensor's Python object) stays alive as long as the result.
  template <typename Framework>
  nb::ndarray<Framework> view(nb::handle owner, nb::dlpack::dtype dtype) const {
    std::vector<size_t> dims(shape().begin(), shape().end());
    return nb::ndarray<Framework>(data(), dims.size(), dims.data(), owner, nullptr, dtype,
                                  dlpackDeviceType(), deviceId());
  }

private:
  std::shared_ptr<effc::HostTensor> host_; // null for a device tensor
  effc::DeviceTensor device_;
};

class PySession {
public:
  PySession(std::shared_ptr<PyModel> model, std::unique_ptr<effc::Session> session)
      : model_(std::move(model)), session_(std::move(session)) {}

  nb::dict run(nb::handle inputs, bool toHost);
  void runInto(nb::handle inputs, nb::dict outputs);
  nb::object generate(nb::handle ids, int64_t maxNewTokens, double temperature, int64_t topK,
                      double topP, uint64_t seed, std::optional<std::vector<int64_t>> stop,
                      int64_t padId, std::optional<std::vector<int64_t>> promptLengths,
                      nb::handle teacherForcing, bool returnLogits);
  const std::string &backend() const { return session_->backendName(); }
  int deviceIndex() const { return session_->options().device; }
  uintptr_t stream() const { return reinterpret_cast<uintptr_t>(session_->stream()); }
  /// For PyEngine: the session and the lock that gives one thread its turn.
  effc::Session &session() { return *session_; }
  std::mutex &runMutex() { return runMutex_; }

private:
  using InputArray = nb::ndarray<nb::ro, nb::c_contig>;
  /// The inputs as views; `keepAlive` holds the arrays they point into.
  std::map<std::string, effc::Tensor> inputViews(nb::handle inputs,
                                                 std::vector<InputArray> &keepAlive) const;

  std::shared_ptr<PyModel> model_; // keeps the artifact alive
  std::unique_ptr<effc::Session> session_;
  /// A Session is used by one thread at a time; Python threads calling run()
  /// with the GIL released take turns here.
  std::mutex runMutex_;
};

/// "cuda", "cuda:N" or "host" -> backend and device ordinal (-1: default).
std::pair<std::string, int> parseDevice(const std::string &device) {
  if (device == "host" || device == "cuda")
    return {device, -1};
  if (device.rfind("cuda:", 0) == 0 && device.size() > 5 && device.size() < 10 &&
      device.find_first_not_of("0123456789", 5) == std::string::npos)
    return {"cuda", std::stoi(device.substr(5))};
  throw nb::value_error(
      ("device must be \"cuda\", \"cuda:N\" or \"host\", got \"" + device + "\"").c_str());
}

/// A CUDA stream as an int handle (cudaStream_t / CUstream), or an object
/// with a `cuda_stream` attribute (torch.cuda.Stream).
void *streamHandle(nb::handle stream) {
  nb::object value = nb::borrow(stream);
  if (nb::hasattr(stream, "cuda_stream"))
    value = stream.attr("cuda_stream");
  if (!nb::isinstance<nb::int_>(value))
    throw nb::value_error("stream must be an int (cudaStream_t/CUstream handle) or an object "
                          "with a cuda_stream attribute (torch.cuda.Stream)");
  return reinterpret_cast<void *>(nb::cast<uintptr_t>(value));
}

std::unique_ptr<PySession>
makeSession(std::shared_ptr<PyModel> model, const std::string &device, nb::handle stream,
            std::optional<std::string> kernelCacheDir, std::optional<bool> kernelCache,
            std::optional<bool> cudaGraphs, std::optional<uint64_t> arenaLimitBytes,
            std::optional<int> verbosity, std::optional<bool> syncAfterEachKernel,
            std::optional<std::string> cudaArch, std::optional<int> devices) {
  // The environment (EFFC_*) sets the defaults; what is passed here wins.
  effc::SessionOptions options = effc::SessionOptions::fromEnvironment();
  auto [backend, ordinal] = parseDevice(device);
  options.backend = backend;
  if (ordinal >= 0)
    options.device = ordinal;
  if (!stream.is_none())
    options.stream = streamHandle(stream);
  if (kernelCacheDir)
    options.kernelCacheDir = *kernelCacheDir;
  if (kernelCache)
    options.kernelCache = *kernelCache;
  if (cudaGraphs)
    options.cudaGraphs = *cudaGraphs;
  if (arenaLimitBytes)
    options.arenaLimitBytes = *arenaLimitBytes;
  if (verbosity)
    options.verbosity = *verbosity;
  if (syncAfterEachKernel)
    options.syncAfterEachKernel = *syncAfterEachKernel;
  if (cudaArch)
    options.cudaArch = *cudaArch;
  if (devices) {
    if (*devices < 1)
      throw nb::value_error(
          ("session(): devices must be >= 1, got " + std::to_string(*devices)).c_str());
    options.devices = *devices;
  }
  effc::StatusOr<std::unique_ptr<effc::Session>> session = effc::Status::error("unreachable");
  {
    nb::gil_scoped_release release;
    session = effc::Session::create(model->shared(), options);
  }
  return std::make_unique<PySession>(std::move(model), valueOrThrow(std::move(session)));
}

/// The dtype, shape and place of a DLPack array as an effc tensor view.
template <typename Array> effc::Tensor viewOf(const std::string &what, const Array &array) {
  effc::Tensor t;
  t.dtype = fromDlpack(array.dtype());
  if (t.dtype == effc::DType::UNDEFINED)
    throw nb::value_error(
        (what + ": effc has no dtype for DLPack type " + describeDlpack(array.dtype())).c_str());
  for (size_t i = 0; i < array.ndim(); ++i)
    t.shape.push_back(int64_t(array.shape(i)));
  t.data = array.data();
  if (array.device_type() == nb::device::cuda::value) {
    t.device = effc::Device::Cuda;
    t.deviceIndex = array.device_id();
  } else if (array.device_type() != nb::device::cpu::value) {
    throw nb::value_error((what + ": DLPack device type " + std::to_string(array.device_type()) +
                           " (only CPU and CUDA tensors are accepted)")
                              .c_str());
  }
  return t;
}

std::map<std::string, effc::Tensor>
PySession::inputViews(nb::handle inputs, std::vector<InputArray> &keepAlive) const {
  // {name: array}, or a list/tuple in Model.inputs order.
  std::vector<std::pair<std::string, nb::handle>> named;
  if (nb::isinstance<nb::dict>(inputs)) {
    for (auto [key, value] : nb::borrow<nb::dict>(inputs)) {
      if (!nb::isinstance<nb::str>(key))
        throw nb::value_error("run() inputs: keys must be input names (str)");
      named.emplace_back(nb::cast<std::string>(key), value);
    }
  } else if (nb::isinstance<nb::list>(inputs) || nb::isinstance<nb::tuple>(inputs)) {
    const std::vector<effc::TensorInfo> &infos = session_->model().inputs();
    if (nb::len(inputs) != infos.size())
      throw nb::value_error(("run() inputs: the model has " + std::to_string(infos.size()) +
                             " inputs, got " + std::to_string(nb::len(inputs)))
                                .c_str());
    size_t i = 0;
    for (nb::handle value : inputs)
      named.emplace_back(infos[i++].name, value);
  } else {
    throw nb::value_error("run() inputs: a dict {input name: array} or a list in Model.inputs "
                          "order");
  }
  std::map<std::string, effc::Tensor> views;
  for (auto &[name, value] : named) {
    std::string what = "input '" + name + "'";
    std::string notArray =
        what + ": not an array or DLPack tensor (" + nb::str(value.type()).c_str() + ")";
    InputArray array;
    if (!nb::try_cast(value, array, /*convert=*/true)) {
      // Lists, scalars and other array-likes go through numpy.
      nb::object converted;
      try {
        converted = nb::module_::import_("numpy").attr("ascontiguousarray")(value);
      } catch (nb::python_error &) {
        throw nb::value_error(notArray.c_str());
      }
      if (!nb::try_cast(converted, array, /*convert=*/true))
        throw nb::value_error(notArray.c_str());
    }
    views[name] = viewOf(what, array);
    keepAlive.push_back(std::move(array));
  }
  return views;
}

nb::dict PySession::run(nb::handle inputs, bool toHost) {
  std::vector<InputArray> keepAlive; // every input stays alive while the session runs
  std::map<std::string, effc::Tensor> views = inputViews(inputs, keepAlive);
  std::vector<PyTensor> results;
  if (session_->backendName() == "host" || toHost) {
    effc::StatusOr<std::vector<effc::HostTensor>> outputs = effc::Status::error("unreachable");
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(runMutex_);
      outputs = session_->run(views);
    }
    for (effc::HostTensor &t : valueOrThrow(std::move(outputs)))
      results.emplace_back(std::make_shared<effc::HostTensor>(std::move(t)));
  } else {
    effc::StatusOr<std::vector<effc::DeviceTensor>> outputs = effc::Status::error("unreachable");
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(runMutex_);
      outputs = session_->runOnDevice(views);
    }
    for (effc::DeviceTensor &t : valueOrThrow(std::move(outputs)))
      results.emplace_back(std::move(t));
  }
  nb::dict named;
  const std::vector<effc::TensorInfo> &infos = session_->model().outputs();
  for (size_t i = 0; i < results.size() && i < infos.size(); ++i)
    named[infos[i].name.c_str()] = nb::cast(std::move(results[i]));
  return named;
}

/// Rows of token ids from a list of lists or a 2-D integer array (numpy,
/// torch): anything iterable whose items have __index__ (no floats).
std::vector<std::vector<int64_t>> tokenRows(nb::handle rows, const char *what) {
  std::vector<std::vector<int64_t>> out;
  auto bad = [&] {
    return nb::value_error((std::string(what) +
                            " must be rows of integer token ids: a list of lists or a 2-D "
                            "integer array")
                               .c_str());
  };
  if (!nb::hasattr(rows, "__iter__") || nb::isinstance<nb::str>(rows))
    throw bad();
  for (nb::handle row : rows) {
    if (!nb::hasattr(row, "__iter__") || nb::isinstance<nb::str>(row))
      throw bad();
    out.emplace_back();
    for (nb::handle id : row) {
      if (!PyIndex_Check(id.ptr()))
        throw bad();
      out.back().push_back(nb::cast<int64_t>(nb::int_(id)));
    }
  }
  return out;
}

nb::object PySession::generate(nb::handle ids, int64_t maxNewTokens, double temperature,
                               int64_t topK, double topP, uint64_t seed,
                               std::optional<std::vector<int64_t>> stop, int64_t padId,
                               std::optional<std::vector<int64_t>> promptLengths,
                               nb::handle teacherForcing, bool returnLogits) {
  std::vector<std::vector<int64_t>> prompts = tokenRows(ids, "ids");
  if (promptLengths) {
    if (promptLengths->size() != prompts.size())
      throw nb::value_error("prompt_lengths needs one length per row of ids");
    for (size_t b = 0; b < prompts.size(); ++b) {
      if ((*promptLengths)[b] < 1 || size_t((*promptLengths)[b]) > prompts[b].size())
        throw nb::value_error(("prompt_lengths[" + std::to_string(b) +
                               "] = " + std::to_string((*promptLengths)[b]) + " is not in [1, " +
                               std::to_string(prompts[b].size()) + "]")
                                  .c_str());
      prompts[b].resize(size_t((*promptLengths)[b]));
    }
  }
  effc::GenerationOptions options;
  options.maxNewTokens = maxNewTokens;
  options.temperature = temperature;
  options.topK = topK;
  options.topP = topP;
  options.seed = seed;
  options.stopTokenIds = stop.value_or(std::vector<int64_t>{});
  options.padTokenId = padId;
  options.returnLogits = returnLogits;
  if (!teacherForcing.is_none())
    options.forcedTokens = tokenRows(teacherForcing, "teacher_forcing");
  effc::StatusOr<effc::GenerationResult> result = effc::Status::error("unreachable");
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(runMutex_);
    auto generator = effc::Generator::create(*session_);
    result = generator.ok() ? (*generator)->generate(prompts, options)
                            : effc::StatusOr<effc::GenerationResult>(generator.status());
  }
  effc::GenerationResult r = valueOrThrow(std::move(result));
  nb::list tokens;
  for (const std::vector<int64_t> &row : r.tokens)
    tokens.append(nb::cast(row));
  if (!returnLogits)
    return std::move(tokens);
  return nb::make_tuple(tokens, PyTensor(std::make_shared<effc::HostTensor>(std::move(r.logits))));
}

void PySession::runInto(nb::handle inputs, nb::dict outputs) {
  std::vector<InputArray> keepAlive;
  std::map<std::string, effc::Tensor> views = inputViews(inputs, keepAlive);
  using OutputArray = nb::ndarray<nb::c_contig>;
  std::vector<OutputArray> outputArrays;
  std::map<std::string, effc::MutableTensor> buffers;
  for (auto [key, value] : outputs) {
    std::string name = nb::cast<std::string>(nb::str(key));
    std::string what = "output '" + name + "'";
    OutputArray array;
    // No conversion: the run writes into this very memory.
    if (!nb::try_cast(value, array, /*convert=*/false))
      throw nb::value_error(
          (what + ": needs a writable, C-contiguous array or DLPack tensor").c_str());
    effc::Tensor view = viewOf(what, array);
    buffers[name] =
        effc::MutableTensor{view.dtype, view.shape, array.data(), view.device, view.deviceIndex};
    outputArrays.push_back(std::move(array));
  }
  effc::Status status;
  {
    nb::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(runMutex_);
    status = session_->runInto(views, buffers);
  }
  throwIfError(status);
}

//===----------------------------------------------------------------------===//
// Engine: serving many requests (effc::Engine, issue 19)
//===----------------------------------------------------------------------===//

/// effc::Engine over a target session (and a draft's); the Python objects
/// of the sessions are kept alive by the binding (nb::keep_alive). step()
/// takes the sessions' run locks, so a session is never run by two threads.
class PyEngine {
public:
  PyEngine(PySession &target, PySession *draft, int64_t speculate, int64_t kvPageSize,
           int64_t kvPoolPages, bool sharePrefixes, int64_t maxSequences, int64_t maxQueued)
      : target_(target), draft_(draft) {
    if (!draft && speculate != 0)
      throw nb::value_error("Engine(): speculate needs a draft session");
    if (draft && speculate < 1)
      throw nb::value_error(
          ("Engine(): speculate must be >= 1 with a draft, got " + std::to_string(speculate))
              .c_str());
    effc::EngineOptions options;
    options.draft = draft ? &draft->session() : nullptr;
    options.speculate = speculate;
    options.kvPageSize = kvPageSize;
    options.kvPoolPages = kvPoolPages;
    options.sharePrefixes = sharePrefixes;
    options.maxSequences = maxSequences;
    options.maxQueued = maxQueued;
    effc::StatusOr<std::unique_ptr<effc::Engine>> engine = effc::Status::error("unreachable");
    {
      nb::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(target.runMutex());
      engine = effc::Engine::create(target.session(), options);
    }
    engine_ = valueOrThrow(std::move(engine));
  }

  effc::RequestId submit(nb::handle prompt, int64_t maxNewTokens, double temperature, int64_t topK,
                         double topP, uint64_t seed, std::optional<std::vector<int64_t>> stop) {
    effc::Request r;
    if (!nb::hasattr(prompt, "__iter__") || nb::isinstance<nb::str>(prompt))
      throw nb::value_error("submit(): prompt must be a list or 1-D array of token ids");
    for (nb::handle id : prompt) {
      if (!PyIndex_Check(id.ptr()))
        throw nb::value_error("submit(): prompt must be a list or 1-D array of token ids");
      r.prompt.push_back(nb::cast<int64_t>(nb::int_(id)));
    }
    r.maxNewTokens = maxNewTokens;
    r.temperature = temperature;
    r.topK = topK;
    r.topP = topP;
    r.seed = seed;
    r.stopTokenIds = stop.value_or(std::vector<int64_t>{});
    return valueOrThrow(engine_->submit(std::move(r)));
  }

  void step() {
    effc::Status status;
    {
      nb::gil_scoped_release release;
      std::unique_lock<std::mutex> stepping(stepMutex_, std::defer_lock);
      std::unique_lock<std::mutex> target(target_.runMutex(), std::defer_lock);
      if (draft_ && draft_ != &target_) {
        std::unique_lock<std::mutex> draft(draft_->runMutex(), std::defer_lock);
        std::lock(stepping, target, draft); // no order to deadlock on
        status = engine_->step();
      } else {
        std::lock(stepping, target);
        status = engine_->step();
      }
    }
    throwIfError(status);
  }

  int64_t run() {
    int64_t steps = 0;
    while (engine_->hasWork()) {
      step();
      ++steps;
    }
    return steps;
  }

  nb::tuple poll(effc::RequestId id) {
    effc::RequestUpdate u = valueOrThrow(engine_->poll(id));
    if (u.finish == effc::FinishReason::Error)
      throw std::runtime_error("request " + std::to_string(id) + ": " + u.error);
    return nb::make_tuple(u.tokens, std::string(effc::finishReasonName(u.finish)));
  }

  bool cancel(effc::RequestId id) { return engine_->cancel(id); }
  bool hasWork() const { return engine_->hasWork(); }
  int64_t slots() const { return engine_->slots(); }
  int64_t maxLength() const { return engine_->maxLength(); }
  int64_t vocabSize() const { return engine_->vocabSize(); }
  std::string mode() const { return engine_->mode(); }

  nb::dict stats() const {
    effc::EngineStats s = engine_->stats();
    nb::dict d;
    d["slots"] = s.slots, d["slots_used"] = s.slotsUsed, d["queued"] = s.queued;
    d["submitted"] = s.submitted, d["finished"] = s.finished;
    d["generated_tokens"] = s.generatedTokens, d["steps"] = s.steps;
    d["draft_proposed"] = s.draftProposed, d["draft_accepted"] = s.draftAccepted;
    d["pool_unit"] = s.poolUnit, d["pool_capacity"] = s.poolCapacity;
    d["pool_used"] = s.poolUsed, d["pool_tokens_capacity"] = s.poolTokensCapacity;
    d["pool_tokens_held"] = s.poolTokensHeld, d["pool_page_size"] = s.poolPageSize;
    d["pool_rows_stored"] = s.poolRowsStored, d["pool_shared"] = s.poolShared;
    d["pool_peak_used"] = s.poolPeakUsed, d["pool_cached"] = s.poolCached;
    d["pages_shared_total"] = s.pagesSharedTotal, d["pages_copied_total"] = s.pagesCopiedTotal;
    d["preempted"] = s.preempted, d["runs"] = s.runs, d["run_positions"] = s.runPositions;
    d["run_padded"] = s.runPadded;
    return d;
  }

private:
  PySession &target_;
  PySession *draft_;
  std::mutex stepMutex_; // step() from one thread at a time
  std::unique_ptr<effc::Engine> engine_;
};

//===----------------------------------------------------------------------===//
// compile
//===----------------------------------------------------------------------===//

std::vector<std::string> stringList(const char *what, nb::handle value) {
  std::vector<std::string> out;
  if (value.is_none())
    return out;
  if (nb::isinstance<nb::str>(value))
    return {nb::cast<std::string>(value)};
  if (nb::isinstance<nb::dict>(value)) { // {name: dir}
    for (auto [k, v] : nb::borrow<nb::dict>(value))
      out.push_back(nb::cast<std::string>(nb::str(k)) + "=" + nb::cast<std::string>(nb::str(v)));
    return out;
  }
  try {
    for (nb::handle item : value)
      out.push_back(nb::cast<std::string>(nb::str(item)));
  } catch (nb::python_error &) {
    throw nb::value_error(
        (std::string(what) + ": expected a str, a list of str or a dict").c_str());
  }
  return out;
}

/// A string keyword with a fixed set of spellings (effc's flag of the same
/// name with '-' for '_'): any other value is a ValueError naming both.
void checkChoice(const char *keyword, const std::string &value,
                 std::initializer_list<const char *> choices) {
  std::string allowed;
  size_t i = 0;
  for (const char *c : choices) {
    if (value == c)
      return;
    allowed += std::string(i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + "\"" + c + "\"";
    ++i;
  }
  throw nb::value_error(
      ("compile(): " + std::string(keyword) + " must be " + allowed + ", got \"" + value + "\"")
          .c_str());
}

std::shared_ptr<PyModel>
compile(const std::string &path, const std::string &dtype, nb::handle shapes, nb::handle dims,
        nb::handle lora, nb::handle quantize, double llmInt8Threshold, bool loraMerge, bool fuse,
        bool raiseAttention, bool splitKvDecode, int64_t splitKvSplits, bool kvCache,
        int64_t pagedKv, int64_t pagedKvPages, bool packedTokens, int64_t quantizeBlock,
        bool quantizeDouble, nb::handle quantizeSkip, bool decomposeLoRA, int64_t moePartitions,
        int64_t devices, const std::string &devicesAttention, const std::string &ringLayout,
        const std::string &expertParallel, bool hostOnly, bool lastLogits, bool kvState,
        bool embedCubin, nb::handle arch, const std::string &gemm, const std::string &decodeGemv,
        nb::handle constInputs, bool remarks, bool verbose) {
  if (!quantize.is_none() && !nb::isinstance<nb::str>(quantize))
    throw nb::value_error("compile(): quantize must be None, \"int8\", \"nf4\" or \"llm-int8\"");
  checkChoice("dtype", dtype, {"fp32", "bf16", "fp16"});
  checkChoice("gemm", gemm, {"auto", "mma", "wgmma", "tma"});
  checkChoice("devices_attention", devicesAttention, {"replicate", "ring"});
  checkChoice("ring_layout", ringLayout, {"auto", "striped", "contiguous"});
  checkChoice("expert_parallel", expertParallel, {"replicate", "all-to-all"});
#ifndef EFFC_PYTHON_HAS_COMPILER
  (void)path, (void)shapes, (void)dims, (void)lora, (void)llmInt8Threshold, (void)loraMerge;
  (void)fuse;
  (void)raiseAttention;
  (void)splitKvDecode, (void)decomposeLoRA, (void)moePartitions, (void)devices, (void)hostOnly;
  (void)kvState, (void)lastLogits;
  (void)splitKvSplits, (void)kvCache, (void)pagedKv, (void)pagedKvPages, (void)packedTokens;
  (void)quantizeBlock;
  (void)quantizeDouble, (void)quantizeSkip;
  (void)embedCubin, (void)arch, (void)gemm, (void)decodeGemv;
  (void)constInputs, (void)remarks, (void)verbose;
  throw std::runtime_error("effc.compile: this build of effc has no compiler (built with "
                           "EFFC_RUNTIME_ONLY=ON); compile with the effc tool and use effc.load");
#else
  effc::CompileOptions options;
  options.dtype = dtype;
  if (!dims.is_none()) {
    if (!nb::isinstance<nb::dict>(dims))
      throw nb::value_error("compile(): dims must be a dict {dim_param name: N}");
    for (auto [name, value] : nb::borrow<nb::dict>(dims)) {
      std::string key = nb::cast<std::string>(nb::str(name));
      // effc --dim's spellings: N, MIN..MAX (a (MIN, MAX) pair is the latter).
      std::string text;
      if (nb::isinstance<nb::int_>(value) && !nb::isinstance<nb::bool_>(value)) {
        text = std::to_string(nb::cast<int64_t>(value));
      } else if (nb::isinstance<nb::str>(value)) {
        text = nb::cast<std::string>(value);
      } else if ((nb::isinstance<nb::tuple>(value) || nb::isinstance<nb::list>(value)) &&
                 nb::len(value) == 2 && nb::isinstance<nb::int_>(value[0]) &&
                 nb::isinstance<nb::int_>(value[1])) {
        text = std::to_string(nb::cast<int64_t>(value[0])) + ".." +
               std::to_string(nb::cast<int64_t>(value[1]));
      } else {
        throw nb::value_error(
            ("compile(): dims['" + key + "'] must be an int N or a pair (MIN, MAX)").c_str());
      }
      effc::Status added = effc::addDimSpec(key + "=" + text, options.dims);
      if (!added.ok())
        throw nb::value_error(("compile(): dims: " + added.message()).c_str());
    }
  }
  if (!shapes.is_none()) {
    if (!nb::isinstance<nb::dict>(shapes))
      throw nb::value_error("compile(): shapes must be a dict {input name: tuple of dims}");
    for (auto [name, dimsOf] : nb::borrow<nb::dict>(shapes)) {
      std::string key = nb::cast<std::string>(nb::str(name));
      std::vector<int64_t> values;
      try {
        for (nb::handle d : dimsOf)
          values.push_back(nb::cast<int64_t>(d));
      } catch (std::exception &) {
        throw nb::value_error(
            ("compile(): shapes['" + key + "'] must be a sequence of ints").c_str());
      }
      for (int64_t v : values)
        if (v < 0)
          throw nb::value_error(("compile(): shapes['" + key + "'] has a negative dim").c_str());
      options.shapes[key] = values;
    }
  }
  if (!constInputs.is_none()) {
    if (!nb::isinstance<nb::dict>(constInputs))
      throw nb::value_error("compile(): const_inputs must be a dict {input name: path to .pb}");
    for (auto [name, file] : nb::borrow<nb::dict>(constInputs))
      options.constInputs[nb::cast<std::string>(nb::str(name))] =
          nb::cast<std::string>(nb::str(file));
  }
  options.loraAdapters = stringList("lora", lora);
  options.loraMerge = loraMerge;
  if (!quantize.is_none())
    options.quantize = nb::cast<std::string>(quantize); // checked with effc's --quantize rules
  options.llmInt8Threshold = llmInt8Threshold;
  // Counts and sizes are checked here (ValueError) before effc's own rules.
  auto nonNegative = [](const char *name, int64_t value) {
    if (value < 0)
      throw nb::value_error(
          ("compile(): " + std::string(name) + " must be >= 0, got " + std::to_string(value))
              .c_str());
    return value;
  };
  options.quantizeBlock = nonNegative("quantize_block", quantizeBlock);
  options.quantizeDouble = quantizeDouble;
  if (!quantizeSkip.is_none()) {
    if (!nb::isinstance<nb::str>(quantizeSkip))
      throw nb::value_error("compile(): quantize_skip must be None or a regex str");
    options.quantizeSkip = nb::cast<std::string>(quantizeSkip);
  }
  options.kvCache = kvCache;
  options.splitKvSplits = nonNegative("split_kv_splits", splitKvSplits);
  options.pagedKv = nonNegative("paged_kv", pagedKv);
  options.pagedKvPages = nonNegative("paged_kv_pages", pagedKvPages);
  options.packedTokens = packedTokens; // needs paged_kv: effc's rule, RuntimeError
  options.fuse = fuse;
  options.raiseAttention = raiseAttention;
  options.splitKvDecode = splitKvDecode;
  options.decomposeLoRA = decomposeLoRA;
  if (moePartitions < 1)
    throw nb::value_error(
        ("compile(): moe_partitions must be >= 1, got " + std::to_string(moePartitions)).c_str());
  options.moePartitions = moePartitions;
  if (devices < 1)
    throw nb::value_error(
        ("compile(): devices must be >= 1, got " + std::to_string(devices)).c_str());
  options.devices = devices;
  options.devicesAttention = devicesAttention;
  options.ringLayout = ringLayout;
  options.expertParallel = expertParallel;
  options.hostOnly = hostOnly;
  options.lastLogits = lastLogits;
  options.kvState = kvState;
  options.embedCubin = embedCubin;
  if (!arch.is_none())
    options.archs = stringList("arch", arch);
  options.gemm = gemm;             // needs arch "sm_90a" unless auto/mma (effc --gemm's rules)
  options.decodeGemv = decodeGemv; // an unknown name: effc's error (RuntimeError)
  options.remarks = remarks;
  options.verbose = verbose;

  // Errors (and their notes) become the exception's message; remarks,
  // warnings and progress go to stderr as effc prints them.
  std::string errors;
  effc::StatusOr<effc::CompileResult> result = effc::Status::error("unreachable");
  effc::StatusOr<std::shared_ptr<const effc::Model>> model = effc::Status::error("unreachable");
  {
    nb::gil_scoped_release release;
    result =
        effc::compileModel(path, options, [&](effc::DiagnosticKind kind, const std::string &line) {
          if (kind == effc::DiagnosticKind::Error ||
              (kind == effc::DiagnosticKind::Note && !errors.empty())) {
            errors += errors.empty() ? "" : "\n";
            errors += line;
          } else {
            std::fprintf(stderr, "%s\n", line.c_str());
          }
        });
    if (result.ok())
      model = effc::Model::loadFromMemory(result->output.data(), result->output.size(), path);
  }
  if (!result.ok())
    throw std::runtime_error(errors.empty() ? result.status().message() : errors);
  return std::make_shared<PyModel>(valueOrThrow(std::move(model)), std::move(result->output));
#endif
}

/// A numpy array over the host data (bfloat16 as uint16 words); a device
/// tensor is copied to the host first.
nb::object numpyView(nb::handle self) {
  const PyTensor &t = nb::cast<const PyTensor &>(self);
  if (t.onDevice())
    return numpyView(nb::cast(t.toHost()));
  nb::dlpack::dtype dtype =
      t.dtype() == effc::DType::BFLOAT16 ? nb::dtype<uint16_t>() : toDlpack(t.dtype());
  return nb::cast(t.view<nb::numpy>(self, dtype));
}

nb::object toNumpy(nb::handle self, nb::handle dtype, nb::handle copy) {
  const PyTensor &t = nb::cast<const PyTensor &>(self);
  nb::object array = numpyView(self);
  if (t.dtype() == effc::DType::BFLOAT16) {
    nb::object mlDtypes;
    try {
      mlDtypes = nb::module_::import_("ml_dtypes");
    } catch (nb::python_error &) {
      throw nb::type_error("effc.Tensor: numpy has no bfloat16; install ml_dtypes for numpy "
                           "conversion of bfloat16 outputs, or use torch.from_dlpack(tensor)");
    }
    array = array.attr("view")(mlDtypes.attr("bfloat16"));
  }
  if (!dtype.is_none())
    array = array.attr("astype")(dtype, "copy"_a = false);
  if (!copy.is_none() && nb::cast<bool>(copy))
    array = array.attr("copy")();
  return array;
}

} // namespace

NB_MODULE(_effc, m) {
  m.doc() = "effc: an ONNX compiler for transformer inference (native module; use `import effc`)";
  m.attr("__version__") = EFFC_VERSION;
#ifdef EFFC_PYTHON_HAS_COMPILER
  m.attr("has_compiler") = true;
#else
  m.attr("has_compiler") = false;
#endif

  nb::class_<PyTensorInfo>(m, "TensorInfo", "A model input or output: name, dtype and shape.")
      .def_ro("name", &PyTensorInfo::name, "The input/output name in the ONNX model.")
      .def_ro("dtype", &PyTensorInfo::dtype,
              "Element type: 'float32', 'float16', 'bfloat16', 'int64', 'int32', 'bool', ...")
      .def_prop_ro(
          "shape", [](const PyTensorInfo &i) { return shapeTuple(i.shape); },
          "The compiled shape (tuple of ints).")
      .def("__repr__", [](const PyTensorInfo &i) {
        std::string dims;
        for (int64_t d : i.shape)
          dims += (dims.empty() ? "" : ", ") + std::to_string(d);
        return "TensorInfo(name='" + i.name + "', dtype='" + i.dtype + "', shape=(" + dims +
               (i.shape.size() == 1 ? ",)" : ")") + ")";
      });

  nb::class_<PyTensor>(
      m, "Tensor",
      "An output of Session.run. numpy.asarray(t) and torch.from_dlpack(t) take it without a\n"
      "copy (DLPack: __dlpack__/__dlpack_device__; __array__ for numpy). bfloat16 tensors\n"
      "convert to numpy only where the ml_dtypes package is installed (numpy has no\n"
      "bfloat16); torch.from_dlpack works without it. A device tensor of a session with a\n"
      "caller stream is ready in that stream's order: read it on that stream (as torch does\n"
      "when it is its current stream) or after synchronizing it.")
      .def_prop_ro(
          "shape", [](const PyTensor &t) { return shapeTuple(t.shape()); }, "Tuple of ints.")
      .def_prop_ro(
          "dtype", [](const PyTensor &t) { return std::string(effc::dtypeName(t.dtype())); },
          "Element type name ('float32', 'bfloat16', 'int64', ...).")
      .def_prop_ro("device", &PyTensor::device, "Where the data is: 'host' or 'cuda:N'.")
      .def_prop_ro(
          "data_ptr", [](const PyTensor &t) { return reinterpret_cast<uintptr_t>(t.data()); },
          "Address of the first element (a device pointer for 'cuda:N' tensors).")
      .def("to_host", &PyTensor::toHost,
           "A host copy of a device tensor (the tensor itself when it is in host memory).")
      .def(
          "__dlpack__",
          [](nb::handle self, nb::kwargs kwargs) {
            const PyTensor &t = nb::cast<const PyTensor &>(self);
            return nb::cast(t.view<nb::array_api>(self, toDlpack(t.dtype())))
                .attr("__dlpack__")(**kwargs);
          },
          "kwargs"_a, "DLPack capsule of this tensor (zero-copy; the tensor stays alive).")
      .def(
          "__dlpack_device__",
          [](const PyTensor &t) { return std::make_pair(t.dlpackDeviceType(), t.deviceId()); },
          "(DLPack device type, device id): (1, 0) for host memory, (2, N) for CUDA device N.")
      .def("_numpy_view", &numpyView,
           "A numpy array over the host data (bfloat16 as its uint16 words; a device tensor is "
           "copied first).")
      .def("numpy", &toNumpy, "dtype"_a = nb::none(), "copy"_a = nb::none(),
           "The tensor as a numpy array: a view of its host memory (no copy; a device tensor\n"
           "is copied to the host), converted to\n"
           "`dtype` when given, copied when `copy` is true. bfloat16 needs the ml_dtypes\n"
           "package (numpy has no bfloat16): without it this raises TypeError.")
      .def("__array__", &toNumpy, "dtype"_a = nb::none(), "copy"_a = nb::none(),
           "numpy.asarray(tensor): same as numpy().")
      .def("__repr__", [](const PyTensor &t) {
        std::string dims;
        for (int64_t d : t.shape())
          dims += (dims.empty() ? "" : ", ") + std::to_string(d);
        return "effc.Tensor(shape=(" + dims + (t.shape().size() == 1 ? ",)" : ")") +
               ", dtype=" + effc::dtypeName(t.dtype()) + ", device=" + t.device() + ")";
      });

  nb::class_<PyModel>(m, "Model",
                      "A compiled artifact (.effc), from effc.compile or effc.load. Immutable: "
                      "several sessions may share it.")
      .def_prop_ro(
          "inputs", [](const PyModel &self) { return describe(self.model().inputs()); },
          "The inputs Session.run expects (list of TensorInfo: name, dtype, shape).")
      .def_prop_ro(
          "outputs", [](const PyModel &self) { return describe(self.model().outputs()); },
          "The outputs Session.run returns, in this order (list of TensorInfo).")
      .def_prop_ro(
          "path", [](const PyModel &self) { return self.model().path(); },
          "The artifact's file (effc.load) or the model it was compiled from (effc.compile).")
      .def("save", &saveModel, "path"_a,
           "Writes the artifact to `path` (.effc); effc.load(path) and effc-run read it.")
      .def(
          "session", &makeSession, "device"_a = "cuda", nb::kw_only(), "stream"_a = nb::none(),
          "kernel_cache_dir"_a = nb::none(), "kernel_cache"_a = nb::none(),
          "cuda_graphs"_a = nb::none(), "arena_limit_bytes"_a = nb::none(),
          "verbosity"_a = nb::none(), "sync_after_each_kernel"_a = nb::none(),
          "cuda_arch"_a = nb::none(), "devices"_a = nb::none(),
          "Creates a Session that runs this model (effc::SessionOptions). An option left at\n"
          "None keeps its default, which the EFFC_* environment variables may set.\n\n"
          "device:                 \"cuda\" (the default; device 0), \"cuda:N\", or \"host\" (the\n"
          "                        reference C++ backend: exact, slow, no GPU needed). Without\n"
          "                        a usable GPU, \"cuda\" raises RuntimeError (no fallback).\n"
          "stream:                 the caller's CUDA stream: an int handle (cudaStream_t) or a\n"
          "                        torch.cuda.Stream; runs with device inputs and outputs are\n"
          "                        then queued on it without synchronizing. None: the session\n"
          "                        has its own stream and every run has finished on return.\n"
          "kernel_cache_dir:       NVRTC kernel cache directory (default $XDG_CACHE_HOME/effc).\n"
          "kernel_cache:           use the on-disk kernel cache (default True).\n"
          "cuda_graphs:            replay the kernels as one CUDA graph (default True).\n"
          "arena_limit_bytes:      fail if the planned arena is larger (default 0: no limit).\n"
          "verbosity:              0 quiet, 1 a line per kernel-module load, 2 also per run.\n"
          "sync_after_each_kernel: synchronize after every kernel (debugging).\n"
          "cuda_arch:              compile kernels for this arch (\"sm_90a\"), not the GPU's.\n"
          "devices:                run a model compiled with devices=N on N devices (default 1:\n"
          "                        as one device). \"host\" simulates them in one process\n"
          "                        (an arena per device, collectives as copies); \"cuda\" runs\n"
          "                        them on N GPUs (NCCL) or as N streams of one GPU, and needs\n"
          "                        devices=N. N must be the compiled count.");

  nb::class_<PySession>(m, "Session",
                        "Runs one Model on one device; owns its memory arena. One thread at a "
                        "time per session; several sessions may run concurrently.")
      .def_prop_ro("device", &PySession::backend, "The backend: 'cuda' or 'host'.")
      .def_prop_ro("device_index", &PySession::deviceIndex, "CUDA device ordinal (cuda).")
      .def_prop_ro("stream", &PySession::stream,
                   "The CUstream handle runs are queued on (0 on the host backend).")
      .def("run", &PySession::run, "inputs"_a, nb::kw_only(), "to_host"_a = false,
           "Runs the model.\n\n"
           "inputs:  {input name: array} with every model input exactly once, or a list in\n"
           "         Model.inputs order; dtypes and shapes as in Model.inputs. An array is a\n"
           "         numpy array or any DLPack producer (torch tensors on CPU or GPU), read in\n"
           "         place (no copy) when C-contiguous; CUDA tensors must be on the session's\n"
           "         device (cuda backend only).\n"
           "to_host: on the cuda backend, return host copies instead of device tensors.\n"
           "Returns {output name: effc.Tensor} in Model.outputs order: device tensors on the\n"
           "cuda backend (torch.from_dlpack takes them without a copy), host tensors on host.\n"
           "Raises RuntimeError with effc's message for a missing/extra input or a wrong dtype,\n"
           "shape or device, ValueError for a value that is not an array.")
      .def("run_into", &PySession::runInto, "inputs"_a, "outputs"_a,
           "Runs the model and writes every output into the caller's buffer.\n\n"
           "inputs:  as for run().\n"
           "outputs: {output name: array}: writable, C-contiguous numpy arrays or DLPack\n"
           "         tensors (e.g. torch.empty(..., device=\"cuda\")) with the output's dtype\n"
           "         and shape; on the cuda backend kernels write device buffers directly\n"
           "         where the plan allows.\n"
           "Raises RuntimeError with effc's message on a mismatch.")
      .def("generate", &PySession::generate, "ids"_a, nb::kw_only(), "max_new_tokens"_a = 16,
           "temperature"_a = 0.0, "top_k"_a = 0, "top_p"_a = 1.0, "seed"_a = 0,
           "stop"_a = nb::none(), "pad_id"_a = 0, "prompt_lengths"_a = nb::none(),
           "teacher_forcing"_a = nb::none(), "return_logits"_a = false,
           "Generates tokens with a causal LM (effc::Generator).\n\n"
           "Recompute mode: a fixed-shape artifact, input_ids [batch, seq] -> logits\n"
           "[batch, seq, vocab] (compiled with e.g. dims={\"batch\": 2, \"seq\": 32}); each step\n"
           "runs the whole window again. KV-cache mode, for a model with past_key_values.*\n"
           "inputs compiled with e.g. dims={\"seq\": (1, 32), \"past\": (0, 255), \"total\":\n"
           "(1, 288)}: prefill, then one token per step with each step's present.* fed back\n"
           "(prompt + max_new_tokens <= past's bound + 1). On cuda, KV-cache mode without\n"
           "return_logits picks (greedy or sampled) on the device and only token ids come\n"
           "back; recompute mode brings back the logits rows it reads. Sequences of\n"
           "different lengths share the batch.\n\n"
           "ids:             prompts: a list of token lists (lengths may differ) or a 2-D\n"
           "                 integer array; at most batch rows, prompt + max_new_tokens <= seq.\n"
           "max_new_tokens:  tokens to generate per sequence.\n"
           "temperature:     0 greedy (argmax); > 0 samples from softmax(logits / temperature).\n"
           "top_k:           sampling: keep the k most likely tokens (0: all).\n"
           "top_p:           sampling: keep the most likely tokens whose mass reaches top_p.\n"
           "seed:            sampling seed; sequence b's k-th token draws the Philox word of\n"
           "                 (seed, b, k): the same tokens on host and cuda.\n"
           "stop:            token ids; a sequence ends after emitting one (it is returned).\n"
           "pad_id:          fills the window past each sequence.\n"
           "prompt_lengths:  per row of ids, how many tokens are prompt (right-padded rows).\n"
           "teacher_forcing: rows of tokens fed back instead of the picked ones.\n"
           "return_logits:   also return the logits of every step.\n"
           "Returns the new tokens per sequence (list of lists of int), or with return_logits\n"
           "(tokens, logits) where logits is an effc.Tensor float32 [rows, max_new_tokens,\n"
           "vocab] (zeros after a sequence stopped). Raises RuntimeError with effc's message\n"
           "(a model that is not a causal LM, a too long request), ValueError for ids that\n"
           "are not integer rows.");

  nb::class_<PyEngine>(
      m, "Engine",
      "Serves many generation requests with one model (effc::Engine; effc-serve runs the\n"
      "same engine behind HTTP): continuous batching, requests submitted at any time, each\n"
      "step one batched forward pass over every active request. A decoder with past runs\n"
      "in KV-cache mode over a paged cache (prefix sharing, preemption); a model compiled\n"
      "with paged_kv=N uses its compiled pools, and with packed_tokens=True each run packs\n"
      "the new tokens of every request back to back (stats()['run_padded'] stays 0).\n"
      "Any other causal LM runs in recompute mode, one request per compiled batch row.\n\n"
      "    engine = effc.Engine(model.session(device=\"host\"), kv_page_size=4)\n"
      "    ids = [engine.submit(p, max_new_tokens=16) for p in prompts]\n"
      "    engine.run()                       # step() until every request finished\n"
      "    tokens = [engine.poll(i)[0] for i in ids]")
      .def(nb::init<PySession &, PySession *, int64_t, int64_t, int64_t, bool, int64_t, int64_t>(),
           "session"_a, nb::kw_only(), "draft"_a = nb::none(), "speculate"_a = 0,
           "kv_page_size"_a = 16, "kv_pool_pages"_a = 0, "share_prefixes"_a = true,
           "max_sequences"_a = 0, "max_queued"_a = 4096, nb::keep_alive<1, 2>(),
           nb::keep_alive<1, 3>(),
           "session:         the target model's Session (kept alive by the engine).\n"
           "draft:           speculative decoding: a draft model's Session (same vocabulary).\n"
           "speculate:       tokens the draft proposes per step (>= 1 with a draft); the target\n"
           "                 checks them in one pass (effc-run --draft D --speculate K).\n"
           "kv_page_size:    tokens per KV page; a paged_kv=N model needs N (effc-run\n"
           "                 --kv-page-size).\n"
           "kv_pool_pages:   pages in the pool (0: every slot at its longest; fewer preempt).\n"
           "share_prefixes:  requests with a common prompt prefix share its pages.\n"
           "max_sequences:   requests that run at once (0: the compiled batch; packed_tokens:\n"
           "                 as many as the compiled pool holds at their longest).\n"
           "max_queued:      requests that may wait for a slot; submit() refuses more.\n"
           "Raises RuntimeError with effc's message when the model cannot generate.")
      .def("submit", &PyEngine::submit, "prompt"_a, nb::kw_only(), "max_new_tokens"_a = 16,
           "temperature"_a = 0.0, "top_k"_a = 0, "top_p"_a = 1.0, "seed"_a = 0,
           "stop"_a = nb::none(),
           "Queues a request (any thread) and returns its id.\n\n"
           "prompt:          token ids (list or 1-D integer array).\n"
           "max_new_tokens:  >= 1; prompt + max_new_tokens <= max_length.\n"
           "temperature, top_k, top_p, seed: sampling as in Session.generate (0: greedy).\n"
           "stop:            token ids; the request ends after emitting one.\n"
           "Raises RuntimeError naming what is wrong with the request.")
      .def("step", &PyEngine::step,
           "One batched step over every active request (waiting ones admitted first). The\n"
           "GIL is released. A model error fails that step's requests and raises RuntimeError;\n"
           "the engine goes on serving.")
      .def("run", &PyEngine::run,
           "Steps until no request is active or waiting; returns the number of steps.")
      .def("poll", &PyEngine::poll, "id"_a,
           "(tokens produced since the last poll, finish) of a request, finish one of\n"
           "\"running\", \"length\", \"stop\", \"cancelled\". A finished request is forgotten\n"
           "once polled. Raises RuntimeError for an unknown id or a request the model failed.")
      .def("cancel", &PyEngine::cancel, "id"_a,
           "Ends a request at the next step; False if it is unknown or finished.")
      .def_prop_ro("has_work", &PyEngine::hasWork, "Whether a step would do anything.")
      .def_prop_ro("slots", &PyEngine::slots, "Requests that run at once.")
      .def_prop_ro("max_length", &PyEngine::maxLength, "Tokens per request (prompt + new).")
      .def_prop_ro("vocab_size", &PyEngine::vocabSize, "The model's vocabulary.")
      .def_prop_ro("mode", &PyEngine::mode, "\"recompute\" or \"kv-cache\".")
      .def("stats", &PyEngine::stats,
           "Counters (effc::EngineStats) as a dict: requests (submitted, finished,\n"
           "generated_tokens, steps), the KV pool (pool_unit, pool_capacity, pool_used,\n"
           "pool_page_size, pool_rows_stored, pool_peak_used, pages_shared_total, preempted,\n"
           "...), speculative decoding (draft_proposed, draft_accepted) and the target's runs\n"
           "(runs, run_positions, run_padded: positions computed for no token; 0 packed).");

  m.def("load", &loadModel, "path"_a,
        "Loads an artifact (.effc) written by effc.compile(...).save or the effc tool; validates "
        "it (checksums, manifest). Raises RuntimeError naming the file on any problem.");

  m.def(
      "compile", &compile, "path"_a, nb::kw_only(), "dtype"_a = "fp32", "shapes"_a = nb::none(),
      "dims"_a = nb::none(), "lora"_a = nb::none(), "quantize"_a = nb::none(),
      "llm_int8_threshold"_a = 6.0, "lora_merge"_a = false, "fuse"_a = true,
      "raise_attention"_a = true, "split_kv_decode"_a = true, "split_kv_splits"_a = 0,
      "kv_cache"_a = false, "paged_kv"_a = 0, "paged_kv_pages"_a = 0, "packed_tokens"_a = false,
      "quantize_block"_a = 0, "quantize_double"_a = false, "quantize_skip"_a = nb::none(),
      "decompose_lora"_a = true, "moe_partitions"_a = 1, "devices"_a = 1,
      "devices_attention"_a = "replicate", "ring_layout"_a = "auto",
      "expert_parallel"_a = "replicate", "host_only"_a = false, "last_logits"_a = false,
      "kv_state"_a = false, "embed_cubin"_a = false, "arch"_a = nb::none(), "gemm"_a = "auto",
      "decode_gemv"_a = "", "const_inputs"_a = nb::none(), "remarks"_a = false, "verbose"_a = false,
      "Compiles an ONNX model (or eff IR, .mlir) into a Model, as the effc tool does.\n\n"
      "path:            the model file.\n"
      "dtype:           compute precision: \"fp32\", \"bf16\" or \"fp16\" (weights converted "
      "at\n"
      "                 compile time, accumulation in fp32) (effc --dtype).\n"
      "shapes:          {input name: tuple of dims} binding the inputs' dynamic dims, e.g.\n"
      "                 {\"input_ids\": (2, 16)} (effc --shape input_ids=2x16).\n"
      "dims:            {ONNX dim_param name: N} fixing a named dim in every input that\n"
      "                 has it, e.g. {\"batch\": 2, \"seq\": 16} (effc --dim seq=16); a pair\n"
      "                 (MIN, MAX) keeps it symbolic within bounds (effc --dim past=0..255).\n"
      "lora:            a PEFT adapter directory, or {name: directory} for several adapters\n"
      "                 selected per request by the int64 input 'lora_index' (effc --lora).\n"
      "quantize:        \"int8\" or \"nf4\": weight-only quantization of the linear layers;\n"
      "                 \"llm-int8\": LLM.int8() (int8 weights and activations, outlier\n"
      "                 features in fp32) (effc --quantize; the LM head and MoE routers keep\n"
      "                 their weights).\n"
      "llm_int8_threshold: llm-int8's outlier threshold: activation features with any\n"
      "                 |x| >= it are computed in fp32 (effc --llm-int8-threshold).\n"
      "lora_merge:      merge the one adapter into the weights (effc --lora-merge).\n"
      "fuse:            fuse elementwise chains into single kernels (effc --fuse).\n"
      "raise_attention: run attention subgraphs as FlashAttention kernels.\n"
      "split_kv_decode: split decode-shaped attention over the keys (flash-decoding).\n"
      "split_kv_splits: the number of key chunks split-KV uses (effc --split-kv-splits;\n"
      "                 0: its heuristic).\n"
      "kv_cache:        give a decoder exported without a cache the with-past interface\n"
      "                 (past_key_values.* in, present.* out; effc --kv-cache); bound the\n"
      "                 dims it adds with dims={\"past\": (0, P), \"total\": (1, T)}.\n"
      "paged_kv:        page size of a paged KV cache read through a block table (effc\n"
      "                 --paged-kv; 0: off).\n"
      "paged_kv_pages:  pages per pool of the paged KV cache (effc --paged-kv-pages; 0: the\n"
      "                 pass's default).\n"
      "packed_tokens:   with paged_kv and dims {\"batch\": 1, \"seq\": (1, T)}: one run holds\n"
      "                 the new tokens of many sequences back to back, no padding, each\n"
      "                 token attending through its sequence's block_table row (inputs\n"
      "                 token_seq, token_seq_lens; effc --packed-tokens). effc.Engine packs\n"
      "                 its steps this way. Without paged_kv: RuntimeError.\n"
      "quantize_block:  scale block size for quantize (effc --quantize-block; 0: default).\n"
      "quantize_double: quantize nf4's block scales too (effc --quantize-double).\n"
      "quantize_skip:   regex of linear names left unquantized (effc --quantize-skip;\n"
      "                 None: the LM head and MoE routers).\n"
      "decompose_lora:  LoRA expand in the base GEMM's epilogue (False: one reference kernel).\n"
      "moe_partitions:  split each MoE layer's experts into N groups run as independent\n"
      "                 kernels over one routing (effc --moe-partitions; 1: none).\n"
      "devices:         plan for N GPUs: MoE expert groups per device, column-parallel\n"
      "                 linears (effc --devices; 1: none); Model.session(devices=N) runs it.\n"
      "devices_attention: with devices=N: \"replicate\" (every device runs each attention\n"
      "                 whole) or \"ring\" (each device holds 1/N of the tokens; K/V blocks\n"
      "                 pass around the devices: ring attention) (effc --devices-attention).\n"
      "ring_layout:     \"auto\", \"striped\" or \"contiguous\": how ring attention splits the\n"
      "                 tokens (auto: striped for causal, contiguous otherwise; effc\n"
      "                 --ring-layout).\n"
      "expert_parallel: with devices=N: \"replicate\" (MoE expert groups per device) or\n"
      "                 \"all-to-all\" (tokens sharded over the devices, exchanged with the\n"
      "                 experts' devices) (effc --expert-parallel).\n"
      "host_only:       an artifact for the host backend only (ops without CUDA kernel allowed).\n"
      "last_logits:     the LM head only at one position per row, named by a new int64 input\n"
      "                 logits_index [batch] (logits [batch, 1, vocab]; effc --last-logits;\n"
      "                 Session.generate feeds it).\n"
      "kv_state:        keep each KV cache in session state, appended in place and fed by no\n"
      "                 one (effc --kv-state).\n"
      "embed_cubin:     compile the kernels with NVRTC now and store cubins for `arch`.\n"
      "arch:            target(s) for embed_cubin: \"sm_90\" (default) or a list.\n"
      "gemm:            \"auto\", \"mma\", \"wgmma\" or \"tma\": the tensor-core GEMM kernel of\n"
      "                 bf16/fp16 GEMMs (effc --gemm; wgmma and tma need arch \"sm_90a\").\n"
      "decode_gemv:     the kernel of decode-sized runs (at most 16 rows) of GEMMs over\n"
      "                 runtime rows: \"v1\", \"rows\" or \"rowsW\" (W columns an item)\n"
      "                 (effc --decode-gemv; \"\": the tuned default). A name effc does not\n"
      "                 know: RuntimeError listing the variants.\n"
      "const_inputs:    {input name: ONNX TensorProto .pb file}: freeze inputs to constants.\n"
      "remarks:         print (stderr) what the pattern passes did and why not.\n"
      "verbose:         print progress and per-stage timing (stderr).\n\n"
      "Raises ValueError for a bad argument, RuntimeError with the compiler's message (file and "
      "ONNX node) when the model does not compile. The GIL is released while compiling.");
}

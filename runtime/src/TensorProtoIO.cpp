// onnx.TensorProto -> HostTensor (raw_data or the typed repeated fields).
#include "TensorProtoIO.h"
#include "effc/TensorIO.h"

#include "onnx/onnx.pb.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace effc {

StatusOr<std::string> readFileBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad())
    return Status::error(path + ": read error");
  return ss.str();
}

StatusOr<HostTensor> tensorFromProto(const onnx::TensorProto &p) {
  std::string what = "tensor '" + p.name() + "'";
  if (!isValidDType(p.data_type()))
    return Status::error(what + ": unsupported data_type " + std::to_string(p.data_type()));
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return Status::error(what + ": external data is not supported");
  DType dt = DType(p.data_type());
  std::vector<int64_t> shape(p.dims().begin(), p.dims().end());
  int64_t n = numElements(shape);
  if (n < 0 || uint64_t(n) > (uint64_t(1) << 40))
    return Status::error(what + ": invalid shape " + shapeToString(shape));
  HostTensor t(dt, shape);
  size_t es = dtypeSize(dt);
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.byteSize())
      return Status::error(what + ": raw_data has " + std::to_string(p.raw_data().size()) +
                           " bytes, " + dtypeName(dt) + " " + shapeToString(shape) + " needs " +
                           std::to_string(t.byteSize()));
    if (t.byteSize())
      std::memcpy(t.data(), p.raw_data().data(), t.byteSize());
    return t;
  }
  auto sizeErr = [&](int got) {
    return Status::error(what + ": has " + std::to_string(got) + " values, shape " +
                         shapeToString(shape) + " needs " + std::to_string(n));
  };
  uint8_t *dst = static_cast<uint8_t *>(t.data());
  switch (dt) {
  case DType::FLOAT32:
    if (p.float_data_size() != n)
      return sizeErr(p.float_data_size());
    if (n)
      std::memcpy(dst, p.float_data().data(), t.byteSize());
    break;
  case DType::FLOAT64:
    if (p.double_data_size() != n)
      return sizeErr(p.double_data_size());
    if (n)
      std::memcpy(dst, p.double_data().data(), t.byteSize());
    break;
  case DType::INT64:
    if (p.int64_data_size() != n)
      return sizeErr(p.int64_data_size());
    if (n)
      std::memcpy(dst, p.int64_data().data(), t.byteSize());
    break;
  case DType::UINT32:
  case DType::UINT64:
    if (p.uint64_data_size() != n)
      return sizeErr(p.uint64_data_size());
    for (int64_t i = 0; i < n; ++i) {
      uint64_t v = p.uint64_data(int(i));
      std::memcpy(dst + i * es, &v, es); // little-endian: low bytes first
    }
    break;
  default: // int32_data holds int8..int32, bool and the bits of float16/bfloat16
    if (p.int32_data_size() != n)
      return sizeErr(p.int32_data_size());
    for (int64_t i = 0; i < n; ++i) {
      int32_t v = p.int32_data(int(i));
      std::memcpy(dst + i * es, &v, es);
    }
  }
  return t;
}

StatusOr<HostTensor> readTensorProtoFile(const std::string &path, std::string *name) {
  auto bytes = readFileBytes(path);
  if (!bytes.ok())
    return bytes.status();
  onnx::TensorProto p;
  if (bytes->size() > size_t(INT32_MAX) || !p.ParseFromArray(bytes->data(), int(bytes->size())))
    return Status::error(path + ": not a valid onnx TensorProto");
  if (name)
    *name = p.name();
  auto t = tensorFromProto(p);
  if (!t.ok())
    return t.status().withPrefix(path);
  return t;
}

StatusOr<HostTensor> readTensorFile(const std::string &path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0)
    return readNpyFile(path);
  return readTensorProtoFile(path);
}

} // namespace effc

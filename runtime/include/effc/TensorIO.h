// Reading/writing tensors: ONNX TensorProto (.pb, raw_data or typed fields)
// and NumPy .npy (v1/v2/v3, little-endian, C order).
#pragma once

#include "effc/Status.h"
#include "effc/Tensor.h"

#include <string>

namespace effc {

/// A serialized ONNX TensorProto file; `name` (optional) receives
/// TensorProto.name.
StatusOr<HostTensor> readTensorProtoFile(const std::string &path, std::string *name = nullptr);

StatusOr<HostTensor> parseNpy(const std::string &bytes);
StatusOr<HostTensor> readNpyFile(const std::string &path);
/// bfloat16 (no NumPy dtype) is written as float32.
std::string serializeNpy(const HostTensor &t);
Status writeNpyFile(const std::string &path, const HostTensor &t);

/// Dispatches on the extension: ".npy" -> NumPy, otherwise TensorProto.
StatusOr<HostTensor> readTensorFile(const std::string &path);

/// Whole file into a string; error "<path>: cannot open: <reason>".
StatusOr<std::string> readFileBytes(const std::string &path);

} // namespace effc

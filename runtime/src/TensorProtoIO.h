// An in-memory ONNX TensorProto as a tensor (effc-run's inputs, the ONNX
// node tests). Runtime-internal: the public effc/TensorIO.h reads TensorProto
// files and names no protobuf type.
#pragma once

#include "effc/Status.h"
#include "effc/Tensor.h"
#include "onnx/onnx.pb.h"

namespace effc {

/// raw_data or the typed fields; errors on unsupported dtypes or sizes.
StatusOr<HostTensor> tensorFromProto(const onnx::TensorProto &proto);

} // namespace effc

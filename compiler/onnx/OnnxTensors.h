//===- OnnxTensors.h - ONNX TensorProto -> ElementsAttr -----------*- C++ -*-===//
#ifndef EFFC_COMPILER_ONNX_ONNXTENSORS_H
#define EFFC_COMPILER_ONNX_ONNXTENSORS_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Types.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace onnx {
class TensorProto;
}

namespace effc {

/// The MLIR element type of an ONNX TensorProto.DataType (bool -> i1, uint8 ->
/// ui8, ...), or null for types effc does not support (string, complex,
/// float8, int4, ...).
mlir::Type onnxElementType(mlir::MLIRContext &ctx, int32_t dataType);
/// "FLOAT", "INT64", ... ("<n>" for unknown values).
std::string onnxDataTypeName(int32_t dataType);

namespace onnx_import {
class ExternalDataCache {
public:
  ExternalDataCache();
  ~ExternalDataCache();
  /// Reads bytes [offset, offset+length) of `dir`/`location` (length -1: to the
  /// end of the file) into `out`. Rejects absolute paths and paths leaving
  /// `dir`; bounds-checked. Returns false and sets `error`.
  bool read(const std::string &dir, const std::string &location, int64_t offset, int64_t length,
            std::vector<char> &out, std::string &error);

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};
} // namespace onnx_import

/// Decodes a TensorProto into its raw little-endian bytes (one byte per bool)
/// and its type: from raw_data, the typed fields (float_data, int32_data for
/// int32/int16/int8/uint16/uint8/bool/fp16/bf16, int64_data, double_data,
/// uint64_data) or external data (location/offset/length relative to
/// `externalDir`). Checks that the data size matches the dims. Returns false
/// and sets `error`.
bool decodeOnnxTensor(mlir::MLIRContext &ctx, const onnx::TensorProto &tensor,
                      const std::string &externalDir, onnx_import::ExternalDataCache *cache,
                      mlir::ShapedType &type, std::vector<char> &bytes, std::string &error);

/// decodeOnnxTensor + eff's constant representation: dense literal up to 64
/// elements, dense_resource blob named `blobName` beyond. Null + `error` on
/// failure.
mlir::ElementsAttr convertOnnxTensor(mlir::MLIRContext &ctx, const onnx::TensorProto &tensor,
                                     const std::string &blobName, const std::string &externalDir,
                                     onnx_import::ExternalDataCache *cache, std::string &error);

} // namespace effc

#endif

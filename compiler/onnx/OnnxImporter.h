//===- OnnxImporter.h - ONNX ModelProto -> eff dialect ------------*- C++ -*-===//
#ifndef EFFC_COMPILER_ONNX_ONNXIMPORTER_H
#define EFFC_COMPILER_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace effc {

struct ImportOptions {
  /// Binds the dims of model inputs (`--shape input_ids=2x16`). Inputs left
  /// with symbolic dims import with dynamic dims, and their arguments carry
  /// `eff.dim_params` (the dim_param of each dynamic dim, "" for the others).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Fixes every input dim whose ONNX dim_param is the key (`--dim batch=2`).
  /// A name no input uses is an error listing the model's dim_params; a
  /// --shape that gives such a dim another value is an error naming both.
  std::map<std::string, int64_t> dimValues;
  /// Keeps each named dim symbolic within [min, max] (`--dim past=0..255`):
  /// its inputs import with dynamic dims and `main` gets the attribute
  /// `eff.dims = {past = array<i64: 0, 255>, ...}`. Names are checked like
  /// dimValues'.
  std::map<std::string, std::pair<int64_t, int64_t>> dimBounds;
  /// Dim names a later pass adds (effc --kv-cache: past, total): --dim may
  /// bound them though no input has them; they go into eff.dims all the same.
  std::set<std::string> addedDims;
  /// Inputs frozen to constants (`--const-input NAME=FILE.pb`): the input
  /// disappears from the signature and its value folds into the graph, e.g.
  /// a fixed attention mask or a shape tensor.
  std::map<std::string, std::string> constantInputFiles;
  /// Directory for ONNX external data files; empty: the model's directory.
  std::string externalDataDir;
  /// Remarks on what the importer raised (quantized linears, `--remarks`).
  bool remarks = false;
};

/// Parses and imports an ONNX model file into a module holding one
/// `func.func @main` of eff ops (weights as dense_resource constants, every op
/// located at its ONNX node). Returns null after emitting diagnostics through
/// the context when the file is unreadable, not ONNX, or uses what effc does
/// not support.
mlir::OwningOpRef<mlir::ModuleOp>
importOnnxFile(mlir::MLIRContext &context, const std::string &path, const ImportOptions &options);

/// Same, from bytes already in memory (`sourceName` names them in messages).
mlir::OwningOpRef<mlir::ModuleOp> importOnnxBytes(mlir::MLIRContext &context,
                                                  const std::string &bytes,
                                                  const std::string &sourceName,
                                                  const ImportOptions &options);

} // namespace effc

#endif

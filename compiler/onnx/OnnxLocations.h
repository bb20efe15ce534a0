//===- OnnxLocations.h - locations of imported ONNX nodes ---------*- C++ -*-===//
//
// Every imported op is located at its node: NameLoc(node name) wrapping
// FileLineColLoc(model path, 0, 0). When the exporter recorded the PyTorch
// module the node came from, that is wrapped again:
//   FusedLoc<"m.model.layers.0.self_attn.q_proj">[NameLoc(...)]
// Passes that target modules (LoRA's q_proj/v_proj, quantization's lm_head
// exclusion) read it back with getModulePath (dialects/eff/ModulePath.h).
//
#ifndef EFFC_COMPILER_ONNX_ONNXLOCATIONS_H
#define EFFC_COMPILER_ONNX_ONNXLOCATIONS_H

#include "dialects/eff/ModulePath.h"
#include "mlir/IR/Location.h"

#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace onnx {
class NodeProto;
}

namespace effc {

/// Legacy (TorchScript) exporter: "/m/encoder/layer.0/attention/self/query/MatMul"
/// -> "m.encoder.layer.0.attention.self.query". Names not starting with '/'
/// or with no module part give nullopt.
std::optional<std::string> modulePathFromLegacyName(llvm::StringRef nodeName);

/// Dynamo exporter: the value of metadata key "pkg.torch.onnx.name_scopes",
/// a Python list literal such as "['', 'm', 'm.model', 'm.model.lm_head', 'linear_14']".
/// The deepest module scope is returned; a trailing entry that does not extend
/// the module chain (the FX node's own name, 'linear_14') is skipped.
std::optional<std::string> modulePathFromNameScopes(llvm::StringRef value);

/// The value for `key` in the NodeProto's metadata_props (field 9, which
/// runtime/proto/CMakeLists.txt declares for ONNX 1.12's proto).
std::optional<std::string> getNodeMetadata(const onnx::NodeProto &node, llvm::StringRef key);

/// The module path of a node: dynamo metadata first, then the legacy name.
std::optional<std::string> modulePathOfNode(const onnx::NodeProto &node);

/// The location of an imported node (see the file comment). `fallbackName`
/// names nodes that have no name.
mlir::Location makeNodeLocation(mlir::MLIRContext &ctx, const onnx::NodeProto &node,
                                llvm::StringRef modelPath, llvm::StringRef fallbackName);

} // namespace effc

#endif

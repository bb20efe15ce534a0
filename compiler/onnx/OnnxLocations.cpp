//===- OnnxLocations.cpp - locations of imported ONNX nodes ----------------===//
#include "compiler/onnx/OnnxLocations.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/SmallVector.h"

#include "onnx/onnx.pb.h"

using namespace mlir;

namespace effc {

std::optional<std::string> modulePathFromLegacyName(llvm::StringRef nodeName) {
  if (!nodeName.consume_front("/"))
    return std::nullopt;
  llvm::SmallVector<llvm::StringRef> parts;
  nodeName.split(parts, '/', -1, /*KeepEmpty=*/false);
  if (parts.size() < 2)
    return std::nullopt;
  parts.pop_back(); // the op's own name ("MatMul", "Constant_1")
  std::string path;
  for (llvm::StringRef p : parts) {
    if (!path.empty())
      path += '.';
    path += p.str();
  }
  return path;
}

/// Splits a Python list literal of strings: "['', 'm', \"x\"]".
static bool parsePythonStringList(llvm::StringRef text, llvm::SmallVectorImpl<std::string> &out) {
  text = text.trim();
  if (!text.consume_front("[") || !text.consume_back("]"))
    return false;
  while (true) {
    text = text.ltrim();
    if (text.empty())
      return true;
    char quote = text.front();
    if (quote != '\'' && quote != '"')
      return false;
    text = text.drop_front();
    std::string item;
    bool closed = false;
    while (!text.empty()) {
      char c = text.front();
      text = text.drop_front();
      if (c == '\\' && !text.empty()) {
        item += text.front();
        text = text.drop_front();
        continue;
      }
      if (c == quote) {
        closed = true;
        break;
      }
      item += c;
    }
    if (!closed)
      return false;
    out.push_back(std::move(item));
    text = text.ltrim();
    if (text.empty())
      return true;
    if (!text.consume_front(","))
      return false;
  }
}

std::optional<std::string> modulePathFromNameScopes(llvm::StringRef value) {
  llvm::SmallVector<std::string> scopes;
  if (!parsePythonStringList(value, scopes) || scopes.empty())
    return std::nullopt;
  // The dynamo exporter lists the module scopes from the root ('') down and
  // then the FX node's own name; keep the last entry only when it extends
  // the chain of dotted module paths.
  if (scopes.size() >= 2) {
    llvm::StringRef last = scopes.back(), prev = scopes[scopes.size() - 2];
    if (prev.empty() || !last.starts_with((prev + ".").str()))
      scopes.pop_back();
  } else {
    return std::nullopt;
  }
  // Scopes not rooted at '' are exporter internals (e.g. hooks), not modules.
  if (scopes.front() != "")
    return std::nullopt;
  if (scopes.back().empty())
    return std::nullopt;
  return scopes.back();
}

std::optional<std::string> getNodeMetadata(const onnx::NodeProto &node, llvm::StringRef key) {
  // The last entry wins, as in a Python dict built from the list.
  std::optional<std::string> found;
  for (const onnx::StringStringEntryProto &entry : node.metadata_props())
    if (entry.key() == key)
      found = entry.value();
  return found;
}

std::optional<std::string> modulePathOfNode(const onnx::NodeProto &node) {
  if (std::optional<std::string> scopes = getNodeMetadata(node, "pkg.torch.onnx.name_scopes"))
    return modulePathFromNameScopes(*scopes);
  return modulePathFromLegacyName(node.name());
}

Location makeNodeLocation(MLIRContext &ctx, const onnx::NodeProto &node, llvm::StringRef modelPath,
                          llvm::StringRef fallbackName) {
  Location file = FileLineColLoc::get(&ctx, modelPath, 0, 0);
  llvm::StringRef name = node.name().empty() ? fallbackName : llvm::StringRef(node.name());
  Location loc = NameLoc::get(StringAttr::get(&ctx, name), file);
  if (std::optional<std::string> path = modulePathOfNode(node))
    loc = FusedLoc::get(&ctx, {loc}, StringAttr::get(&ctx, *path));
  return loc;
}

} // namespace effc

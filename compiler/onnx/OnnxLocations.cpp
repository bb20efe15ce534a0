//===- OnnxLocations.cpp - locations of imported ONNX nodes ----------------===//
#include "compiler/onnx/OnnxLocations.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"

#include "llvm/ADT/SmallVector.h"

#include "onnx/onnx.pb.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

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
  // Field 9 is unknown to Debian's onnx.proto (ONNX 1.12). Unknown fields
  // survive re-serialization whether the generated classes are full or
  // LITE_RUNTIME, so scan the node's own wire bytes for it (top level only).
  constexpr uint32_t kMetadataPropsField = 9;
  if (node.ByteSizeLong() == 0)
    return std::nullopt;
  std::string wire = node.SerializeAsString();
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t *>(wire.data()),
                                            int(wire.size()));
  std::optional<std::string> found;
  while (uint32_t tag = in.ReadTag()) {
    using WFL = google::protobuf::internal::WireFormatLite;
    if (WFL::GetTagFieldNumber(tag) == kMetadataPropsField &&
        WFL::GetTagWireType(tag) == WFL::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length;
      std::string bytes;
      if (!in.ReadVarint32(&length) || !in.ReadString(&bytes, int(length)))
        break;
      onnx::StringStringEntryProto entry;
      if (entry.ParseFromString(bytes) && entry.key() == key)
        found = entry.value();
      continue;
    }
    if (!WFL::SkipField(&in, tag))
      break;
  }
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

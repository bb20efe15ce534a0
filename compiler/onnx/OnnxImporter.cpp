//===- OnnxImporter.cpp - ONNX ModelProto -> eff dialect: the graph walk ---===//
//
// Parsing (binary protobuf, or text format for .textproto/.onnxtxt), graph
// inputs/initializers/outputs, and op construction: an ONNX node becomes the
// eff op whose ODS names it (`onnxName`, default its class name), built with
// create<OpTy> through the generated build table (EffOpBuildTable.inc: arity,
// operand segments, results from ODS), result types from the op's
// InferTypeOpInterface, then folded at once so constant shape subgraphs
// disappear while importing. Opset upgrades and multi-op conversions live in
// OnnxOpsetUpgrade.cpp.
//
#include "compiler/onnx/OnnxImporter.h"
#include "compiler/onnx/OnnxAttributes.h"
#include "compiler/onnx/OnnxInternal.h"
#include "compiler/onnx/OnnxLocations.h"
#include "compiler/onnx/OnnxTensors.h"

#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffDialect.h"
#include "dialects/eff/EffOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <climits>
#include <set>

using namespace mlir;

namespace effc {
namespace onnx_import {

//===----------------------------------------------------------------------===//
// Names and opsets
//===----------------------------------------------------------------------===//

template <typename OpTy>
static Operation *buildOp(OpBuilder &b, Location loc, TypeRange types, ValueRange operands,
                          ArrayRef<NamedAttribute> attrs) {
  return b.create<OpTy>(loc, types, operands, attrs).getOperation();
}

/// Every eff op's row, from its ODS (effc-tblgen -gen-eff-op-build-table).
static llvm::ArrayRef<OpShape> buildTable() {
  static const OpShape table[] = {
#define EFF_BUILD_OP(CLASS, NAME, ONNX, MIN, MAX, SEGMENTS, RESULTS, SINCE)                        \
  {NAME, ONNX, MIN, MAX, SEGMENTS, RESULTS, SINCE, &buildOp<mlir::eff::CLASS>},
#include "dialects/eff/EffOpBuildTable.inc"
  };
  return table;
}

llvm::SmallVector<const OnnxAttrOperand *> attrOperandsAt(const OpShape &row, int64_t opset) {
  static const OnnxAttrOperand moved[] = {
#define EFF_BUILD_OP(CLASS, NAME, ONNX, MIN, MAX, SEGMENTS, RESULTS, SINCE)
#define EFF_ONNX_ATTR_OPERAND(CLASS, NAME, ATTR, OPERAND, BEFORE, REQUIRED)                        \
  {NAME, ATTR, OPERAND, BEFORE, REQUIRED},
#include "dialects/eff/EffOpBuildTable.inc"
  };
  llvm::SmallVector<const OnnxAttrOperand *> at;
  for (const OnnxAttrOperand &m : moved)
    if (m.effName == row.name && opset < m.before)
      at.push_back(&m);
  return at;
}

const OpShape *lookupEffOp(llvm::StringRef effName) {
  static const llvm::StringMap<const OpShape *> byName = [] {
    llvm::StringMap<const OpShape *> m;
    for (const OpShape &row : buildTable())
      m[row.name] = &row;
    return m;
  }();
  return byName.lookup(effName);
}

const OpShape *lookupOnnxOp(llvm::StringRef onnxOpType) {
  static const llvm::StringMap<const OpShape *> byOnnx = [] {
    llvm::StringMap<const OpShape *> m;
    for (const OpShape &row : buildTable())
      if (!row.onnxName.empty())
        m[row.onnxName] = &row;
    return m;
  }();
  return byOnnx.lookup(onnxOpType);
}

std::string effOpName(llvm::StringRef opType) {
  const OpShape *row = lookupOnnxOp(opType);
  return row ? row->name.str() : std::string();
}

int64_t opsetFor(const onnx::ModelProto &model, llvm::StringRef domain) {
  bool isDefault = domain.empty() || domain == "ai.onnx";
  int64_t version = -1;
  for (const onnx::OperatorSetIdProto &id : model.opset_import()) {
    llvm::StringRef d = id.domain();
    bool idDefault = d.empty() || d == "ai.onnx";
    if ((isDefault && idDefault) || (!isDefault && d == domain))
      version = std::max<int64_t>(version, id.version());
  }
  return version;
}

/// Initializer names become resource blob keys; keep them identifier-like.
static std::string blobNameFor(llvm::StringRef name) {
  std::string out;
  for (char c : name)
    out += (llvm::isAlnum(c) || c == '_' || c == '.') ? c : '_';
  if (out.empty() || llvm::isDigit(out.front()))
    out.insert(0, "w_");
  return out;
}

//===----------------------------------------------------------------------===//
// GraphImporter
//===----------------------------------------------------------------------===//

GraphImporter::GraphImporter(MLIRContext &ctx, const onnx::ModelProto &model,
                             llvm::StringRef sourceName, const ImportOptions &options)
    : ctx(ctx), model(model), sourceName(sourceName.str()), options(options),
      externalData(std::make_unique<ExternalDataCache>()), builder(&ctx),
      fileLoc(FileLineColLoc::get(&ctx, sourceName, 0, 0)), nodeLoc(fileLoc) {
  if (!options.externalDataDir.empty()) {
    externalDir = options.externalDataDir;
  } else {
    llvm::StringRef parent = llvm::sys::path::parent_path(sourceName);
    externalDir = parent.empty() ? "." : parent.str();
  }
}

GraphImporter::~GraphImporter() = default;

InFlightDiagnostic GraphImporter::error() { return mlir::emitError(node ? nodeLoc : fileLoc); }

Type GraphImporter::importType(const onnx::TypeProto &type, llvm::StringRef name, bool isInput) {
  const char *what = isInput ? "input" : "output";
  if (!type.has_tensor_type()) {
    error() << "graph " << what << " '" << name
            << "' is not a tensor (sequence, map, optional and sparse values are not supported)";
    return {};
  }
  const onnx::TypeProto::Tensor &tensor = type.tensor_type();
  Type elt = onnxElementType(ctx, tensor.elem_type());
  if (!elt) {
    error() << "graph " << what << " '" << name << "' has element type "
            << onnxDataTypeName(tensor.elem_type()) << ", which effc does not support";
    return {};
  }
  auto bound = options.inputShapes.find(name.str());
  bool isBound = isInput && bound != options.inputShapes.end();
  if (isBound)
    for (int64_t d : bound->second)
      if (d < 0 || d > (int64_t(1) << 40)) {
        error() << "--shape " << name << ": invalid dim " << d;
        return {};
      }
  if (!tensor.has_shape()) {
    if (isBound)
      return RankedTensorType::get(bound->second, elt);
    return UnrankedTensorType::get(elt);
  }
  llvm::SmallVector<int64_t> dims;
  for (const onnx::TensorShapeProto::Dimension &d : tensor.shape().dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0 || d.dim_value() > (int64_t(1) << 40)) {
        error() << "graph " << what << " '" << name << "' has an invalid dim " << d.dim_value();
        return {};
      }
      dims.push_back(d.dim_value());
    } else if (auto fixed = options.dimValues.find(d.dim_param());
               d.has_dim_param() && fixed != options.dimValues.end()) {
      dims.push_back(fixed->second); // --dim NAME=N
    } else {
      dims.push_back(ShapedType::kDynamic);
    }
  }
  if (isBound) {
    const std::vector<int64_t> &shape = bound->second;
    if (shape.size() != dims.size()) {
      error() << "--shape " << name << ": gives " << shape.size()
              << " dims, but the model's input has rank " << dims.size();
      return {};
    }
    for (size_t i = 0; i < dims.size(); ++i) {
      const onnx::TensorShapeProto::Dimension &d = tensor.shape().dim(int(i));
      if (d.has_dim_param() && options.dimValues.count(d.dim_param()) && dims[i] != shape[i]) {
        std::vector<std::string> spelled;
        for (int64_t v : shape)
          spelled.push_back(std::to_string(v));
        error() << "--shape " << name << "=" << llvm::join(spelled, "x") << " gives dim " << i
                << " (the model's dim '" << d.dim_param() << "') the value " << shape[i]
                << ", but --dim " << d.dim_param() << "=" << dims[i] << " fixes it";
        return {};
      }
      if (!ShapedType::isDynamic(dims[i]) && dims[i] != shape[i]) {
        error() << "--shape " << name << ": dim " << i << " is " << dims[i]
                << " in the model, but --shape gives " << shape[i];
        return {};
      }
      dims[i] = shape[i];
    }
  }
  return RankedTensorType::get(dims, elt);
}

LogicalResult GraphImporter::importInputs(func::FuncOp func) {
  const onnx::GraphProto &graph = model.graph();
  llvm::StringSet<> initializers;
  for (const onnx::TensorProto &t : graph.initializer())
    initializers.insert(t.name());
  llvm::StringSet<> inputNames;
  if (failed(checkDimNames()))
    return failure();
  Block &entry = func.getBody().front();
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  for (const onnx::ValueInfoProto &input : graph.input()) {
    if (initializers.contains(input.name()))
      continue; // an initializer with a declared input: a constant here
    if (input.name().empty())
      return error() << "a graph input has no name";
    inputNames.insert(input.name());
    Type type = importType(input.type(), input.name(), /*isInput=*/true);
    if (!type)
      return failure();
    if (auto frozen = options.constantInputFiles.find(input.name());
        frozen != options.constantInputFiles.end()) {
      FailureOr<Value> value = importConstantInput(input.name(), frozen->second, type);
      if (failed(value))
        return failure();
      values[input.name()] = *value;
      continue;
    }
    BlockArgument arg = entry.addArgument(type, fileLoc);
    values[input.name()] = arg;
    argTypes.push_back(type);
    NamedAttrList attrs;
    attrs.set("eff.name", builder.getStringAttr(input.name()));
    if (ArrayAttr dimParams = dynamicDimParams(input.type(), type))
      attrs.set("eff.dim_params", dimParams);
    argAttrs.push_back(attrs.getDictionary(&ctx));
  }
  for (const auto &[name, shape] : options.inputShapes)
    if (!inputNames.contains(name))
      return error() << "--shape names '" << name << "', which is not an input of the model";
  for (const auto &[name, file] : options.constantInputFiles)
    if (!inputNames.contains(name))
      return error() << "--const-input names '" << name << "', which is not an input of the model";
  func.setFunctionType(builder.getFunctionType(argTypes, {}));
  for (auto [i, attrs] : llvm::enumerate(argAttrs))
    func.setArgAttrs(unsigned(i), attrs);
  if (!options.dimBounds.empty()) {
    SmallVector<NamedAttribute> dims;
    for (const auto &[name, bounds] : options.dimBounds)
      dims.push_back(
          builder.getNamedAttr(name, builder.getDenseI64ArrayAttr({bounds.first, bounds.second})));
    func->setAttr("eff.dims", builder.getDictionaryAttr(dims));
  }
  return success();
}

/// The dim_params of the model's graph inputs, sorted, each once.
static std::vector<std::string> inputDimParams(const onnx::GraphProto &graph) {
  std::set<std::string> names;
  for (const onnx::ValueInfoProto &input : graph.input())
    if (input.type().has_tensor_type() && input.type().tensor_type().has_shape())
      for (const onnx::TensorShapeProto::Dimension &d : input.type().tensor_type().shape().dim())
        if (d.has_dim_param() && !d.dim_param().empty())
          names.insert(d.dim_param());
  return {names.begin(), names.end()};
}

LogicalResult GraphImporter::checkDimNames() {
  // Output and value_info shapes are not read (every type is inferred from
  // the inputs), so fixing a dim_param of the inputs fixes it everywhere.
  std::vector<std::string> known = inputDimParams(model.graph());
  std::map<std::string, std::string> given;
  for (const auto &[name, value] : options.dimValues)
    given[name] = std::to_string(value);
  for (const auto &[name, bounds] : options.dimBounds)
    given[name] = std::to_string(bounds.first) + ".." + std::to_string(bounds.second);
  for (const auto &[name, value] : given) {
    if (std::binary_search(known.begin(), known.end(), name) || options.addedDims.count(name))
      continue;
    InFlightDiagnostic diag = error() << "--dim " << name << "=" << value
                                      << ": the model has no dim named '" << name << "'; ";
    if (known.empty())
      diag << "its inputs have no named (dim_param) dims";
    else
      diag << "its dims are " << llvm::join(known, ", ");
    return diag;
  }
  return success();
}

ArrayAttr GraphImporter::dynamicDimParams(const onnx::TypeProto &declared, Type imported) {
  auto ranked = dyn_cast<RankedTensorType>(imported);
  if (!ranked || ranked.hasStaticShape() || !declared.tensor_type().has_shape())
    return {};
  const onnx::TensorShapeProto &shape = declared.tensor_type().shape();
  SmallVector<Attribute> names;
  for (auto [i, dim] : llvm::enumerate(ranked.getShape())) {
    bool named = ShapedType::isDynamic(dim) && int(i) < shape.dim_size() &&
                 shape.dim(int(i)).has_dim_param();
    names.push_back(builder.getStringAttr(named ? shape.dim(int(i)).dim_param() : ""));
  }
  return builder.getArrayAttr(names);
}

FailureOr<Value> GraphImporter::importConstantInput(llvm::StringRef name, const std::string &path,
                                                    Type declared) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return error() << "--const-input " << name << ": cannot read '" << path
                   << "': " << buffer.getError().message();
  onnx::TensorProto tensor;
  if (!tensor.ParseFromArray((*buffer)->getBufferStart(), int((*buffer)->getBufferSize())))
    return error() << "--const-input " << name << ": '" << path << "' is not an ONNX TensorProto";
  std::string message;
  ElementsAttr value = convertOnnxTensor(ctx, tensor, blobNameFor(name.str()), externalDir,
                                         externalData.get(), message);
  if (!value)
    return error() << "--const-input " << name << ": " << message;
  if (!mlir::eff::areCompatibleTensorTypes(declared, value.getType()))
    return error() << "--const-input " << name << ": the file holds " << value.getType()
                   << " but the model declares " << declared;
  return constant(value);
}

LogicalResult GraphImporter::importInitializers() {
  for (const onnx::TensorProto &t : model.graph().initializer()) {
    if (t.name().empty())
      return error() << "an initializer has no name";
    if (t.data_type() == 22 || t.data_type() == 21) { // INT4, UINT4 (IR v10)
      packedInitializers[t.name()] = &t;              // read by a quantized-linear recipe
      continue;
    }
    std::string message;
    ElementsAttr value =
        convertOnnxTensor(ctx, t, blobNameFor(t.name()), externalDir, externalData.get(), message);
    if (!value)
      return error() << "initializer '" << t.name() << "': " << message;
    values[t.name()] = constant(value);
  }
  if (model.graph().sparse_initializer_size() > 0)
    return error() << "sparse initializers are not supported";
  return success();
}

LogicalResult GraphImporter::importOutputs(func::FuncOp func) {
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const onnx::ValueInfoProto &output : model.graph().output()) {
    auto it = values.find(output.name());
    if (output.name().empty() || it == values.end())
      return error() << "graph output '" << output.name()
                     << "' is not produced by any node, input or initializer";
    results.push_back(it->second);
    resultTypes.push_back(it->second.getType());
  }
  if (results.empty())
    return error() << "the graph has no outputs";
  builder.create<func::ReturnOp>(fileLoc, results);
  func.setFunctionType(builder.getFunctionType(func.getArgumentTypes(), resultTypes));
  for (auto [i, output] : llvm::enumerate(model.graph().output()))
    func.setResultAttrs(unsigned(i), builder.getDictionaryAttr(builder.getNamedAttr(
                                         "eff.name", builder.getStringAttr(output.name()))));
  return success();
}

Value GraphImporter::constant(ElementsAttr value) {
  // Small literals (axes, shapes, scalars) are shared: one op per value.
  bool small = isa<DenseElementsAttr>(value);
  if (small)
    if (Value cached = smallConstants.lookup(value))
      return cached;
  Value v = builder.create<eff::ConstantOp>(node ? nodeLoc : fileLoc, value.getShapedType(), value)
                .getResult();
  if (small)
    smallConstants[value] = v;
  return v;
}

Value GraphImporter::constI64(llvm::ArrayRef<int64_t> v, bool scalar) {
  auto type = RankedTensorType::get(scalar ? llvm::ArrayRef<int64_t>{}
                                           : llvm::ArrayRef<int64_t>{int64_t(v.size())},
                                    builder.getI64Type());
  return constant(DenseIntElementsAttr::get(type, v));
}

Value GraphImporter::constScalar(Type elt, double v) {
  auto type = RankedTensorType::get({}, elt);
  Attribute a;
  if (auto ft = dyn_cast<FloatType>(elt))
    a = FloatAttr::get(ft, v);
  else if (elt.isInteger(1))
    a = BoolAttr::get(&ctx, v != 0);
  else
    a = IntegerAttr::get(elt, int64_t(v));
  return constant(DenseElementsAttr::get(type, a));
}

FailureOr<Value> GraphImporter::shapeOf(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (t && t.hasStaticShape())
    return constI64(t.getShape());
  return emitOp1<mlir::eff::ShapeOp>({v});
}

//===----------------------------------------------------------------------===//
// Generic op construction
//===----------------------------------------------------------------------===//

/// Captures error diagnostics while it lives (they are re-emitted by the
/// owner with context, or dropped); other diagnostics go on.
struct DiagnosticCapture {
  explicit DiagnosticCapture(MLIRContext &ctx)
      : handler(&ctx, [this](Diagnostic &d) {
          if (d.getSeverity() != DiagnosticSeverity::Error)
            return failure(); // remarks pass through to the caller's handler
          messages.push_back(d.str());
          return success();
        }) {}
  std::vector<std::string> messages;
  ScopedDiagnosticHandler handler;
};

FailureOr<SmallVector<Value>> GraphImporter::emitOp(llvm::StringRef name,
                                                    llvm::ArrayRef<Value> operands,
                                                    llvm::ArrayRef<NamedAttribute> attrs) {
  const OpShape *shape = lookupEffOp(name);
  std::optional<RegisteredOperationName> opName = RegisteredOperationName::lookup(name, &ctx);
  if (!shape || !opName)
    return error() << "effc has no op '" << name << "'";
  auto *inferType = opName->getInterface<InferTypeOpInterface>();
  if (!inferType)
    return error() << "'" << name << "' does not infer its result types";

  NamedAttrList attrList(attrs);
  SmallVector<Value> present;
  if (shape->segments > 0) {
    if (int(operands.size()) > shape->segments)
      return error() << "has " << operands.size() << " inputs, but '" << name << "' takes at most "
                     << shape->segments;
    SmallVector<int32_t> sizes;
    for (int i = 0; i < shape->segments; ++i) {
      Value v = i < int(operands.size()) ? operands[size_t(i)] : Value();
      if (!v && i < shape->minOperands)
        return error() << "required input #" << i << " is missing";
      sizes.push_back(v ? 1 : 0);
      if (v)
        present.push_back(v);
    }
    attrList.set("operandSegmentSizes", DenseI32ArrayAttr::get(&ctx, sizes));
  } else {
    size_t end = operands.size();
    while (end > 0 && !operands[end - 1])
      --end;
    for (size_t i = 0; i < end; ++i) {
      if (!operands[i])
        return error() << "input #" << i << " is absent, but '" << name
                       << "' cannot skip it (only trailing optional inputs may be absent)";
      present.push_back(operands[i]);
    }
  }
  if (int(present.size()) < shape->minOperands)
    return error() << "has " << present.size() << " inputs, but '" << name << "' needs "
                   << (shape->maxOperands == shape->minOperands ? "" : "at least ")
                   << shape->minOperands;
  if (shape->maxOperands >= 0 && int(present.size()) > shape->maxOperands)
    return error() << "has " << present.size() << " inputs, but '" << name << "' takes at most "
                   << shape->maxOperands;
  // An ONNX attribute the eff op does not define is one effc does not
  // implement: refuse it rather than silently change the semantics.
  {
    ArrayRef<StringAttr> known = opName->getAttributeNames();
    for (const NamedAttribute &a : attrList)
      if (!llvm::is_contained(known, a.getName()) && a.getName() != "operandSegmentSizes")
        return error() << "attribute '" << a.getName().strref() << "' is not supported by '" << name
                       << "'";
  }
  // Inference checks the attributes first (required ones present, their
  // kinds: the adaptor's ODS verifier, EffOps.td); operand constraints are
  // checked by the verifier of the built op.

  DictionaryAttr dict = attrList.getDictionary(&ctx);
  SmallVector<Type> types;
  if (failed(inferType->inferReturnTypes(&ctx, nodeLoc, present, dict, OpaqueProperties(nullptr),
                                         RegionRange(), types)))
    return failure(); // the op emitted why, at the node's location
  if (shape->numResults >= 0 && int(types.size()) != shape->numResults)
    return error() << "'" << name << "' inferred " << types.size() << " result types, expected "
                   << shape->numResults;

  Operation *op = shape->build(builder, nodeLoc, types, present, dict.getValue());
  if (failed(mlir::verify(op, /*verifyRecursively=*/false))) {
    op->erase();
    return failure();
  }
  SmallVector<Value> folded;
  if (succeeded(builder.tryFold(op, folded)) && !folded.empty()) {
    op->erase();
    return folded;
  }
  return SmallVector<Value>(op->getResults());
}

FailureOr<Value> GraphImporter::emitOp1(llvm::StringRef name, llvm::ArrayRef<Value> operands,
                                        llvm::ArrayRef<NamedAttribute> attrs) {
  FailureOr<SmallVector<Value>> results = emitOp(name, operands, attrs);
  if (failed(results))
    return failure();
  if (results->size() != 1)
    return error() << "'" << name << "' has " << results->size() << " results, expected 1";
  return results->front();
}

LogicalResult GraphImporter::bindOutputs(llvm::ArrayRef<Value> results) {
  for (int i = 0; i < node->output_size(); ++i) {
    const std::string &name = node->output(i);
    if (name.empty())
      continue;
    if (size_t(i) < results.size()) {
      values[name] = results[size_t(i)];
      continue;
    }
    if (consumedNames.contains(name))
      return error() << "output #" << i << " ('" << name << "') is used, but effc models only "
                     << (results.size() == 1
                             ? "the first output"
                             : "the first " + std::to_string(results.size()) + " outputs")
                     << " of " << node->op_type();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Nodes
//===----------------------------------------------------------------------===//

LogicalResult GraphImporter::importNode(const onnx::NodeProto &n, int index) {
  node = &n;
  std::string fallback = n.op_type() + "_" + std::to_string(index);
  nodeLoc = makeNodeLocation(ctx, n, sourceName, fallback);
  llvm::StringRef domain = n.domain();
  bool defaultDomain = domain.empty() || domain == "ai.onnx";
  int64_t version = defaultDomain ? opset : opsetFor(model, domain);
  nodeDesc =
      llvm::formatv("node '{0}' ({1}{2}, opset {3})", n.name().empty() ? fallback : n.name(),
                    defaultDomain ? std::string() : domain.str() + "::", n.op_type(), version)
          .str();

  std::vector<std::string> messages;
  LogicalResult result = success();
  {
    DiagnosticCapture capture(ctx);
    result = [&]() -> LogicalResult {
      if (std::optional<LogicalResult> quantized = importQuantizedNodeWithAttrs(n, index))
        return *quantized;
      if (std::optional<LogicalResult> moe = importMicrosoftMoE(n))
        return *moe;
      if (!defaultDomain) {
        for (const onnx::FunctionProto &f : model.functions())
          if (f.domain() == n.domain() && f.name() == n.op_type())
            return error() << "model-local functions are not supported (domain '" << domain << "')";
        return error() << "unsupported op: domain '" << domain
                       << "' is not supported (only the default ONNX domain is)";
      }
      SmallVector<Value> inputs;
      for (const std::string &in : n.input()) {
        if (in.empty()) {
          inputs.push_back(Value());
          continue;
        }
        auto it = values.find(in);
        if (it == values.end() && packedInitializers.count(in))
          return error() << "input '" << in
                         << "' is an int4/uint4 initializer; effc reads those only as "
                            "DequantizeLinear weights feeding a MatMul";
        if (it == values.end())
          return error() << "input '" << in
                         << "' is not defined (no graph input, initializer or earlier node output)";
        inputs.push_back(it->second);
      }
      NamedAttrList attrs;
      for (const onnx::AttributeProto &a : n.attribute()) {
        if (a.name().empty())
          return error() << "an attribute has no name";
        std::string message;
        Attribute converted;
        if (n.op_type() == "Constant" && a.type() == onnx::AttributeProto::TENSOR) {
          // Name big constants after their value.
          converted =
              convertOnnxTensor(ctx, a.t(), blobNameFor(n.output_size() ? n.output(0) : a.name()),
                                externalDir, externalData.get(), message);
          if (!converted)
            message = "attribute '" + a.name() + "': " + message;
        } else {
          converted = convertOnnxAttribute(ctx, a, externalDir, message);
        }
        if (!converted)
          return error() << message;
        if (attrs.get(a.name()))
          return error() << "attribute '" << a.name() << "' is given twice";
        attrs.set(a.name(), converted);
      }
      return convertNode(inputs, attrs);
    }();
    messages = std::move(capture.messages);
  }
  if (failed(result)) {
    InFlightDiagnostic diag = mlir::emitError(nodeLoc) << nodeDesc << ": ";
    if (messages.empty())
      diag << "could not be imported";
    else
      diag << messages.front();
  }
  node = nullptr;
  return result;
}

//===----------------------------------------------------------------------===//
// The whole model
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> GraphImporter::run() {
  ctx.getOrLoadDialect<eff::EffDialect>();
  ctx.getOrLoadDialect<func::FuncDialect>();
  if (!model.has_graph()) {
    error() << "not an ONNX model: it has no graph";
    return {};
  }
  opset = opsetFor(model, "");
  if (opset < 0) {
    error() << "the model imports no opset of the default ONNX domain";
    return {};
  }
  // Opsets before 7 are accepted too: their ops differ from later ones mostly
  // by attributes (broadcast, consumed_inputs, is_test, ...) that eff ops do
  // not define, and emitOp refuses unknown attributes rather than drop them.
  if (opset < 1 || opset > 23) {
    error() << "the model uses ONNX opset " << opset << "; effc supports opsets up to 23";
    return {};
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto func = builder.create<func::FuncOp>(fileLoc, "main", builder.getFunctionType({}, {}));
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToEnd(entry);

  if (failed(importInputs(func)) || failed(importInitializers()))
    return {};
  const onnx::GraphProto &graph = model.graph();
  for (const onnx::NodeProto &n : graph.node())
    for (const std::string &in : n.input())
      consumedNames.insert(in);
  for (const onnx::ValueInfoProto &out : graph.output())
    consumedNames.insert(out.name());
  planQuantizedLinears();
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(importNode(graph.node(i), i)))
      return {};
  if (failed(importOutputs(func)))
    return {};

  // Constants that folding made dead, and shape computations nobody reads.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(entry->getOperations())))
    if (mlir::isOpTriviallyDead(&op))
      op.erase();
  return module;
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
class CollectTextErrors : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string &message) override {
    if (first.empty())
      first =
          "line " + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " + message;
  }
  void AddWarning(int, google::protobuf::io::ColumnNumber, const std::string &) override {}
  std::string first;
};

void silentProtobufLog(google::protobuf::LogLevel, const char *, int, const std::string &) {}

/// Parses a text-format model (the generated classes have reflection:
/// runtime/proto/CMakeLists.txt compiles onnx.proto for the full runtime).
bool parseTextFormat(const std::string &text, onnx::ModelProto &model, std::string &error) {
  google::protobuf::TextFormat::Parser parser;
  CollectTextErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &model)) {
    error = errors.first.empty() ? "parse error" : errors.first;
    return false;
  }
  return true;
}

bool isTextFormatName(llvm::StringRef name) {
  return name.ends_with(".textproto") || name.ends_with(".onnxtxt") || name.ends_with(".pbtxt");
}
} // namespace

} // namespace onnx_import

static OwningOpRef<ModuleOp> importBuffer(MLIRContext &context, llvm::StringRef bytes,
                                          const std::string &sourceName,
                                          const ImportOptions &options) {
  using namespace onnx_import;
  // Protobuf must never print on its own: every failure is reported here.
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(&silentProtobufLog);
    return true;
  }();
  (void)silenced;
  Location fileLoc = FileLineColLoc::get(&context, sourceName, 0, 0);
  if (bytes.empty()) {
    emitError(fileLoc) << "the file is empty, not an ONNX model";
    return {};
  }
  onnx::ModelProto model;
  if (isTextFormatName(sourceName)) {
    std::string message;
    if (!parseTextFormat(bytes.str(), model, message)) {
      emitError(fileLoc) << "not a valid ONNX text-format model: " << message;
      return {};
    }
  } else {
    if (bytes.size() > size_t(INT_MAX)) {
      emitError(fileLoc) << "the model is larger than 2 GiB; ONNX models that big keep their "
                            "weights in external data files";
      return {};
    }
    if (!model.ParseFromArray(bytes.data(), int(bytes.size()))) {
      llvm::StringRef head(bytes.data(), std::min<size_t>(bytes.size(), 64));
      emitError(fileLoc) << "not a valid ONNX model (the protobuf data is malformed or truncated)"
                         << (head.contains("ir_version")
                                 ? "; text-format models must be named *.textproto or *.onnxtxt"
                                 : "");
      return {};
    }
  }
  if (!model.has_graph() || model.ir_version() <= 0) {
    emitError(fileLoc) << "not an ONNX model: "
                       << (model.has_graph() ? "it declares no ir_version" : "it has no graph");
    return {};
  }
  GraphImporter importer(context, model, sourceName, options);
  return importer.run();
}

OwningOpRef<ModuleOp> importOnnxBytes(MLIRContext &context, const std::string &bytes,
                                      const std::string &sourceName, const ImportOptions &options) {
  return importBuffer(context, bytes, sourceName, options);
}

OwningOpRef<ModuleOp> importOnnxFile(MLIRContext &context, const std::string &path,
                                     const ImportOptions &options) {
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  if (llvm::sys::fs::is_directory(path)) {
    emitError(fileLoc) << "is a directory, not an ONNX model file";
    return {};
  }
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(fileLoc) << "cannot read the model: " << buffer.getError().message();
    return {};
  }
  // The (memory-mapped) file is parsed in place.
  return importBuffer(context, (*buffer)->getBuffer(), path, options);
}

} // namespace effc

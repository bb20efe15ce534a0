//===- OnnxInternal.h - the ONNX importer's shared internals ------*- C++ -*-===//
//
// The importer is one class, GraphImporter, whose member functions live in
// several files by concern:
//   OnnxImporter.cpp      parsing, the graph walk, op construction through
//                         the generated build table (InferTypeOpInterface,
//                         create<OpTy>, folding)
//   OnnxOpsetUpgrade.cpp  older opset forms and ONNX ops that become several
//                         eff ops (Softmax-1/11, Attention-23, Split, ...)
//   OnnxAttributes.cpp    AttributeProto -> MLIR attributes
//   OnnxTensors.cpp       TensorProto (incl. external data) -> ElementsAttr
//   OnnxLocations.cpp     node -> Location (name, model file, module path)
//
#ifndef EFFC_COMPILER_ONNX_ONNXINTERNAL_H
#define EFFC_COMPILER_ONNX_ONNXINTERNAL_H

#include "compiler/onnx/OnnxImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OperationSupport.h"

#include "dialects/eff/EffOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include "onnx/onnx.pb.h"

#include <optional>
#include <string>

namespace mlir::func {
class FuncOp;
}

namespace effc::onnx_import {

/// What the importer knows of an eff op: one row of the build table that
/// effc-tblgen generates from the op's ODS (EffOpBuildTable.inc).
struct OpShape {
  llvm::StringRef name;     // "eff.add"
  llvm::StringRef onnxName; // the ONNX op imported as this op, "" for none
  int minOperands = 0;
  int maxOperands = -1; // -1: any number (variadic)
  int segments = 0;     // > 0: AttrSizedOperandSegments with this many segments
  int numResults = 1;   // -1: variadic
  int onnxSince = 1;    // the first default-domain opset with `onnxName`
  /// builder.create<OpTy>(loc, resultTypes, operands, attributes).
  mlir::Operation *(*build)(mlir::OpBuilder &, mlir::Location, mlir::TypeRange, mlir::ValueRange,
                            llvm::ArrayRef<mlir::NamedAttribute>) = nullptr;
};

/// An attribute that the opsets of an ONNX op below `before` have where the
/// eff op takes operand `operand` (ODS onnxAttrOperands, in the build table).
struct OnnxAttrOperand {
  llvm::StringRef effName;
  llvm::StringRef attr;
  unsigned operand = 0;
  int64_t before = 0;
  bool required = false; // the old opset cannot do without it
};
/// The attributes that opset `opset` of the ONNX op of `row` still has where
/// the eff op takes operands, in ODS order.
llvm::SmallVector<const OnnxAttrOperand *> attrOperandsAt(const OpShape &row, int64_t opset);

/// The build-table row of eff op `effName` ("eff.add"), or null.
const OpShape *lookupEffOp(llvm::StringRef effName);
/// The row of the eff op that imports default-domain ONNX op `onnxOpType`
/// ("LayerNormalization" -> eff.layer_norm), or null.
const OpShape *lookupOnnxOp(llvm::StringRef onnxOpType);

/// Reads external data files once each (memory mapped) and hands out
/// bounds-checked slices.
class ExternalDataCache;

struct ConstNumbers;
struct NBlocksWeight;

/// A DequantizeLinear of a constant weight whose readers are all MatMuls
/// (input B): each of those MatMuls becomes an eff.quant_linear over the
/// packed constants, built once (OnnxQuantized.cpp).
struct PendingDequantize {
  int node = -1;
  std::string nodeDesc, x, zeroName, typeName;
  mlir::Value scale, zeroPoint;
  bool hasZero = false, fourBit = false;
  int64_t axis = 1, blockSize = 0;
  // Filled by the first MatMul.
  bool built = false;
  mlir::eff::QuantScheme scheme = mlir::eff::QuantScheme::Int8;
  int64_t K = 0, N = 0, blockSizeUsed = 0, packedBytes = 0;
  mlir::Value weight, scales, zeros;
};

/// onnxruntime's dynamic int8 MatMul: DynamicQuantizeLinear (node
/// `quantize`) -> MatMulInteger (`matmul`) -> Cast (`cast`) -> Mul
/// (`output`) by Mul(a_scale, weightScale) (`scaleMul`); node indices.
struct DynamicLinear {
  int quantize = -1, matmul = -1, cast = -1, scaleMul = -1, output = -1;
  std::string weightScale;
};

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext &ctx, const onnx::ModelProto &model, llvm::StringRef sourceName,
                const ImportOptions &options);
  ~GraphImporter();

  mlir::OwningOpRef<mlir::ModuleOp> run();

  // ---- state ----------------------------------------------------------------
  mlir::MLIRContext &ctx;
  const onnx::ModelProto &model;
  std::string sourceName;
  const ImportOptions &options;
  std::string externalDir; // where external data lives
  std::unique_ptr<ExternalDataCache> externalData;
  mlir::OpBuilder builder;
  mlir::Location fileLoc;
  int64_t opset = 0; // default-domain opset

  llvm::StringMap<mlir::Value> values; // ONNX value name -> SSA value
  llvm::StringSet<> consumedNames;     // names read by some node or a graph output
  llvm::DenseMap<mlir::Attribute, mlir::Value> smallConstants; // dense literal -> its eff.constant

  // The node being imported (for messages and locations).
  const onnx::NodeProto *node = nullptr;
  mlir::Location nodeLoc;
  std::string nodeDesc; // "node 'name' (OpType, opset N)"

  // ---- graph walk (OnnxImporter.cpp) ----------------------------------------
  mlir::LogicalResult importInputs(mlir::func::FuncOp func);
  mlir::LogicalResult importInitializers();
  mlir::FailureOr<mlir::Value> importConstantInput(llvm::StringRef name, const std::string &path,
                                                   mlir::Type declared);
  mlir::LogicalResult importNode(const onnx::NodeProto &n, int index);
  mlir::LogicalResult importOutputs(mlir::func::FuncOp func);
  mlir::Type importType(const onnx::TypeProto &type, llvm::StringRef name, bool isInput);
  /// Every --dim names a dim_param of the model's inputs.
  mlir::LogicalResult checkDimNames();
  /// `eff.dim_params` of an input whose imported type has dynamic dims: the
  /// ONNX dim_param of each dynamic dim ("" for static or unnamed ones), so
  /// the planner's error can name them; null when the type is static.
  mlir::ArrayAttr dynamicDimParams(const onnx::TypeProto &declared, mlir::Type imported);

  /// Emits an error at the current node (or the file outside of nodes).
  mlir::InFlightDiagnostic error();

  /// Builds eff op `name` with create<OpTy> through its build-table row:
  /// operands (null = absent optional operand), attributes, result types
  /// through InferTypeOpInterface (a variadic-result op infers its count),
  /// then folds. Errors (unsupported op, arity, attribute or operand
  /// constraint, inference) are emitted.
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  emitOp(llvm::StringRef name, llvm::ArrayRef<mlir::Value> operands,
         llvm::ArrayRef<mlir::NamedAttribute> attrs);
  /// emitOp for single-result ops.
  mlir::FailureOr<mlir::Value> emitOp1(llvm::StringRef name, llvm::ArrayRef<mlir::Value> operands,
                                       llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  /// emitOp1 of eff op class OpTy (recipes name ops by class, not by string).
  template <typename OpTy>
  mlir::FailureOr<mlir::Value> emitOp1(llvm::ArrayRef<mlir::Value> operands,
                                       llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    return emitOp1(OpTy::getOperationName(), operands, attrs);
  }

  /// eff.constant ops.
  mlir::Value constant(mlir::ElementsAttr value);
  mlir::Value constI64(llvm::ArrayRef<int64_t> values, bool scalar = false);
  /// A scalar constant of `elementType` holding `v`.
  mlir::Value constScalar(mlir::Type elementType, double v);
  /// The shape of `v` as a 1-D i64 tensor (a constant when static).
  mlir::FailureOr<mlir::Value> shapeOf(mlir::Value v);

  /// Maps node outputs to `results`; extra node outputs effc does not model
  /// must be unused.
  mlir::LogicalResult bindOutputs(llvm::ArrayRef<mlir::Value> results);

  // ---- node conversion (OnnxOpsetUpgrade.cpp) --------------------------------
  /// Converts the current node; `inputs` holds its inputs (null = absent),
  /// `attrs` its converted attributes.
  mlir::LogicalResult convertNode(llvm::SmallVectorImpl<mlir::Value> &inputs,
                                  mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertSoftmaxV1(llvm::StringRef effName, llvm::ArrayRef<mlir::Value> inputs,
                                       mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertAttention(llvm::ArrayRef<mlir::Value> inputs,
                                       mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertConstant(mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertLayerNormWithStats(llvm::SmallVectorImpl<mlir::Value> &inputs,
                                                mlir::NamedAttrList &attrs, bool wantMean,
                                                bool wantInvStd);
  /// Moves attribute `attr` (INTS) into operand slot `index` as an i64 tensor.
  void attrToOperand(mlir::NamedAttrList &attrs, llvm::StringRef attr,
                     llvm::SmallVectorImpl<mlir::Value> &inputs, unsigned index);

  // ---- com.microsoft MoE -> eff.moe (OnnxMoE.cpp) ------------------------------
  /// The node's recipe when it is com.microsoft MoE (nullopt otherwise).
  std::optional<mlir::LogicalResult> importMicrosoftMoE(const onnx::NodeProto &n);

  // ---- quantized linears -> eff.quant_linear (OnnxQuantized.cpp) --------------
  /// INT4/UINT4 initializers, kept packed until a recipe reads them.
  llvm::StringMap<const onnx::TensorProto *> packedInitializers;
  /// Readers of each value: (node index, input slot); the graph's outputs.
  llvm::StringMap<llvm::SmallVector<std::pair<int, int>>> consumers;
  llvm::StringSet<> graphOutputs;
  llvm::StringMap<PendingDequantize> pendingDequantize; // by DequantizeLinear output
  std::vector<DynamicLinear> dynamicLinears;
  llvm::DenseMap<int, int> dynamicOutputs;          // output Mul node -> dynamicLinears index
  llvm::DenseSet<int> absorbedNodes;                // nodes a recipe computes
  llvm::DenseMap<int, std::string> dynamicMismatch; // MatMulInteger -> why no pattern
  /// Finds the dynamic int8 patterns (before the node walk).
  void planQuantizedLinears();
  /// The node's recipe if it has one (nullopt: import it normally).
  std::optional<mlir::LogicalResult> importQuantizedNodeWithAttrs(const onnx::NodeProto &n,
                                                                  int index);
  std::optional<mlir::LogicalResult> importQuantizedNode(int index, mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertMatMulNBits(llvm::ArrayRef<mlir::Value> inputs,
                                         mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertMatMulBnb4(llvm::ArrayRef<mlir::Value> inputs,
                                        mlir::NamedAttrList &attrs);
  mlir::FailureOr<bool> convertDequantizeLinear(int index, mlir::NamedAttrList &attrs);
  mlir::LogicalResult dequantizeElementwise(llvm::ArrayRef<mlir::Value> inputs,
                                            mlir::NamedAttrList &attrs);
  mlir::LogicalResult convertDequantizedMatMul(llvm::ArrayRef<mlir::Value> inputs,
                                               PendingDequantize &dq);
  mlir::LogicalResult convertDynamicLinear(const DynamicLinear &d);
  mlir::LogicalResult readPackedInt4(const onnx::TensorProto &t, ConstNumbers &out);
  mlir::LogicalResult dequantizeCodes(const PendingDequantize &dq, ConstNumbers &codes);
  mlir::Value bytesConstant(llvm::ArrayRef<int64_t> shape, mlir::Type elt,
                            llvm::ArrayRef<char> bytes, llvm::StringRef name);
  mlir::Value emitNBlocks(mlir::Value a, mlir::eff::QuantScheme scheme, const NBlocksWeight &w,
                          llvm::StringRef name);
  mlir::Value emitQuantLinear(mlir::Value a, mlir::eff::QuantScheme scheme,
                              mlir::eff::QuantLayout layout, int64_t K, int64_t N,
                              int64_t blockSize, mlir::Value weight, mlir::Value scales,
                              mlir::Value zeroPoints);
  /// With --remarks: "raised WHAT to eff.quant_linear: weight [K, N] packed in ...".
  void remarkRaised(const std::string &what, int64_t K, int64_t N, int64_t packedBytes);
};

/// "ReduceMean" -> "eff.reduce_mean": the eff op an ONNX op imports as
/// (lookupOnnxOp), "" when none does.
std::string effOpName(llvm::StringRef onnxOpType);

/// The opset version in effect for `domain` ("" and "ai.onnx" are the same),
/// or -1 when the model does not import it.
int64_t opsetFor(const onnx::ModelProto &model, llvm::StringRef domain);

} // namespace effc::onnx_import

#endif

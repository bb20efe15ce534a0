//===- ExecutionPlan.cpp - eff IR -> artifact manifest --------------------===//
#include "compiler/plan/ExecutionPlan.h"

#include "compiler/codegen/KernelEmitter.h"
#include "compiler/plan/MemoryPlanner.h"
#include "compiler/plan/SessionState.h"
#include "compiler/plan/SymbolicShapes.h"
#include "dialects/eff/ConstantFolding.h"
#include "dialects/eff/EffOps.h"
#include "dialects/eff/KernelOperands.h"
#include "dialects/eff/hostfold/HostKernelFolding.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <limits>
#include <map>
#include <set>

using namespace mlir;

namespace effc {

bool isViewOp(Operation *op) {
  return isa<eff::ReshapeOp, eff::SqueezeOp, eff::UnsqueezeOp, eff::FlattenOp, eff::IdentityOp>(op);
}

namespace {

/// How to make `value`'s dynamic shape static. When the op producing it has
/// operands of static shapes only, the input dims are not the cause: an
/// integer operand known only at run time (Tile's repeats, Expand's shape)
/// decides the shape, and that operand is named.
std::string dynamicShapeFix(Value value) {
  Operation *op = value.getDefiningOp();
  auto isStatic = [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return ranked && ranked.hasStaticShape();
  };
  if (op && llvm::all_of(op->getOperandTypes(), isStatic)) {
    std::string operands;
    for (auto [i, operand] : llvm::enumerate(op->getOperands()))
      if (isa<IntegerType>(getElementTypeOrSelf(operand)) && !eff::getConstantElements(operand))
        operands += (operands.empty() ? "#" : ", #") + std::to_string(i);
    if (!operands.empty())
      return "; its operands' shapes are static, so the run-time value of operand " + operands +
             " decides it: that operand must be a compile-time constant";
  }
  return "; fix the model's input dims with --dim NAME=N or --shape NAME=DxD...";
}

std::string locationText(Location loc) {
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

/// The ONNX dim_params of input `i`'s dims (importer's `eff.dim_params`:
/// "" where unnamed); empty when not recorded.
SmallVector<std::string> dimParamsOf(func::FuncOp func, unsigned i) {
  SmallVector<std::string> names;
  if (auto attr = func.getArgAttrOfType<ArrayAttr>(i, "eff.dim_params"))
    for (Attribute a : attr)
      names.push_back(isa<StringAttr>(a) ? cast<StringAttr>(a).str() : "");
  return names;
}

/// An input dim left symbolic without bounds is an error that names the
/// input, its dims, and every dim of the model still symbolic.
LogicalResult unboundInputError(func::FuncOp func, unsigned i, const std::string &inputName) {
  auto type = cast<ShapedType>(func.getArgument(i).getType());
  std::set<std::string> symbolic; // over all inputs, for the hint
  for (unsigned j = 0; j < func.getNumArguments(); ++j)
    for (const std::string &name : dimParamsOf(func, j))
      if (!name.empty())
        symbolic.insert(name);
  InFlightDiagnostic diag = emitError(func.getLoc())
                            << "input '" << inputName << "' of type " << type << " has ";
  if (!type.hasRank()) {
    diag << "no declared shape; bind it with --shape " << inputName << "=DxD...";
    return diag;
  }
  SmallVector<std::string> names = dimParamsOf(func, i);
  SmallVector<std::string> described, fixFlags;
  for (auto [d, extent] : llvm::enumerate(type.getShape())) {
    if (!ShapedType::isDynamic(extent))
      continue;
    bool named = d < names.size() && !names[d].empty();
    described.push_back("dim " + std::to_string(d) +
                        (named ? " '" + names[d] + "'" : std::string(" (no dim_param)")));
    if (named)
      fixFlags.push_back("--dim " + names[d] + "=N");
  }
  diag << "symbolic " << llvm::join(described, ", ") << " without a value: ";
  if (!fixFlags.empty())
    diag << "fix " << (described.size() == 1 ? "it" : "them") << " with "
         << llvm::join(fixFlags, " ") << " (or bound " << (described.size() == 1 ? "it" : "them")
         << " with --dim NAME=MIN..MAX) or ";
  diag << "bind the input with --shape " << inputName << "=DxD...";
  if (!symbolic.empty())
    diag << " (the model's symbolic dims: " << llvm::join(symbolic, ", ") << ")";
  return diag;
}

class PlanBuilder {
public:
  explicit PlanBuilder(const PlanOptions &options) : options(options) {}

  FailureOr<ExecutionPlan> build(func::FuncOp func) {
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      auto name = func.getArgAttrOfType<StringAttr>(i, "eff.name");
      std::string inputName = name ? name.str() : "input_" + std::to_string(i);
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || (!type.hasStaticShape() && !hasBoundedDims(func, unsigned(i))))
        return unboundInputError(func, unsigned(i), inputName);
    }
    FailureOr<SymbolicShapes> shapes = analyzeSymbolicShapes(func);
    if (failed(shapes))
      return failure();
    symbolic = std::move(*shapes);
    if (auto devices = func->getAttrOfType<IntegerAttr>("eff.devices")) // eff-partition-devices
      plan.manifest.set_devices(uint32_t(devices.getInt()));
    for (const DimBound &dim : symbolic.dims) {
      artifact::Dim *out = plan.manifest.add_dims();
      out->set_name(dim.name);
      out->set_min(dim.min);
      out->set_max(dim.max);
    }
    // KV caches kept in session state: the past input and the present are
    // views of the state, neither a binding.
    if (options.kvState && plan.manifest.devices() > 1)
      return emitError(func.getLoc()) << "--kv-state with --devices=" << plan.manifest.devices()
                                      << " is not done yet (session state lives on one device)";
    for (StateCandidate c : options.kvState ? findPagedPoolStates(func, options.remarks)
                                            : std::vector<StateCandidate>()) {
      auto type = cast<RankedTensorType>(c.pool.getType()); // static [pages, H, PS, D]
      DType dtype = eff::toDType(type.getElementType());
      artifact::State *state = plan.manifest.add_states();
      state->set_input(func.getArgAttrOfType<StringAttr>(c.pastArg, "eff.name").str());
      state->set_output(func.getResultAttrOfType<StringAttr>(c.presentResult, "eff.name").str());
      state->set_dtype(artifact::DType(int(dtype)));
      state->set_pages(true);
      for (int64_t d : type.getShape())
        state->add_shape(d);
      state->set_size_bytes(uint64_t(type.getNumElements()) * dtypeSize(dtype));
      stateOfValue[c.pool.getCache()] = plan.manifest.states_size() - 1;
      stateOfValue[c.pool.getResult()] = plan.manifest.states_size() - 1;
    }
    for (StateCandidate c : options.kvState ? findSessionStates(func, symbolic, options.remarks)
                                            : std::vector<StateCandidate>()) {
      auto type = cast<RankedTensorType>(c.append.getType());
      auto batch = symbolic.shapes.lookup(c.append.getResult())[0].range(symbolic.dims);
      SmallVector<int64_t> shape = {batch ? batch->second : type.getDimSize(0), type.getDimSize(1),
                                    int64_t(c.append.getCapacity()), type.getDimSize(3)};
      DType dtype = eff::toDType(type.getElementType());
      artifact::State *state = plan.manifest.add_states();
      state->set_input(func.getArgAttrOfType<StringAttr>(c.pastArg, "eff.name").str());
      state->set_output(c.append.getState().str());
      state->set_dtype(artifact::DType(int(dtype)));
      uint64_t elements = 1;
      for (int64_t d : shape) {
        state->add_shape(d);
        elements *= uint64_t(d);
      }
      state->set_size_bytes(elements * dtypeSize(dtype));
      stateOfValue[c.append.getPast()] = plan.manifest.states_size() - 1;
      stateOfValue[c.append.getResult()] = plan.manifest.states_size() - 1;
    }
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      auto name = func.getArgAttrOfType<StringAttr>(i, "eff.name");
      std::string inputName = name ? name.str() : "input_" + std::to_string(i);
      FailureOr<int32_t> id = addBuffer(arg, inputName, func.getLoc(), "input '" + inputName + "'");
      if (failed(id))
        return failure();
      if (auto st = stateOfValue.find(arg); st != stateOfValue.end()) {
        plan.manifest.mutable_states(st->second)->set_input_buffer(uint32_t(*id));
        continue;
      }
      ranges[*id].first = -1; // written by the caller before the first kernel
      auto *binding = plan.manifest.add_inputs();
      binding->set_name(inputName);
      binding->set_buffer(uint32_t(*id));
    }
    for (Operation &op : func.getBody().front())
      if (failed(lower(&op, func)))
        return failure();
    assignArena();
    // Emission: everything below reads the KernelPlans, not the IR.
    CudaEmission emission = emitCudaTranslationUnit(plan.kernels);
    while (!emission.error.empty()) {
      if (failed(noCudaKernel(kernelOps[emission.failedKernel],
                              plan.kernels[emission.failedKernel].desc, emission.error)))
        return failure();
      plan.kernels[emission.failedKernel].cuda.reset();
      emission = emitCudaTranslationUnit(plan.kernels);
    }
    plan.cudaSource = std::move(emission.source);
    for (auto [kernel, function] : llvm::zip_equal(plan.kernels, emission.functions))
      toManifestKernel(kernel, function, *plan.manifest.add_kernels());
    return std::move(plan);
  }

private:
  const PlanOptions &options;
  ExecutionPlan plan;
  /// The op of each plan.kernels entry, for errors found at emission.
  std::vector<Operation *> kernelOps;
  llvm::DenseMap<Value, int32_t> bufferOf;
  // Per buffer: its arena live range, and the buffer whose bytes it uses.
  std::map<int32_t, LiveRange> ranges;
  llvm::DenseMap<int32_t, int32_t> rootOf;
  int64_t step = 0;
  bool inSideRegion = false; // the last kernel ran on a side stream
  /// The bounded dims (`--dim past=0..255`) and the shape expressions of
  /// every dynamic value; buffers of those values are planned at the bounds.
  SymbolicShapes symbolic;
  std::set<int32_t> symbolicBuffers;
  /// Values planned as views of session state (Manifest.states index).
  llvm::DenseMap<Value, int> stateOfValue;

  /// Every dynamic dim of input `i` is a dim with bounds (eff.dims).
  static bool hasBoundedDims(func::FuncOp func, unsigned i) {
    auto bounded = func->getAttrOfType<DictionaryAttr>("eff.dims");
    auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
    SmallVector<std::string> names = dimParamsOf(func, i);
    if (!bounded || !type)
      return false;
    for (auto [d, extent] : llvm::enumerate(type.getShape()))
      if (ShapedType::isDynamic(extent) &&
          (d >= names.size() || names[d].empty() || !bounded.get(names[d])))
        return false;
    return true;
  }

  FailureOr<int32_t> addBuffer(Value value, const std::string &name, Location loc,
                               const std::string &what,
                               artifact::Buffer::Storage storage = artifact::Buffer::ARENA) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    auto exprs = symbolic.shapes.find(value);
    if (!type || (!type.hasStaticShape() && exprs == symbolic.shapes.end()))
      return emitError(loc) << what << " has a dynamic shape " << value.getType()
                            << dynamicShapeFix(value);
    DType dtype = eff::toDType(type.getElementType());
    if (dtype == DType::UNDEFINED)
      return emitError(loc) << what << " has unsupported element type " << type.getElementType();
    // A symbolic shape is planned at its largest extents (the dims' upper
    // bounds: every expression is a non-negative multilinear polynomial).
    SmallVector<int64_t> extents(type.getShape());
    if (!type.hasStaticShape())
      for (auto [d, expr] : llvm::enumerate(exprs->second)) {
        auto range = expr.range(symbolic.dims);
        if (!range || range->first < 0)
          return emitError(loc) << what << ": dim " << d << " = " << expr.toString()
                                << " is negative or overflows within the dims' bounds";
        extents[d] = range->second;
      }
    int64_t elements = 1;
    for (int64_t d : extents)
      elements *= d;
    int32_t id = plan.manifest.buffers_size();
    artifact::Buffer *buffer = plan.manifest.add_buffers();
    buffer->set_name(name);
    buffer->set_dtype(artifact::DType(int(dtype)));
    for (int64_t d : extents)
      buffer->add_shape(d);
    if (auto st = stateOfValue.find(value); st != stateOfValue.end()) {
      storage = artifact::Buffer::STATE;
      buffer->set_state(uint32_t(st->second));
    }
    buffer->set_storage(storage);
    buffer->set_size_bytes(uint64_t(elements) * dtypeSize(dtype));
    if (!type.hasStaticShape()) {
      for (const DimExpr &expr : exprs->second)
        expr.toProto(*buffer->add_shape_exprs());
      symbolicBuffers.insert(id);
    }
    bufferOf[value] = id;
    rootOf[id] = id;
    if (storage == artifact::Buffer::ARENA)
      ranges[id] = LiveRange{buffer->size_bytes(), step, step};
    return id;
  }

  /// Extends the live range of the arena buffer behind `id` to `at`.
  void use(int32_t id, int64_t at) {
    auto it = ranges.find(rootOf[id]);
    if (it != ranges.end())
      it->second.last = std::max(it->second.last, at);
  }

  LogicalResult lower(Operation *op, func::FuncOp func) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, value] : llvm::enumerate(ret.getOperands())) {
        auto name = func.getResultAttrOfType<StringAttr>(i, "eff.name");
        if (auto st = stateOfValue.find(value); st != stateOfValue.end()) {
          plan.manifest.mutable_states(st->second)
              ->set_output_buffer(uint32_t(bufferOf.lookup(value)));
          continue; // the session keeps it
        }
        auto *binding = plan.manifest.add_outputs();
        binding->set_name(name ? name.str() : "output_" + std::to_string(i));
        binding->set_buffer(uint32_t(bufferOf.lookup(value)));
        use(bufferOf.lookup(value), std::numeric_limits<int64_t>::max() / 2);
      }
      return success();
    }
    if (auto constant = dyn_cast<eff::ConstantOp>(op)) {
      FailureOr<int32_t> id =
          addBuffer(constant, "weight", op->getLoc(), "constant", artifact::Buffer::WEIGHT);
      if (failed(id))
        return failure();
      std::vector<char> bytes;
      if (!eff::getElementsBytes(constant.getValue(), bytes))
        return op->emitError("constant data is not available (elided resource?)");
      plan.weights.push_back(WeightBlob{uint32_t(*id), std::string(bytes.begin(), bytes.end())});
      return success();
    }
    if (!isa_and_nonnull<eff::EffDialect>(op->getDialect()))
      return op->emitError("cannot plan op '") << op->getName() << "': not an eff op";

    if (isViewOp(op)) {
      int32_t source = bufferOf.lookup(op->getOperand(0));
      FailureOr<int32_t> id =
          addBuffer(op->getResult(0), "view", op->getLoc(),
                    "result of " + op->getName().getStringRef().str(), artifact::Buffer::ALIAS);
      if (failed(id))
        return failure();
      artifact::Buffer *buffer = plan.manifest.mutable_buffers(*id);
      buffer->set_alias_of(uint32_t(source));
      buffer->set_offset(0);
      rootOf[*id] = rootOf[source];
      return success();
    }

    if (auto fusion = dyn_cast<eff::FusionOp>(op))
      return lowerFusion(fusion);

    std::string name = op->getName().getStringRef().str();
    if (op->hasTrait<OpTrait::eff::CompileTimeOnly>())
      return op->emitError("'")
             << name
             << "' has no kernel (its result shape depends on the data): it compiles only when it "
                "folds or a pass raises the pattern around it (--remarks says why one was not)";
    if (!host::hasKernel(name))
      return op->emitError("no kernel implements '") << name << "'";
    // Consecutive side-stream kernels (eff.stream > 0) may run at the same
    // time: they share one step, so that no buffer one of them reads or
    // writes is reused by another (live ranges are inclusive).
    auto streamAttr = op->getAttrOfType<IntegerAttr>("eff.stream");
    uint32_t stream = streamAttr ? uint32_t(streamAttr.getInt()) : 0;
    if (!(stream && inSideRegion))
      ++step;
    inSideRegion = stream != 0;
    KernelPlan kernel;
    kernel.stream = stream;
    if (auto device = op->getAttrOfType<IntegerAttr>("eff.device"))
      kernel.device = device.getInt();
    for (Value operand : eff::getKernelOperands(op)) {
      int32_t id = operand ? bufferOf.lookup(operand) : -1;
      kernel.inputs.push_back(id);
      if (operand)
        use(id, step);
    }
    for (Value result : op->getResults()) {
      FailureOr<int32_t> id =
          addBuffer(result, name + " result", op->getLoc(), "result of " + name);
      if (failed(id))
        return failure();
      kernel.outputs.push_back(*id);
    }
    return addKernel(op, std::move(kernel));
  }

  /// An eff.fusion becomes one kernel whose description carries the fused
  /// body (KernelDesc::body); every body op needs a host kernel.
  LogicalResult lowerFusion(eff::FusionOp fusion) {
    ++step;
    inSideRegion = false;
    KernelPlan kernel;
    for (Value input : fusion.getInputs()) {
      int32_t id = bufferOf.lookup(input);
      kernel.inputs.push_back(id);
      use(id, step);
    }
    for (Operation &inner : fusion.getBody().front().without_terminator()) {
      std::string name = inner.getName().getStringRef().str();
      if (!host::hasKernel(name))
        return inner.emitError("no kernel implements '") << name << "'";
      kernel.bodyLocations.push_back(locationText(inner.getLoc()));
    }
    for (Value result : fusion.getResults()) {
      FailureOr<int32_t> id =
          addBuffer(result, "eff.fusion result", fusion.getLoc(), "result of eff.fusion");
      if (failed(id))
        return failure();
      kernel.outputs.push_back(*id);
    }
    return addKernel(fusion, std::move(kernel));
  }

  /// Describes the kernel of `op` (buffers bound) once and chooses its CUDA
  /// kernel: the family emitter's variant, tiles and launch geometry (no
  /// text: build() instantiates every choice after the walk).
  LogicalResult addKernel(Operation *op, KernelPlan kernel) {
    std::string error;
    std::string name = codegen::kernelName(plan.kernels.size(), op->getName().getStringRef());
    kernel.location = locationText(op->getLoc());
    // Runtime extents: the tensors' shapes as expressions of the dims (their
    // largest values in TensorDesc::shape), the kernel reads the dims' values.
    codegen::SymbolicShapeFn symbolicShape = [&](Value value, codegen::TensorDesc &t) {
      auto it = symbolic.shapes.find(value);
      if (it == symbolic.shapes.end())
        it = symbolic.shapes.find(symbolicStandIn(value));
      if (it == symbolic.shapes.end())
        return false;
      t.shape.clear();
      t.symShape.clear();
      for (const DimExpr &expr : it->second) {
        auto range = expr.range(symbolic.dims);
        if (!range)
          return false;
        t.shape.push_back(range->second);
        t.symShape.emplace_back(expr);
      }
      // An expression that folds to a constant (8 = batch * heads) is static.
      if (llvm::all_of(t.symShape, [](const codegen::Extent &e) { return e.isConstant(); }))
        t.symShape.clear();
      return true;
    };
    if (touchesSymbolic(kernel)) {
      std::optional<codegen::KernelDesc> desc =
          codegen::describeKernelOp(op, name, error, symbolicShape);
      if (desc) {
        kernel.desc = std::move(*desc);
        // Session state: the emitters read its [b, h] slices capacity rows apart.
        auto capacityOf = [&](int32_t id) -> int64_t {
          if (id < 0 || plan.manifest.buffers(id).storage() != artifact::Buffer::STATE)
            return 0;
          return plan.manifest.states(int(plan.manifest.buffers(id).state())).shape(2);
        };
        for (size_t i = 0; i < kernel.inputs.size() && i < kernel.desc.inputs.size(); ++i)
          kernel.desc.inputs[i].capacity = capacityOf(kernel.inputs[i]);
        for (size_t o = 0; o < kernel.outputs.size() && o < kernel.desc.outputs.size(); ++o)
          kernel.desc.outputs[o].capacity = capacityOf(kernel.outputs[o]);
        kernel.desc.sm90a = options.sm90a;
        kernel.desc.gemm = options.gemm;
        kernel.desc.decodeGemv = options.decodeGemv;
        if (!op->hasTrait<OpTrait::eff::Collective>()) // run through Collectives.h
          kernel.cuda = codegen::chooseCudaKernel(kernel.desc, error);
        if (!kernel.cuda && !op->hasTrait<OpTrait::eff::Collective>() &&
            failed(noCudaKernel(op, kernel.desc, error)))
          return failure();
        if (options.remarks && kernel.cuda && !kernel.cuda->remark.empty())
          op->emitRemark(kernel.cuda->remark);
        plan.kernels.push_back(std::move(kernel));
        kernelOps.push_back(op);
        return success();
      }
      // Host-only: the op and its attributes; the tensors at their planned
      // (upper-bound) shapes, for messages (the host backend reads the shapes
      // of the buffers per run).
      kernel.desc.op = op->getName().getStringRef().str();
      kernel.desc.name = name;
      kernel.desc.attrs = eff::toHostAttrs(op);
      auto describe = [&](int32_t id) {
        codegen::TensorDesc t;
        t.present = id >= 0;
        if (id >= 0) {
          const artifact::Buffer &buffer = plan.manifest.buffers(id);
          t.dtype = DType(buffer.dtype());
          t.shape.assign(buffer.shape().begin(), buffer.shape().end());
        }
        return t;
      };
      for (int32_t id : kernel.inputs)
        kernel.desc.inputs.push_back(describe(id));
      for (int32_t id : kernel.outputs)
        kernel.desc.outputs.push_back(describe(id));
      if (!op->hasTrait<OpTrait::eff::Collective>() &&
          failed(noCudaKernel(op, kernel.desc,
                              kernel.desc.op + ": runtime extents (a symbolic dim) on CUDA are "
                                               "not done yet (issue 14 stage S3)")))
        return failure();
      plan.kernels.push_back(std::move(kernel));
      kernelOps.push_back(op);
      return success();
    }
    std::optional<codegen::KernelDesc> desc = codegen::describeKernelOp(op, name, error);
    if (!desc)
      return op->emitError("cannot describe kernel: ") << error;
    kernel.desc = std::move(*desc);
    kernel.desc.sm90a = options.sm90a;
    kernel.desc.gemm = options.gemm;
    kernel.desc.decodeGemv = options.decodeGemv;
    if (op->hasTrait<OpTrait::eff::Collective>()) { // run through Collectives.h, no CUDA kernel
      plan.kernels.push_back(std::move(kernel));
      kernelOps.push_back(op);
      return success();
    }
    kernel.cuda = codegen::chooseCudaKernel(kernel.desc, error);
    if (!kernel.cuda && failed(noCudaKernel(op, kernel.desc, error)))
      return failure();
    if (options.remarks && kernel.cuda && !kernel.cuda->remark.empty())
      op->emitRemark(kernel.cuda->remark);
    plan.kernels.push_back(std::move(kernel));
    kernelOps.push_back(op);
    return success();
  }

  /// The value of main's body whose shape expressions `value` has, where
  /// the probes recorded none of its own: an
  /// eff.fusion's body argument is its input; a body op's result has the
  /// fusion's result shape (eff-fuse-elementwise puts only ops of the result
  /// shape in a body, eff-fuse-gemm-epilogue a GEMM of that shape and its
  /// consumers) when its type agrees with it.
  static Value symbolicStandIn(Value value) {
    auto fusion = dyn_cast_or_null<eff::FusionOp>(value.getParentRegion()->getParentOp());
    if (!fusion)
      return value;
    if (auto arg = dyn_cast<BlockArgument>(value))
      return fusion.getInputs()[arg.getArgNumber()];
    if (fusion->getNumResults() != 1 ||
        failed(verifyCompatibleShape(value.getType(), fusion->getResult(0).getType())))
      return value;
    return fusion->getResult(0);
  }

  bool touchesSymbolic(const KernelPlan &kernel) const {
    auto symbolicId = [&](int32_t id) { return symbolicBuffers.count(id) > 0; };
    return llvm::any_of(kernel.inputs, symbolicId) || llvm::any_of(kernel.outputs, symbolicId);
  }

  /// An op the emitters cannot generate: an error unless the artifact is
  /// host-only.
  LogicalResult noCudaKernel(Operation *op, const codegen::KernelDesc &desc,
                             const std::string &error) {
    if (options.hostOnly)
      return success();
    StringRef why(error);
    why.consume_front(desc.op + ": ");
    return op->emitError("no CUDA kernel for '")
           << desc.op << "': " << why
           << "; --host-only makes an artifact for the host backend only";
  }

  void assignArena() {
    std::vector<int32_t> ids;
    std::vector<LiveRange> live;
    uint64_t intermediate = 0;
    for (auto &[id, range] : ranges) {
      ids.push_back(id);
      live.push_back(range);
      intermediate += range.size;
    }
    ArenaPlan arena = planArena(live);
    for (size_t i = 0; i < ids.size(); ++i)
      plan.manifest.mutable_buffers(ids[i])->set_offset(arena.offsets[i]);
    plan.manifest.set_arena_bytes(arena.arenaBytes);
    plan.manifest.set_intermediate_bytes(intermediate);
  }
};

} // namespace

FailureOr<ExecutionPlan> buildExecutionPlan(ModuleOp module, const PlanOptions &options) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (!func) {
    for (auto f : module.getOps<func::FuncOp>()) {
      func = f;
      break;
    }
  }
  if (!func)
    return module.emitError("no function to plan");
  return PlanBuilder(options).build(func);
}

} // namespace effc

//===- effc-tblgen.cpp - tables generated from the eff dialect's ODS -------===//
//
// TableGen backends over dialects/eff/EffOps.td (like IREE's VMOpTableGen),
// so that op names, ONNX names, arity and kernel families are written once:
//   -gen-eff-op-list         X-macro list of every op and how it runs, for code
//                            without MLIR (the runtime's host kernels keep a
//                            checked-in copy, runtime/src/EffOpList.inc)
//   -gen-eff-op-build-table  the ONNX importer's table (ONNX name, arity,
//                            segments, results, the opset history of the ONNX
//                            op; it builds with create<OpTy>)
//   -gen-eff-cuda-families   the CUDA emitter family of every kernel op
//   -gen-eff-scalar-ops      the CUDA scalar recipe (`cudaScalar`) of every
//                            Eff_Elementwise op, for compiler/codegen/ScalarOps.cpp
//
// -gen-eff-op-list puts each op in exactly one list, by its ODS traits:
//   EFF_KERNEL_OP(Class, "eff.name")       runs as a kernel: host kernel + CUDA
//   EFF_REGION_OP(Class, "eff.name")       Eff_KernelRegion: one CUDA kernel; the
//                                          host backend runs its body's ops
//   EFF_COMPILE_TIME_OP(Class, "eff.name") Eff_CompileTimeOnly: never reaches a
//                                          kernel (constants, terminators)
//   EFF_COLLECTIVE_OP(Class, "eff.name")   Eff_Collective: a host kernel, no CUDA;
//                                          the runtime runs it through Collectives
// and the default of every defaulted attribute, so code without MLIR (host
// kernels, CUDA emitters) falls back to the value ODS declares:
//   EFF_ATTR_DEFAULT(Class, attr, value)   e.g. (LayerNormOp, epsilon, 1e-5)
//===----------------------------------------------------------------------===//
#include "mlir/TableGen/Operator.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TableGen/Error.h"
#include "llvm/TableGen/Main.h"
#include "llvm/TableGen/Record.h"

#include <string>
#include <vector>

namespace {

enum class Action { GenEffOpList, GenEffOpBuildTable, GenEffCudaFamilies, GenEffScalarOps };

llvm::cl::opt<Action>
    action(llvm::cl::desc("what to generate"),
           llvm::cl::values(clEnumValN(Action::GenEffOpList, "gen-eff-op-list",
                                       "X-macro list of the eff ops and how each runs"),
                            clEnumValN(Action::GenEffOpBuildTable, "gen-eff-op-build-table",
                                       "the ONNX importer's table: ONNX name, arity, builder"),
                            clEnumValN(Action::GenEffCudaFamilies, "gen-eff-cuda-families",
                                       "the CUDA emitter family of every op that runs as a kernel"),
                            clEnumValN(Action::GenEffScalarOps, "gen-eff-scalar-ops",
                                       "the CUDA scalar recipe of every elementwise op")));
llvm::cl::opt<std::string> dialectName("dialect", llvm::cl::desc("dialect whose ops to list"),
                                       llvm::cl::init("eff"));

// Trait names as NativeOpTrait spells them (see EffOps.td).
constexpr const char *kCompileTimeOnly = "::mlir::OpTrait::eff::CompileTimeOnly";
constexpr const char *kKernelRegion = "::mlir::OpTrait::eff::KernelRegion";
constexpr const char *kCollective = "::mlir::OpTrait::eff::Collective";
constexpr const char *kElementwise = "::mlir::OpTrait::eff::Elementwise";

/// The C++ literal of a defaulted attribute's default, or a fatal error for
/// a kind the X-macro list cannot carry (only integers, floats and strings:
/// the attribute kinds the importer makes from ONNX scalars).
std::string defaultLiteral(const llvm::Record &def, const mlir::tblgen::NamedAttribute &named) {
  llvm::StringRef storage = named.attr.getStorageType();
  if (!storage.ends_with("IntegerAttr") && !storage.ends_with("FloatAttr") &&
      !storage.ends_with("StringAttr"))
    llvm::PrintFatalError(def.getLoc(), "attribute '" + named.name +
                                            "': only integer, float and string defaults are "
                                            "listed in EffOpList.inc");
  return named.attr.getDefaultValue().trim().str();
}

bool emitOpList(llvm::raw_ostream &os, llvm::RecordKeeper &records) {
  struct Entry {
    std::string macro, cppClass, name;
    std::vector<std::pair<std::string, std::string>> defaults; // attr, literal
  };
  std::vector<Entry> entries;
  for (llvm::Record *def : records.getAllDerivedDefinitions("Op")) {
    mlir::tblgen::Operator op(def);
    if (op.getDialectName() != dialectName)
      continue;
    bool compileTimeOnly = op.getTrait(kCompileTimeOnly) != nullptr;
    bool kernelRegion = op.getTrait(kKernelRegion) != nullptr;
    bool collective = op.getTrait(kCollective) != nullptr;
    if (int(compileTimeOnly) + int(kernelRegion) + int(collective) > 1)
      llvm::PrintFatalError(def->getLoc(),
                            "an op is at most one of compile-time-only, kernel region, collective");
    const char *macro = compileTimeOnly ? "EFF_COMPILE_TIME_OP"
                        : kernelRegion  ? "EFF_REGION_OP"
                        : collective    ? "EFF_COLLECTIVE_OP"
                                        : "EFF_KERNEL_OP";
    Entry entry{macro, op.getCppClassName().str(), op.getOperationName(), {}};
    for (const mlir::tblgen::NamedAttribute &named : op.getAttributes())
      if (named.attr.hasDefaultValue() && !named.attr.getStorageType().ends_with("UnitAttr"))
        entry.defaults.emplace_back(named.name.str(), defaultLiteral(*def, named));
    entries.push_back(std::move(entry));
  }
  if (entries.empty())
    llvm::PrintFatalError("no ops of dialect '" + dialectName + "'");
  llvm::sort(entries, [](const Entry &a, const Entry &b) { return a.name < b.name; });

  os << "// Generated by effc-tblgen -gen-eff-op-list from dialects/eff/EffOps.td.\n"
        "// Do not edit: build the effc-op-list target and copy\n"
        "// build/dialects/eff/EffOpList.inc here (ctest eff-op-list-up-to-date).\n"
        "//\n"
        "// EFF_KERNEL_OP(Class, \"eff.name\"): has a host kernel and a CUDA emitter.\n"
        "// EFF_REGION_OP(Class, \"eff.name\"): one CUDA kernel; the host runs its body.\n"
        "// EFF_COMPILE_TIME_OP(Class, \"eff.name\"): never reaches a kernel.\n"
        "// EFF_COLLECTIVE_OP(Class, \"eff.name\"): a host kernel, no CUDA emitter;\n"
        "// on several devices the runtime runs it through Collectives.h.\n"
        "// EFF_ATTR_DEFAULT(Class, attr, value): the ODS default of a defaulted\n"
        "// attribute (an integer, float or string literal).\n"
        "// Define the macros you need before including; the rest expand to nothing.\n";
  for (const char *macro :
       {"EFF_KERNEL_OP", "EFF_REGION_OP", "EFF_COMPILE_TIME_OP", "EFF_COLLECTIVE_OP"})
    os << "#ifndef " << macro << "\n#define " << macro << "(CLASS, NAME)\n#endif\n";
  os << "#ifndef EFF_ATTR_DEFAULT\n#define EFF_ATTR_DEFAULT(CLASS, ATTR, VALUE)\n#endif\n";
  for (const Entry &e : entries)
    os << e.macro << "(" << e.cppClass << ", \"" << e.name << "\")\n";
  for (const Entry &e : entries)
    for (const auto &[attr, value] : e.defaults)
      os << "EFF_ATTR_DEFAULT(" << e.cppClass << ", " << attr << ", " << value << ")\n";
  for (const char *macro : {"EFF_KERNEL_OP", "EFF_REGION_OP", "EFF_COMPILE_TIME_OP",
                            "EFF_COLLECTIVE_OP", "EFF_ATTR_DEFAULT"})
    os << "#undef " << macro << "\n";
  return false;
}

/// The ONNX op an eff op imports: its `onnxName` when set ("" for none), else
/// its C++ class without "Op" (AddOp <- Add, GatherNDOp <- GatherND).
std::string onnxNameOf(const mlir::tblgen::Operator &op) {
  const llvm::Record &def = op.getDef();
  if (!def.getValue("onnxName"))
    return ""; // not an Eff_Op (eff.fusion, eff.yield)
  if (!def.isValueUnset("onnxName"))
    return def.getValueAsString("onnxName").str();
  llvm::StringRef cls = op.getCppClassName();
  cls.consume_back("Op");
  return cls.str();
}

bool emitBuildTable(llvm::raw_ostream &os, llvm::RecordKeeper &records) {
  os << "// Generated by effc-tblgen -gen-eff-op-build-table from dialects/eff/EffOps.td.\n"
        "// EFF_BUILD_OP(Class, \"eff.name\", \"OnnxName\" or \"\", minOperands,\n"
        "//              maxOperands (-1: any), segments (AttrSizedOperandSegments: its\n"
        "//              operand groups, else 0), numResults (-1: variadic),\n"
        "//              onnxSince (first default-domain opset of the ONNX op))\n"
        "// EFF_ONNX_ATTR_OPERAND(Class, \"eff.name\", \"attr\", operand, beforeOpset,\n"
        "//              required): below beforeOpset the ONNX op has attribute attr\n"
        "//              where the eff op takes operand `operand`.\n"
        "#ifndef EFF_BUILD_OP\n#error define EFF_BUILD_OP before including "
        "EffOpBuildTable.inc\n#endif\n"
        "#ifndef EFF_ONNX_ATTR_OPERAND\n"
        "#define EFF_ONNX_ATTR_OPERAND(CLASS, NAME, ATTR, OPERAND, BEFORE, REQUIRED)\n"
        "#endif\n";
  std::vector<llvm::Record *> defs;
  for (llvm::Record *def : records.getAllDerivedDefinitions("Op"))
    if (mlir::tblgen::Operator(def).getDialectName() == dialectName)
      defs.push_back(def);
  llvm::sort(defs, [](llvm::Record *a, llvm::Record *b) {
    return mlir::tblgen::Operator(a).getOperationName() <
           mlir::tblgen::Operator(b).getOperationName();
  });
  for (llvm::Record *def : defs) {
    mlir::tblgen::Operator op(def);
    int minOperands = 0, maxOperands = 0;
    for (const mlir::tblgen::NamedTypeConstraint &operand : op.getOperands()) {
      if (operand.isVariadic())
        maxOperands = -1;
      else if (maxOperands >= 0)
        ++maxOperands;
      if (!operand.isOptional() && !operand.isVariadic())
        ++minOperands;
    }
    bool segmented = op.getTrait("::mlir::OpTrait::AttrSizedOperandSegments") != nullptr;
    int numResults = op.getNumVariableLengthResults() ? -1 : op.getNumResults();
    os << "EFF_BUILD_OP(" << op.getCppClassName() << ", \"" << op.getOperationName() << "\", \""
       << onnxNameOf(op) << "\", " << minOperands << ", " << maxOperands << ", "
       << (segmented ? op.getNumOperands() : 0) << ", " << numResults << ", "
       << (def->getValue("onnxSince") ? def->getValueAsInt("onnxSince") : 1) << ")\n";
    if (!def->getValue("onnxAttrOperands"))
      continue;
    for (const llvm::Record *moved : def->getValueAsListOfDefs("onnxAttrOperands")) {
      int64_t operand = moved->getValueAsInt("operand");
      if (operand < 0 || operand >= int64_t(op.getNumOperands()))
        llvm::PrintFatalError(def->getLoc(), "onnxAttrOperands: " + op.getOperationName() +
                                                 " has no operand " + std::to_string(operand));
      os << "EFF_ONNX_ATTR_OPERAND(" << op.getCppClassName() << ", \"" << op.getOperationName()
         << "\", \"" << moved->getValueAsString("attr") << "\", " << operand << ", "
         << moved->getValueAsInt("before") << ", "
         << (moved->getValueAsBit("required") ? "true" : "false") << ")\n";
    }
  }
  os << "#undef EFF_BUILD_OP\n#undef EFF_ONNX_ATTR_OPERAND\n";
  return false;
}

/// The dialect's op definitions, sorted by op name.
std::vector<llvm::Record *> sortedOps(llvm::RecordKeeper &records) {
  std::vector<llvm::Record *> defs;
  for (llvm::Record *def : records.getAllDerivedDefinitions("Op"))
    if (mlir::tblgen::Operator(def).getDialectName() == dialectName)
      defs.push_back(def);
  llvm::sort(defs, [](llvm::Record *a, llvm::Record *b) {
    return mlir::tblgen::Operator(a).getOperationName() <
           mlir::tblgen::Operator(b).getOperationName();
  });
  return defs;
}

bool emitCudaFamilies(llvm::raw_ostream &os, llvm::RecordKeeper &records) {
  os << "// Generated by effc-tblgen -gen-eff-cuda-families from dialects/eff/EffOps.td.\n"
        "// EFF_CUDA_OP(Family, Class, \"eff.name\"): emitted by emit<Family>.\n"
        "#ifndef EFF_CUDA_OP\n#error define EFF_CUDA_OP before including "
        "EffCudaFamilies.inc\n#endif\n";
  for (llvm::Record *def : sortedOps(records)) {
    mlir::tblgen::Operator op(def);
    std::string family;
    if (def->getValue("cudaFamily"))
      family = def->getValueAsString("cudaFamily").str();
    bool compileTimeOnly = op.getTrait(kCompileTimeOnly) != nullptr;
    bool collective = op.getTrait(kCollective) != nullptr;
    if (compileTimeOnly || collective) {
      if (!family.empty())
        llvm::PrintFatalError(def->getLoc(),
                              "a compile-time-only or collective op has no CUDA family");
      continue;
    }
    if (family.empty())
      llvm::PrintFatalError(def->getLoc(), op.getOperationName() +
                                               " runs as a kernel: set its cudaFamily (or mark it "
                                               "Eff_CompileTimeOnly)");
    os << "EFF_CUDA_OP(" << family << ", " << op.getCppClassName() << ", \""
       << op.getOperationName() << "\")\n";
  }
  os << "#undef EFF_CUDA_OP\n";
  return false;
}

/// One table initializer per Eff_Elementwise op: `{EffOp::Class, recipe},`
/// where the recipe is the op's ODS `cudaScalar` (a C++ expression over the
/// vocabulary of compiler/codegen/ScalarRecipes.h). Not an X-macro: a recipe
/// may contain commas.
bool emitScalarOps(llvm::raw_ostream &os, llvm::RecordKeeper &records) {
  os << "// Generated by effc-tblgen -gen-eff-scalar-ops from dialects/eff/EffOps.td.\n"
        "// {EffOp::Class, recipe} per Eff_Elementwise op, the recipe being its ODS\n"
        "// cudaScalar; included inside the table initializer of ScalarOps.cpp.\n";
  for (llvm::Record *def : sortedOps(records)) {
    mlir::tblgen::Operator op(def);
    bool elementwise = op.getTrait(kElementwise) != nullptr;
    bool hasRecipe = def->getValue("cudaScalar") && !def->isValueUnset("cudaScalar") &&
                     !def->getValueAsString("cudaScalar").trim().empty();
    if (elementwise != hasRecipe)
      llvm::PrintFatalError(
          def->getLoc(), op.getOperationName() +
                             (elementwise ? " is Eff_Elementwise: set its cudaScalar recipe"
                                          : " has a cudaScalar recipe but is not Eff_Elementwise"));
    if (!elementwise)
      continue;
    os << "{::effc::EffOp::" << op.getCppClassName() << ", "
       << def->getValueAsString("cudaScalar").trim() << "},\n";
  }
  return false;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(argc, argv);
  return llvm::TableGenMain(argv[0], [](llvm::raw_ostream &os, llvm::RecordKeeper &records) {
    switch (action) {
    case Action::GenEffOpList:
      return emitOpList(os, records);
    case Action::GenEffOpBuildTable:
      return emitBuildTable(os, records);
    case Action::GenEffCudaFamilies:
      return emitCudaFamilies(os, records);
    case Action::GenEffScalarOps:
      return emitScalarOps(os, records);
    }
    return true;
  });
}

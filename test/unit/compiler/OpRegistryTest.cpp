// Every op of the eff dialect is accounted for, in both directions: an op
// that runs as a kernel has a host kernel and a CUDA emitter; an
// Eff_KernelRegion op (eff.fusion) has a CUDA emitter and no host kernel (the
// host backend runs its body); an Eff_Collective op (eff.all_reduce) has a
// host kernel and no CUDA emitter (the runtime runs it through
// Collectives.h); an Eff_CompileTimeOnly op has neither. Every host kernel and
// every CUDA emitter belongs to such an op, and the runtime's generated op
// list (EffOpList.inc) matches the dialect.
#include "EffOp.h"
#include "compiler/codegen/KernelEmitter.h"
#include "compiler/codegen/ScalarOps.h"
#include "dialects/eff/EffDialect.h"
#include "dialects/eff/EffOps.h"
#include "host/HostKernels.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"

#include <gtest/gtest.h>

#include <iterator>
#include <optional>
#include <set>
#include <string>

namespace {

enum class Runs { Kernel, Region, CompileTimeOnly, Collective };

std::optional<Runs> runsOf(mlir::MLIRContext &ctx, const std::string &name) {
  std::optional<mlir::RegisteredOperationName> op =
      mlir::RegisteredOperationName::lookup(name, &ctx);
  if (!op || op->getDialectNamespace() != "eff")
    return std::nullopt;
  if (op->hasTrait<mlir::OpTrait::eff::CompileTimeOnly>())
    return Runs::CompileTimeOnly;
  if (op->hasTrait<mlir::OpTrait::eff::KernelRegion>())
    return Runs::Region;
  if (op->hasTrait<mlir::OpTrait::eff::Collective>())
    return Runs::Collective;
  return Runs::Kernel;
}

class OpRegistryTest : public ::testing::Test {
protected:
  OpRegistryTest() { ctx.loadDialect<mlir::eff::EffDialect>(); }
  std::vector<std::string> effOps() {
    std::vector<std::string> ops;
    for (mlir::RegisteredOperationName op : ctx.getRegisteredOperations())
      if (op.getDialectNamespace() == "eff")
        ops.push_back(op.getStringRef().str());
    return ops;
  }
  mlir::MLIRContext ctx;
};

TEST_F(OpRegistryTest, EveryDialectOpHasItsKernelsOrIsCompileTimeOnly) {
  std::vector<std::string> ops = effOps();
  ASSERT_GT(ops.size(), 60u);
  for (const std::string &op : ops) {
    bool host = effc::host::hasKernel(op), cuda = effc::codegen::hasCudaEmitter(op);
    switch (*runsOf(ctx, op)) {
    case Runs::Kernel:
      EXPECT_TRUE(host) << op << " has no host kernel (runtime/src/host)";
      EXPECT_TRUE(cuda) << op << " has no CUDA emitter (compiler/codegen/KernelEmitter.cpp)";
      break;
    case Runs::Region:
      EXPECT_FALSE(host) << op << " is a kernel region: the host runs its body";
      EXPECT_TRUE(cuda) << op << " has no CUDA emitter";
      break;
    case Runs::Collective:
      EXPECT_TRUE(host) << op << " has no host kernel (its one-process reference)";
      EXPECT_FALSE(cuda) << op << " is a collective: the runtime runs it, no CUDA emitter";
      break;
    case Runs::CompileTimeOnly:
      EXPECT_FALSE(host) << op << " is compile-time-only but has a host kernel";
      EXPECT_FALSE(cuda) << op << " is compile-time-only but has a CUDA emitter";
      break;
    }
  }
}

TEST_F(OpRegistryTest, EveryKernelBelongsToADialectOp) {
  for (const std::string &op : effc::host::kernelNames())
    EXPECT_TRUE(runsOf(ctx, op) == Runs::Kernel || runsOf(ctx, op) == Runs::Collective)
        << op << ": host kernel of no eff kernel or collective op";
  for (const std::string &op : effc::codegen::cudaEmitterOps()) {
    std::optional<Runs> runs = runsOf(ctx, op);
    EXPECT_TRUE(runs == Runs::Kernel || runs == Runs::Region)
        << op << ": CUDA emitter of no eff kernel op";
  }
}

TEST_F(OpRegistryTest, GeneratedOpListMatchesTheDialect) {
  // EffOpList.inc is checked in for the MLIR-free runtime build; a stale
  // copy fails here (and in ctest eff-op-list-up-to-date).
  std::set<std::string> dialectKernels;
  for (const std::string &op : effOps())
    if (runsOf(ctx, op) == Runs::Kernel || runsOf(ctx, op) == Runs::Collective)
      dialectKernels.insert(op);
  std::vector<std::string> listed = effc::host::kernelOpNames();
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()), dialectKernels);
}

TEST_F(OpRegistryTest, ElementwiseOpsAndOnlyThoseHaveAScalarExpression) {
  // Fusion bodies are emitted per element from each op's scalar expression
  // (ODS cudaScalar): every op the fusion passes may fuse (Eff_Elementwise)
  // needs one, and no other op has one.
  int elementwise = 0;
  for (mlir::RegisteredOperationName op : ctx.getRegisteredOperations()) {
    if (op.getDialectNamespace() != "eff")
      continue;
    bool trait = op.hasTrait<mlir::OpTrait::eff::Elementwise>();
    elementwise += trait;
    EXPECT_EQ(trait, effc::codegen::hasScalarOp(op.getStringRef().str()))
        << op.getStringRef().str();
  }
  EXPECT_EQ(elementwise, 34);
}

TEST_F(OpRegistryTest, GeneratedOpIdsNameEveryRegisteredOp) {
  // EffOp.h (from the checked-in EffOpList.inc) has one id per dialect op.
  size_t ops = 0;
  for (mlir::RegisteredOperationName op : ctx.getRegisteredOperations()) {
    if (op.getDialectNamespace() != "eff")
      continue;
    ++ops;
    std::optional<effc::EffOp> id = effc::lookupEffOp(op.getStringRef());
    ASSERT_TRUE(id.has_value()) << op.getStringRef().str();
    EXPECT_EQ(std::string(effc::opName(*id)), op.getStringRef().str());
  }
  EXPECT_EQ(ops, std::size(effc::detail::kEffOps));
  EXPECT_FALSE(effc::lookupEffOp("eff.silu").has_value());
}

TEST_F(OpRegistryTest, GeneratedAttrDefaultsAreTheDialects) {
  // The runtime's op_defaults come from the same ODS attributes the dialect
  // fills in (populateDefaultAttrs): one norm epsilon for every layer.
  for (llvm::StringRef name :
       {mlir::eff::LayerNormOp::getOperationName(), mlir::eff::RMSNormOp::getOperationName()}) {
    mlir::NamedAttrList attrs;
    mlir::RegisteredOperationName::lookup(name, &ctx)->populateDefaultAttrs(attrs);
    auto epsilon = llvm::dyn_cast_or_null<mlir::FloatAttr>(attrs.get("epsilon"));
    ASSERT_TRUE(epsilon) << name.str();
    EXPECT_EQ(float(epsilon.getValueAsDouble()), float(effc::op_defaults::LayerNormOp_epsilon));
    EXPECT_EQ(float(epsilon.getValueAsDouble()), float(effc::op_defaults::RMSNormOp_epsilon));
  }
  EXPECT_EQ(std::string(effc::op_defaults::GeluOp_approximate), "none");
}

} // namespace

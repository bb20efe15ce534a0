//===- KernelDesc.h - what the CUDA emitters see of one kernel op -*- C++ -*-===//
//
// The emitters work on this plain description, not on MLIR: every shape is
// static, shape-like operands that are constants carry their values, and the
// attributes are the host kernels' map (same names and meaning). This keeps
// emission testable without building IR and identical for any front end.
//
#ifndef EFFC_COMPILER_CODEGEN_KERNELDESC_H
#define EFFC_COMPILER_CODEGEN_KERNELDESC_H

#include "EffOp.h"
#include "compiler/codegen/core/Extent.h"
#include "effc/DType.h"
#include "host/HostKernels.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace effc::codegen {

struct TensorDesc {
  DType dtype = DType::UNDEFINED;
  /// The extents; with bounded dims, their largest values (what the plan
  /// allocates).
  std::vector<int64_t> shape;
  /// Per dim, its extent as an expression of the model's dims when any dim is
  /// symbolic (`--dim past=0..255`); empty for a static shape.
  std::vector<Extent> symShape;
  /// False for an absent optional input (the kernel gets nullptr).
  bool present = true;
  /// Values of an integer operand known at compile time (axes, K, starts...).
  std::optional<std::vector<int64_t>> constInts;
  /// > 0: a 4-D [B, H, rows, D] view of session state (effc --kv-state)
  /// whose [b, h] slices are `capacity` rows apart; only eff.kv_append and
  /// the k/v of attention kernels with runtime extents read or write one.
  int64_t capacity = 0;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  int64_t rank() const { return int64_t(shape.size()); }
  bool symbolic() const { return !symShape.empty(); }
  /// The extents as kernels see them: symShape, else the static shape.
  std::vector<Extent> extents() const { return symbolic() ? symShape : toExtents(shape); }
  Extent elements() const {
    Extent n = 1;
    for (const Extent &d : extents())
      n *= d;
    return n;
  }
};

struct FusedOp;

/// effc --gemm=auto|mma|wgmma|tma. Auto: on sm_90a the TMA wgmma kernel
/// where it takes the GEMM, else the cp.async wgmma kernel, else mma.sync;
/// elsewhere mma.sync. Mma forces mma.sync; Wgmma the cp.async wgmma kernel
/// (sm_90a), Tma the TMA one (sm_90a): each falls back (a --remarks line
/// says why) where it cannot take the GEMM.
enum class GemmKernelChoice { Auto, Mma, Wgmma, Tma };

struct KernelDesc {
  std::string op;   // an op name of EffOp.h; eff.fusion has attrs["kind"], body
  std::string name; // the __global__ function's name, "k12_add"
  host::Attrs attrs;
  std::vector<TensorDesc> inputs; // kernel-input order, absent = !present
  std::vector<TensorDesc> outputs;
  /// eff.fusion: the fused ops in order over value indices (0..inputs-1 are
  /// the kernel inputs, then each body op's results in order, as in the
  /// artifact's Kernel.body), and the value index of each output.
  std::vector<FusedOp> body;
  std::vector<int> bodyOutputs;
  /// The artifact targets sm_90a only: emitters may use Hopper's wgmma.
  bool sm90a = false;
  /// effc --gemm: which tensor-core GEMM kernel 16-bit GEMMs get.
  GemmKernelChoice gemm = GemmKernelChoice::Auto;
  /// effc --decode-gemv: the decode GEMV variant preferred ("" the default).
  std::string decodeGemv;

  int64_t intAttr(const std::string &key, int64_t dflt) const;
  double floatAttr(const std::string &key, double dflt) const;
  std::string stringAttr(const std::string &key, const std::string &dflt) const;
  std::optional<std::vector<int64_t>> intsAttr(const std::string &key) const;
  bool hasInput(size_t i) const { return i < inputs.size() && inputs[i].present; }
  /// The op's generated id, which emitters dispatch on; nullopt only for a
  /// name the dialect lacks.
  std::optional<EffOp> opId() const { return lookupEffOp(op); }
  bool is(EffOp id) const { return op == opName(id); }
  /// A tensor has a symbolic extent: the kernel takes the trailing
  /// `const long long* effc_dims` argument (the dims' values of the run).
  bool usesDims() const;
};

/// One op of a fused body: described like a kernel op of its own (op,
/// attrs, operand/result dtypes and shapes; `name` unused), plus where its
/// operands come from.
struct FusedOp {
  KernelDesc desc;
  std::vector<int> operands; // value index per operand slot; -1 = absent
};

/// A grid dim that follows runtime extents (artifact::GridExpr): at a run's
/// dims, clamp(ceil(count / perBlock), 1, cap) blocks; LaunchDims::grid has
/// its value at the upper bounds.
struct RuntimeGrid {
  int axis = 0;
  Extent count;
  int64_t perBlock = 1;
  int64_t cap = 1;
};

/// Launch geometry baked at compile time (mirrors artifact::Launch).
struct LaunchDims {
  uint32_t grid[3] = {1, 1, 1};
  uint32_t block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0; // dynamic shared memory
  /// Grid dims that shrink with the run's dims (kernels with runtime extents).
  std::vector<RuntimeGrid> runtimeGrid;
  /// Adds a runtime grid dim unless `count` is a constant or the cap 1.
  void followRuntime(int axis, const Extent &count, int64_t perBlock, int64_t cap);
};

/// A CUDA tensor map (CUtensorMap) that a kernel takes by value after its
/// pointer arguments (and effc_dims): cuTensorMapEncodeTiled's parameters
/// over the device address of kernel argument `arg` (inputs, then outputs),
/// which the runtime encodes (artifact::TensorMap). Enum values are cuda.h's.
struct TensorMapDesc {
  int arg = 0;
  DType dtype = DType::BFLOAT16;
  std::vector<uint64_t> dims;    ///< elements, innermost first (rank = size)
  std::vector<uint64_t> strides; ///< bytes, of dims 1..rank-1
  std::vector<uint32_t> box;     ///< elements per copy, per dim
  std::vector<uint32_t> elementStrides;
  int interleave = 0;  ///< CU_TENSOR_MAP_INTERLEAVE_NONE
  int swizzle = 3;     ///< CU_TENSOR_MAP_SWIZZLE_128B
  int l2Promotion = 3; ///< CU_TENSOR_MAP_L2_PROMOTION_L2_256B
  int oobFill = 0;     ///< CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE (zeros)
};

/// What planning chooses for a kernel before any CUDA text exists: the
/// family's variant and its parameters (tiles, threads, items a loop covers),
/// the launch geometry, and the device files its text will need. A family's
/// instantiate function writes the text of exactly this choice and never
/// changes the launch.
struct KernelChoice {
  std::string family;  // the ODS cudaFamily ("Norm")
  std::string variant; // "warp-per-row", "mma", ...
  std::vector<std::pair<std::string, int64_t>> params;
  LaunchDims launch;
  bool needsAttentionPrelude = false;
  bool needsGemmPrelude = false;
  bool needsQuantPrelude = false;
  bool needsMoEPrelude = false;
  bool needsHopperPrelude = false;
  /// Tensor maps the kernel takes, in parameter order (the TMA GEMM's A, B).
  std::vector<TensorMapDesc> tensorMaps;
  /// Why the kernel is not the one its op would prefer (a GEMM off the TMA
  /// kernel on sm_90a, a forced --gemm that cannot apply): effc --remarks.
  std::string remark;

  /// The parameter's value; `dflt` when the choice has none of that name.
  int64_t param(const std::string &key, int64_t dflt = 0) const;
  void setParam(const std::string &key, int64_t value);
  /// Threads per block (the launch's block.x).
  int threads() const { return int(launch.block[0]); }
};
/// "Norm warp-per-row rows=32 length=768 grid=(4,1,1) block=(256,1,1) smem=0".
std::string toString(const KernelChoice &choice);

/// One generated kernel: its `EFFC_KERNEL` (extern "C" __global__) definition (without the
/// prelude) and how to launch it.
struct CudaKernel {
  std::string name;
  std::string source;
  LaunchDims launch;
  /// Uses the attention generators' device templates (attentionPrelude()),
  /// which the translation unit then emits once.
  bool needsAttentionPrelude = false;
  /// Uses the tensor-core GEMM's device code (tensorCoreGemmPrelude()), also
  /// emitted once per translation unit.
  bool needsGemmPrelude = false;
  /// Uses device/quant_linear.cuh (eff.quant_linear), emitted once.
  bool needsQuantPrelude = false;
  /// Uses device/hopper.cuh and wgmma_gemm.cuh (sm_90a GEMMs), emitted once.
  bool needsHopperPrelude = false;
  /// Uses device/moe.cuh (eff.moe), emitted once.
  bool needsMoEPrelude = false;
};

} // namespace effc::codegen

#endif

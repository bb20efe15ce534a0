//===- PagedKvWriteEmitter.cpp - eff.paged_kv_write -----------------------===//
//
// A config struct with the pool's and the new rows' sizes baked in, the
// element storage type and the int32/int64 slot_mapping read, then
// paged_kv_write<C> (device/paged_kv_write.cuh), whose text the kernel
// carries. One grid-stride loop over the larger of the pool and the new
// rows: the kernel moves only the new rows when its output is the cache
// itself, and writes the whole pool otherwise. The batch and new-row count
// may be runtime extents (batch()/seq() read effc_dims; sizes above are
// their upper bounds).
//
#include "compiler/codegen/Families.h"
#include "compiler/codegen/core/DTypeInfo.h"
#include "compiler/codegen/core/EmitterUtil.h"
#include "compiler/codegen/device/DeviceCode.h"

#include <algorithm>

namespace effc::codegen {
namespace {

bool checkWrite(const KernelDesc &d, std::string &error) {
  if (d.inputs.size() != 3 || d.outputs.size() != 1 || d.inputs[0].rank() != 4 ||
      d.inputs[1].rank() != 4 || d.inputs[2].rank() != 2 ||
      d.outputs[0].shape != d.inputs[0].shape || d.outputs[0].dtype != d.inputs[0].dtype) {
    error = d.op + ": expected cache [pages, H, page_size, D], new_rows [B, H, S, D], "
                   "slot_mapping [B, S] and an output of the cache's shape";
    return false;
  }
  const auto &c = d.inputs[0].shape, &r = d.inputs[1].shape, &m = d.inputs[2].shape;
  if (d.inputs[1].dtype != d.inputs[0].dtype || dtypeSize(d.inputs[0].dtype) == 0) {
    error = d.op + ": cache and new_rows must share one element type";
    return false;
  }
  if (d.inputs[2].dtype != DType::INT32 && d.inputs[2].dtype != DType::INT64) {
    error = d.op + ": slot_mapping must be int32 or int64";
    return false;
  }
  if (r[1] != c[1] || r[3] != c[3] || m[0] != r[0] || m[1] != r[2]) {
    error = d.op + ": new_rows and slot_mapping do not fit the cache";
    return false;
  }
  // Runtime extents: the batch and new rows (issue 14 S3); the pool is fixed.
  const std::vector<Extent> pool = d.inputs[0].extents(), rows = d.inputs[1].extents();
  for (const Extent &e : pool)
    if (!e.isConstant()) {
      error = d.op + ": the page pool's shape must be static";
      return false;
    }
  if (!rows[1].isConstant() || !rows[3].isConstant()) {
    error = d.op + ": new_rows' heads and head dim must be static";
    return false;
  }
  return true;
}

int64_t items(const KernelDesc &d) {
  return std::max(d.inputs[0].numElements(), d.inputs[1].numElements());
}

} // namespace

bool choosePagedKvWrite(const KernelDesc &d, KernelChoice &c, std::string &error) {
  if (!checkWrite(d, error))
    return false;
  c = gridStrideChoice("PagedKvWrite", items(d));
  return true;
}

bool instantiatePagedKvWrite(const KernelDesc &d, const KernelChoice &c, std::string &source,
                             std::string &error) {
  if (!checkWrite(d, error))
    return false;
  const auto &k = d.inputs[0].shape, &r = d.inputs[1].shape;
  const std::string cfg = "effc_paged_write_cfg_" + d.name;
  CudaWriter w;
  w.open("struct ", cfg, " {");
  w.line("static constexpr int NP = ", k[0], ", H = ", k[1], ", PS = ", k[2], ", D = ", k[3],
         ", B = ", r[0], ", S = ", r[2], ";");
  const std::vector<Extent> rows = d.inputs[1].extents();
  w.line("static __device__ __forceinline__ i64 batch(const long long *effc_dims) { return ",
         rows[0].text(), "; }");
  w.line("static __device__ __forceinline__ i64 seq(const long long *effc_dims) { return ",
         rows[2].text(), "; }");
  w.line("typedef ", storageType(d.inputs[0].dtype), " T;");
  w.line("static __device__ __forceinline__ i64 slot(const void *p, i64 i) { return (i64)((const ",
         storageType(d.inputs[2].dtype), "*)p)[i]; }");
  w.close("};");
  openKernel(w, d, c.threads());
  w.line("// ", r[0], "x", r[2], " new rows of ", k[1], " heads x ", k[3], " into a pool of ", k[0],
         " pages of ", k[2], " positions");
  w.line("effc_paged::paged_kv_write<", cfg, ">(in0, in1, in2, out0, ",
         d.usesDims() ? "effc_dims" : "nullptr", ");");
  w.close();
  source = std::string(deviceFile("paged_kv_write.cuh")) + "\n" + w.str();
  return true;
}

} // namespace effc::codegen

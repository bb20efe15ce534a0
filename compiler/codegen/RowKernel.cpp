//===- RowKernel.cpp - one warp or one block per row ----------------------===//
#include "compiler/codegen/RowKernel.h"

#include "compiler/codegen/core/EmitterUtil.h"

#include <algorithm>

namespace effc::codegen {

KernelChoice RowKernel::choose(const std::string &family, int64_t rows, int64_t rowLength) {
  // A warp per row keeps lanes busy up to ~1K elements; beyond that, or when
  // there are too few rows to fill the GPU with warps, use a block per row.
  bool blockPerRow = rowLength > 1024 || (rowLength > 256 && rows < 512);
  int blockThreads = rowLength >= 4096 ? 512 : 256;
  KernelChoice c;
  c.family = family;
  c.variant = blockPerRow ? "block-per-row" : "warp-per-row";
  c.setParam("rows", rows);
  c.setParam("length", rowLength);
  int64_t blocks = blockPerRow ? rows : ceilDiv(rows, kRowsPerBlock);
  c.launch.grid[0] = uint32_t(std::clamp<int64_t>(blocks, 1, 65535));
  c.launch.block[0] = uint32_t(blockPerRow ? blockThreads : 256);
  return c;
}

void RowKernel::followRuntimeRows(KernelChoice &c, const Extent &runtimeRows) {
  c.launch.followRuntime(0, runtimeRows, c.variant == "block-per-row" ? 1 : kRowsPerBlock,
                         c.launch.grid[0]);
}

RowKernel::RowKernel(const KernelChoice &choice)
    : rows(choice.param("rows")), blockPerRow(choice.variant == "block-per-row"),
      blockThreads(choice.threads()) {}

void RowKernel::openRowLoop(CudaWriter &w, const std::string &ix) const {
  openRowLoop(w, ix, Extent(rows));
}

void RowKernel::openRowLoop(CudaWriter &w, const std::string &ix, const Extent &n) const {
  // A runtime count is converted once to the index type (effc_dims holds
  // long long).
  const std::string bound = n.isConstant() ? n.text() : ix + n.text();
  if (blockPerRow) {
    w.line("const int lane = threadIdx.x;");
    w.open("for (", ix, " row = blockIdx.x; row < ", bound, "; row += gridDim.x) {");
  } else {
    w.line("const int lane = threadIdx.x & 31;");
    w.open("for (", ix, " row = ", ix, "(blockIdx.x) * ", kRowsPerBlock,
           " + (threadIdx.x >> 5); row < ", bound, "; row += ", ix, "(gridDim.x) * ", kRowsPerBlock,
           ") {");
  }
}

std::string RowKernel::reduce(const std::string &value, const std::string &op) const {
  return std::string(blockPerRow ? "block_reduce(" : "warp_reduce(") + value + ", " + op + "())";
}

void RowKernel::openLaneLoop(CudaWriter &w, const std::string &var, const std::string &ix,
                             int64_t n) const {
  w.open("for (", ix, " ", var, " = lane; ", var, " < ", n, "; ", var, " += ", width(), ") {");
}

} // namespace effc::codegen

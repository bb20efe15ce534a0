//===- TileChoice.cpp - block tiles for the mma.sync GEMM ------------------===//
//
// The rule (chooseTile): every candidate below is a fixed, benchmarked-shape
// configuration; pick the one with the least
//
//   cost = ceil(tiles / numSMs) * bm * bn / efficiency
//
// where tiles = batch * ceil(M/bm) * ceil(N/bn). The first factor is wave
// quantization (the busiest SM runs that many tiles), bm*bn charges the
// padding of edge tiles, and `efficiency` is the relative per-SM throughput
// of a tile: larger warp tiles reuse each ldmatrix'd fragment across more
// mma's and larger block tiles read less of A and B per FLOP. Ties go to the
// earlier (larger) candidate. So 4096-token GEMMs get 128x256 (or 256x128),
// 512-token ones 128x128 / 128x64 / 64x64 (more CTAs for 132 SMs), and
// decode shapes (M <= 32) 16x128 or 32x128 tiles, which waste no rows.
//
// The efficiency constants are first guesses, to be refit from
// `effc-gemm-bench --sweep` on the H100. Not modelled (next steps): split-K
// (decode and 512-token shapes with large K leave SMs idle: M*N gives fewer
// tiles than SMs), and occupancy beyond what the constants fold in.
//
#include "compiler/codegen/gemm/TensorCoreGemm.h"

#include <cstdio>

namespace effc::codegen::tcgemm {

namespace {

struct Candidate {
  TileConfig tile;
  double efficiency;
};

const std::vector<Candidate> &candidates(bool fp32) {
  // 16-bit operands: bk = 32 (64-byte k-rows), 4 stages; the largest tile
  // uses 96 KiB of shared memory, within sm_80's 163 KiB and sm_90's 227 KiB.
  static const std::vector<Candidate> half = {
      {{128, 256, 32, 2, 4, 4}, 1.00},
      {{256, 128, 32, 4, 2, 4}, 1.00},
      {{128, 128, 32, 2, 2, 4}, 0.90},
      {{128, 64, 32, 2, 2, 4}, 0.78},
      {{64, 128, 32, 2, 2, 4}, 0.78},
      {{64, 64, 32, 2, 2, 4}, 0.62},
      {{32, 128, 32, 1, 4, 4}, 0.50},
      {{16, 128, 64, 1, 4, 4}, 0.36},
      // bk = 64: half the barriers per FLOP; rated just under their bk = 32
      // twins until the H100 sweep says otherwise.
      {{128, 256, 64, 2, 4, 3}, 0.99},
      {{128, 128, 64, 2, 2, 3}, 0.89},
  };
  // fp32 operands (TF32): bk = 32 is 128-byte k-rows; 3 stages keep the
  // 128x256 tile at 144 KiB.
  static const std::vector<Candidate> single = {
      {{128, 256, 32, 2, 4, 3}, 1.00},
      {{256, 128, 32, 4, 2, 3}, 1.00},
      {{128, 128, 32, 2, 2, 3}, 0.90},
      {{128, 64, 32, 2, 2, 4}, 0.78},
      {{64, 128, 32, 2, 2, 4}, 0.78},
      {{64, 64, 32, 2, 2, 4}, 0.62},
      {{32, 128, 32, 1, 4, 4}, 0.50},
      // bk = 16: deeper pipeline in less shared memory.
      {{128, 256, 16, 2, 4, 4}, 0.99},
      {{128, 128, 16, 2, 2, 4}, 0.89},
  };
  return fp32 ? single : half;
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

} // namespace

std::string tileName(const TileConfig &t) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%dx%dx%d_w%dx%d_s%d", t.bm, t.bn, t.bk, t.warpsM, t.warpsN,
                t.stages);
  return buf;
}

std::vector<TileConfig> candidateTiles(DType operandType) {
  std::vector<TileConfig> out;
  for (const Candidate &c : candidates(operandType == DType::FLOAT32))
    out.push_back(c.tile);
  return out;
}

TileConfig chooseTile(const GemmSpec &s) {
  if (s.tile.bm > 0)
    return s.tile;
  const std::vector<Candidate> &list = candidates(s.aType == DType::FLOAT32);
  TileConfig best = list.front().tile;
  double bestCost = -1;
  int sms = s.numSMs > 0 ? s.numSMs : 132;
  for (const Candidate &c : list) {
    GemmSpec probe = s;
    probe.tile = c.tile;
    if (!unsupportedReason(probe).empty())
      continue; // e.g. fp32 layouts that need a wider tile
    int64_t tiles = s.batch() * ceilDiv(s.M, c.tile.bm) * ceilDiv(s.N, c.tile.bn);
    double cost =
        double(ceilDiv(tiles, sms)) * double(c.tile.bm) * double(c.tile.bn) / c.efficiency;
    if (bestCost < 0 || cost < bestCost) {
      bestCost = cost;
      best = c.tile;
    }
  }
  return best;
}

} // namespace effc::codegen::tcgemm

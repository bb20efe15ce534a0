//===- expert_exchange.cuh - MoE token exchange rows on the device --------===//
//
// The device side of eff.expert_dispatch / eff.expert_combine on the cuda
// backend (effc --expert-parallel=all-to-all, issue 20). The host reads each
// device's routing, computes which rows go where (runtime/src/host/
// MoEExchange.h, planExchange) and uploads the index lists; these kernels
// move the rows around Collectives::allToAllv:
//   effc_expert_gather_rows: dst row r = src row idx[r] (r < n), rows of
//     row_bytes bytes (token rows, routing rows, weight rows alike), the
//     send buffer of dispatch grouped by destination device;
//   effc_expert_combine_rows: out row t = the sum over j = 0, 1, ... of the
//     staged rows idx[t * N + j] (-1: none), fp32 in that order, rounded
//     once to out's dtype (the host kernel's order);
//   effc_expert_fill: the padding rows after what a device received.
//
// Not generated per model: the runtime compiles this file (with
// primitives.cuh before it) with NVRTC once per device and process
// (runtime/src/cuda/ExpertExchange.cpp).
//
#ifndef EFFC_DEVICE_EXPERT_EXCHANGE_CUH
#define EFFC_DEVICE_EXPERT_EXCHANGE_CUH

#include "primitives.cuh"

// One block per row (grid.x = n, any block size); 16-byte words where the
// row size and both pointers allow, bytes otherwise.
EFFC_KERNEL void effc_expert_gather_rows(const u8 *src, const i64 *idx, i64 n, i64 row_bytes,
                                         u8 *dst) {
  const i64 r = i64(blockIdx.x);
  if (r >= n)
    return;
  const u8 *from = src + idx[r] * row_bytes;
  u8 *to = dst + r * row_bytes;
  if (row_bytes % 16 == 0 && (u64(src) % 16) == 0 && (u64(dst) % 16) == 0) {
    const uint4 *f = (const uint4 *)from;
    uint4 *t = (uint4 *)to;
    for (i64 w = threadIdx.x; w < row_bytes / 16; w += blockDim.x)
      t[w] = f[w];
    return;
  }
  for (i64 b = threadIdx.x; b < row_bytes; b += blockDim.x)
    to[b] = from[b];
}

// grid.x = tokens, any block size: thread h of row t sums the staged rows
// of token t, device 0 first.
EFFC_KERNEL void effc_expert_combine_rows(const void *staged, const i64 *idx, i64 tokens,
                                          i64 devices, i64 H, int dtype, void *out) {
  const i64 t = i64(blockIdx.x);
  if (t >= tokens)
    return;
  for (i64 h = threadIdx.x; h < H; h += blockDim.x) {
    float acc = 0.f;
    for (i64 j = 0; j < devices; ++j) {
      const i64 row = idx[t * devices + j];
      if (row >= 0)
        acc += load_dtype(staged, row * H + h, dtype);
    }
    store_dtype(out, t * H + h, dtype, acc);
  }
}

// bytes [0, n) of dst = value (the padding rows after what a device
// received: x 0, experts 0xff.. = -1, weights 0); grid-stride.
EFFC_KERNEL void effc_expert_fill(u8 *dst, i64 n, int value) {
  for (i64 b = i64(blockIdx.x) * blockDim.x + threadIdx.x; b < n; b += i64(gridDim.x) * blockDim.x)
    dst[b] = u8(value);
}

#endif // EFFC_DEVICE_EXPERT_EXCHANGE_CUH

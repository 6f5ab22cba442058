// attention_math.cuh: the softmax arithmetic the attention kernels share.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace hkv::cuda {

// 2^x on the special function unit, denormal results flushed to zero (exp2f adds a fix-up for
// them around the same instruction; attention weights that small round to nothing anyway).
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Two fp32 values as the bf16 pair of one 32-bit mma operand register (lo in the low half).
__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

// A thread's two score rows (r and r + 8 of an mma tile) are spread over the 4 lanes of its quad:
// takes each row's tile maximum over the quad, moves it into the log2 domain (the scale is
// positive, so the raw scores' maximum is the scaled one's) and says whether either row grew by
// more than `slack` over its running maximum, which is when the kernels rescale.
__device__ __forceinline__ bool quad_max_grew(float (&tile_max)[2], const float (&row_max)[2], float scale_log2,
                                              float slack) {
  bool grew = false;
  #pragma unroll
  for (int r = 0; r < 2; r++) {
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
    tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
    tile_max[r] *= scale_log2;
    grew |= tile_max[r] > row_max[r] + slack;
  }
  return grew;
}

}  // namespace hkv::cuda

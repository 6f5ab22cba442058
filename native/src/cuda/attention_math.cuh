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

}  // namespace hkv::cuda

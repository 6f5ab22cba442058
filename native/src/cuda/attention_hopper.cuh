// attention_hopper.cuh: the prefill attention kernel for Hopper (sm_90a: wgmma), head size 128.
// Same contract as flash_prefill in attention.cuh, which selects it when it is available.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

namespace hkv::cuda {

// True when this build holds sm_90a code and the current device runs it (compute capability
// 9.0) and head_dim is 128; probed once per device.
bool flash_prefill_hopper_available(int head_dim);

void flash_prefill_hopper(const __nv_bfloat16 *q, const __nv_bfloat16 *k, const __nv_bfloat16 *v, __nv_bfloat16 *out,
                          int m, int c0, int n_heads, int n_kv_heads, cudaStream_t stream);

}  // namespace hkv::cuda

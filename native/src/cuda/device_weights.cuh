// device_weights.cuh: the model's weights in GPU memory, bf16 matrices (q/k/v and gate/up
// fused so that one product computes each), fp32 norms, biases and RoPE frequencies; one
// allocation for all of them.
#pragma once

#include <cuda_bf16.h>

#include <vector>

#include "cuda/device_buffer.cuh"
#include "model.h"

namespace hkv::cuda {

struct DeviceLayer {
  const __nv_bfloat16 *wqkv = nullptr;  // [q_dim + 2 kv_dim][hidden]
  const float *bqkv = nullptr;          // [q_dim + 2 kv_dim] or null
  const __nv_bfloat16 *wo = nullptr;    // [hidden][q_dim]
  const __nv_bfloat16 *wgu = nullptr;   // [2 intermediate][hidden]: gate rows, then up rows
  const __nv_bfloat16 *wdown = nullptr; // [hidden][intermediate]
  const float *attn_norm = nullptr;     // [hidden]
  const float *ffn_norm = nullptr;      // [hidden]
};

struct DeviceWeights {
  DeviceBuffer storage;
  const __nv_bfloat16 *embed = nullptr;    // [vocab][hidden]
  const __nv_bfloat16 *lm_head = nullptr;  // [vocab][hidden] (== embed when tied)
  const float *final_norm = nullptr;       // [hidden]
  const float *inv_freq = nullptr;         // [head_dim / 2]
  std::vector<DeviceLayer> layers;
  int64_t bytes = 0;
};

// Uploads the host fp32 weights of `model` to the current device. Throws OUT_OF_MEMORY
// naming the bytes needed when they do not fit.
void upload_weights(const LoadedModel &model, DeviceWeights &out);

}  // namespace hkv::cuda

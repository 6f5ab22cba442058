// compress.cuh: KV compression on the GPU, right after a layer's prefill: the SnapKV window
// scores with max pooling and group aggregation, then each cache head's top positions by one
// stable radix sort of the layer on (head, score descending), ties by position ascending.
// Selects what the CPU functions of compress/compress.h select (same formulas and
// tie-breaking), from device data.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "compress/compress.h"
#include "cuda/device_buffer.cuh"

namespace hkv::cuda {

class DeviceSelector {
 public:
  // Pooled scores [cache_heads][n_prompt - window] (device, valid until the next call) from
  // q_window [window][n_heads][head_dim] fp32 and keys [n_prompt][n_kv_heads][head_dim] bf16.
  const float *window_scores(const Config &cfg, const hkv_kv_params &kv, const float *q_window,
                             const __nv_bfloat16 *keys, int n_prompt, cudaStream_t stream);

  // Kept prefix positions per cache head of one layer, ascending (window not included), from
  // device pooled scores; synchronises the stream. Only the kept positions come back to the
  // host.
  std::vector<std::vector<int32_t>> select(const Config &cfg, const hkv_kv_params &kv, const CompressionPlan &plan,
                                           int layer, const float *pooled, int n_prompt, cudaStream_t stream);

 private:
  DeviceBuffer logits_, tile_partials_, row_stats_, mean_, pooled_;
  DeviceBuffer sort_keys_, sorted_keys_, sort_values_, sorted_values_, sort_temp_;
  DeviceBuffer counts_;            // Ada-SnapKV: each head's share of the layer's best scores
  DeviceBuffer offsets_, kept_;    // each head's start in kept_, the kept positions of all heads
};

}  // namespace hkv::cuda

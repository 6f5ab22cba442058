// sampling.cuh: picking tokens on the GPU from logits rows that stay there, so a decode step
// brings back B token ids instead of B x vocab floats. Greedy rows take an argmax per row;
// sampled rows follow pick_token (sampler.h) step for step: logits / temperature ranked by a
// stable segmented radix sort (value descending, token id ascending), top-k, softmax in
// float with double sums, the top-p cut and the inverse CDF at the host's uniform draw.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "cuda/device_buffer.cuh"
#include "sampler.h"

namespace hkv::cuda {

class DeviceSampler {
 public:
  // tokens[i] = pick_token(logits + rows[i] * vocab, vocab, draws[i]) for every i, all rows in
  // a few launches on `stream`; synchronises it (errors of earlier work on it surface here).
  void sample(const float *logits, const std::vector<int32_t> &rows, const std::vector<TokenDraw> &draws, int vocab,
              std::vector<int32_t> &tokens, cudaStream_t stream);

 private:
  DeviceBuffer params_;  // the rows' draws, the sampled rows and their segment offsets
  DeviceBuffer keys_, sorted_keys_, ids_, sorted_ids_, sort_temp_;
  DeviceBuffer tokens_;
};

}  // namespace hkv::cuda

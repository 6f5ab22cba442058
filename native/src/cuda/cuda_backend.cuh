// cuda_backend.cuh: the bf16 GPU forward pass, step for step the CPU backend's
// (cpu/cpu_backend.h): layer-major chunked prefill with the layer's full K/V in scratch,
// compression on the GPU right after each layer (only kept tokens are written to pages), and
// batched decode over the ragged per-head page lists. Logits stay on the GPU, one row per
// sequence slot; tokens are picked there (cuda/sampling.cuh) and only they come back.
#pragma once

#include <cuda_runtime.h>

#include <memory>
#include <vector>

#include "backend.h"
#include "cuda/blas.cuh"
#include "cuda/compress.cuh"
#include "cuda/device_buffer.cuh"
#include "cuda/device_weights.cuh"
#include "cuda/sampling.cuh"
#include "model.h"

namespace hkv::cuda {

class CudaBackend final : public Backend {
 public:
  // Bytes of one page: K and V of page_tokens tokens of one head, bf16.
  static int64_t page_bytes(const Config &cfg, int page_tokens) { return int64_t(2) * page_tokens * cfg.head_dim * 2; }

  CudaBackend(const Config &cfg, const DeviceWeights &weights, int device, int64_t n_pages, int page_tokens,
              int prefill_chunk, int max_sequences);
  ~CudaBackend() override;

  void prefill(Sequence &seq, PagePool &pages, hkv_progress_fn progress, void *user) override;
  void decode(const std::vector<Sequence *> &batch, PagePool &pages) override;
  void sample(const std::vector<Sequence *> &seqs, const std::vector<TokenDraw> &draws,
              std::vector<int32_t> &tokens) override;
  void read_logits(int32_t slot, float *out) const override;
  void copy_logits(int32_t src, int32_t dst) override;
  void copy_page(int32_t src, int32_t dst) override;

 private:
  // Activations of m tokens through one layer.
  struct Activations {
    DeviceBuffer xn, qkv, q, att, gu, mid;
    void grow(const Config &c, int m);
  };
  // The attention-free parts of a layer around `attend`, for m rows of the residual x.
  void attention_input(const DeviceLayer &lw, const float *x, int m);
  void attention_output_and_mlp(const DeviceLayer &lw, float *x, int m);
  void store_layer(Sequence &seq, PagePool &pages, int layer, int n);
  void scatter(const std::vector<int32_t> &rows, const std::vector<int32_t> &heads, const std::vector<int64_t> &dst,
               const __nv_bfloat16 *k, const __nv_bfloat16 *v);
  float *slot_logits(int32_t slot) const { return slot_logits_.as<float>() + (int64_t)slot * cfg_.vocab; }

  const Config &cfg_;
  const DeviceWeights &w_;
  int device_;
  int page_tokens_;
  // Prompt tokens per prefill chunk when the context asks for the default (0): 4096-row matrix
  // products run cuBLAS near its peak (docs/benchmarks.md: 32K prefill 6.8% faster than at 512);
  // 8192 gains another 1.3% for twice the activation scratch.
  static constexpr int kDefaultPrefillChunk = 4096;
  int prefill_chunk_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Blas> blas_;  // bound to stream_
  DeviceBuffer pages_;     // [n_pages][2][page_tokens][head_dim] bf16
  DeviceBuffer residual_;  // [tokens][hidden] fp32
  DeviceBuffer keys_, values_;  // [tokens][kv_dim] bf16: the layer's full K/V (prefill), the batch's (decode)
  DeviceBuffer q_window_;  // [window][q_dim] fp32
  DeviceBuffer ints_, longs_;  // per-call index uploads
  DeviceBuffer partial_;   // flash-decoding partial results
  DeviceBuffer batch_logits_;  // [batch][vocab] fp32: the decode step's lm_head output
  DeviceBuffer slot_logits_;   // [max_sequences][vocab] fp32: each slot's last logits
  Activations act_;
  DeviceSelector selector_;
  DeviceSampler sampler_;
};

}  // namespace hkv::cuda

#include "cuda/device_weights.cuh"

#include <algorithm>
#include <string>

#include "cuda/cuda_check.cuh"
#include "cuda/ops.cuh"
#include "rope.h"

namespace hkv::cuda {

namespace {

// A tensor to place: its host source rows and where they go.
struct Piece {
  const float *src;
  int64_t count;
  bool to_bf16;
  int64_t offset;  // byte offset in the allocation
};

class Layout {
 public:
  // Reserves `count` elements (bf16 or fp32) and returns their byte offset; 256-byte aligned.
  int64_t add(const float *src, int64_t count, bool to_bf16) {
    const int64_t offset = size_;
    pieces_.push_back({src, count, to_bf16, offset});
    size_ += (count * (to_bf16 ? 2 : 4) + 255) / 256 * 256;
    return offset;
  }
  // Consecutive sources laid out back to back (the fused matrices); returns the first offset.
  int64_t add_fused(std::initializer_list<std::pair<const float *, int64_t>> parts) {
    const int64_t first = size_;
    for (const auto &p : parts) {
      pieces_.push_back({p.first, p.second, true, size_});
      size_ += p.second * 2;
    }
    size_ = (size_ + 255) / 256 * 256;
    return first;
  }
  int64_t size() const { return size_; }
  const std::vector<Piece> &pieces() const { return pieces_; }

 private:
  int64_t size_ = 0;
  std::vector<Piece> pieces_;
};

}  // namespace

void upload_weights(const LoadedModel &model, DeviceWeights &out) {
  const Config &c = model.config;
  const Weights &w = model.weights;
  const int64_t H = c.hidden, Q = c.q_dim(), KV = c.kv_dim(), I = c.intermediate;
  Rope rope(c.rope, c.head_dim);

  Layout layout;
  const int64_t embed_at = layout.add(w.embed, c.vocab * H, true);
  const bool tied = w.lm_head == w.embed;
  const int64_t head_at = tied ? embed_at : layout.add(w.lm_head, c.vocab * H, true);
  const int64_t norm_at = layout.add(w.final_norm, H, false);
  const int64_t freq_at = layout.add(rope.inv_freq().data(), c.head_dim / 2, false);
  struct Offsets {
    int64_t wqkv, bqkv = -1, wo, wgu, wdown, attn_norm, ffn_norm;
  };
  std::vector<Offsets> at(c.n_layers);
  std::vector<std::vector<float>> biases(c.n_layers);  // fused q|k|v biases, kept until uploaded
  for (int l = 0; l < c.n_layers; l++) {
    const LayerWeights &lw = w.layers[l];
    at[l].wqkv = layout.add_fused({{lw.wq, Q * H}, {lw.wk, KV * H}, {lw.wv, KV * H}});
    if (lw.bq || lw.bk || lw.bv) {
      auto &b = biases[l];
      b.assign(Q + 2 * KV, 0.f);
      if (lw.bq) std::copy(lw.bq, lw.bq + Q, b.begin());
      if (lw.bk) std::copy(lw.bk, lw.bk + KV, b.begin() + Q);
      if (lw.bv) std::copy(lw.bv, lw.bv + KV, b.begin() + Q + KV);
      at[l].bqkv = layout.add(b.data(), (int64_t)b.size(), false);
    }
    at[l].wo = layout.add(lw.wo, H * Q, true);
    at[l].wgu = layout.add_fused({{lw.w_gate, I * H}, {lw.w_up, I * H}});
    at[l].wdown = layout.add(lw.w_down, H * I, true);
    at[l].attn_norm = layout.add(lw.attn_norm, H, false);
    at[l].ffn_norm = layout.add(lw.ffn_norm, H, false);
  }

  size_t free_bytes = 0, total_bytes = 0;
  check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  if ((size_t)layout.size() > free_bytes)
    throw Error(HKV_ERR_OUT_OF_MEMORY, "CUDA: the model's bf16 weights need " + std::to_string(layout.size()) +
                                           " bytes of GPU memory, " + std::to_string(free_bytes) + " are free");
  out.storage.grow((size_t)layout.size(), "model weights");
  out.bytes = layout.size();
  char *base = out.storage.as<char>();

  // fp32 pieces go up through a device staging buffer and are converted there.
  const int64_t stage_elems = int64_t(32) << 20;
  DeviceBuffer stage(sizeof(float) * stage_elems, "weight upload staging");
  for (const Piece &p : layout.pieces()) {
    if (!p.to_bf16) {
      check(cudaMemcpy(base + p.offset, p.src, sizeof(float) * p.count, cudaMemcpyHostToDevice), "weight upload");
      continue;
    }
    for (int64_t i = 0; i < p.count; i += stage_elems) {
      const int64_t n = std::min(stage_elems, p.count - i);
      check(cudaMemcpy(stage.as<float>(), p.src + i, sizeof(float) * n, cudaMemcpyHostToDevice), "weight upload");
      to_bf16(reinterpret_cast<bf16 *>(base + p.offset) + i, stage.as<float>(), n, 0);
    }
  }
  check(cudaDeviceSynchronize(), "weight upload");

  auto bf = [&](int64_t off) { return reinterpret_cast<const bf16 *>(base + off); };
  auto f32 = [&](int64_t off) { return reinterpret_cast<const float *>(base + off); };
  out.embed = bf(embed_at);
  out.lm_head = bf(head_at);
  out.final_norm = f32(norm_at);
  out.inv_freq = f32(freq_at);
  out.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; l++) {
    DeviceLayer &d = out.layers[l];
    d.wqkv = bf(at[l].wqkv);
    d.bqkv = at[l].bqkv >= 0 ? f32(at[l].bqkv) : nullptr;
    d.wo = bf(at[l].wo);
    d.wgu = bf(at[l].wgu);
    d.wdown = bf(at[l].wdown);
    d.attn_norm = f32(at[l].attn_norm);
    d.ffn_norm = f32(at[l].ffn_norm);
  }
}

}  // namespace hkv::cuda

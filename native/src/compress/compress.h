// compress.h: KV-cache compression after prefill (SnapKV rule, per-head budgets of HeadKV and
// the paper's baselines). Pure functions over plain arrays: the context feeds them one layer at
// a time, right after that layer's prefill, and writes only the kept tokens into pages.
#pragma once

#include <cstdint>
#include <vector>

#include "headkv.h"
#include "model.h"

namespace hkv {

// Number of cache heads per layer for a granularity: n_kv_heads or n_heads.
int cache_heads_for(const Config &cfg, hkv_kv_granularity granularity);

// Per-head budgets for one sequence, decided before prefill from the prompt length.
struct CompressionPlan {
  bool compress = false;            // false: keep every prompt token (full, or prompt too short)
  int cache_heads = 0;              // per layer
  int window = 0;                   // alpha: last prompt tokens, always kept
  std::vector<int32_t> caps;        // [n_layers * cache_heads] selected prefix tokens per head,
                                    // window excluded (ada-snapkv: per-layer totals are used)
  // Invariants: without compression every head keeps the prompt (caps + window == n_prompt;
  // window 0 for full). A cap may exceed the prefix (headkv with cap_at_prompt 0, as in the
  // reference): that head keeps the whole prefix. Ada-SnapKV holds the uniform share b per head;
  // its selection rounds the reference's count * 0.8 + floor per head, so a layer really keeps
  // at most cache_heads * (b + 0.4) prefix tokens, and every head at least int(0.2 * b).
};

// Validates the parameters (throws hkv::Error INVALID_ARGUMENT naming the field) and computes
// the budgets. n_prompt is the prompt length.
CompressionPlan plan_compression(const Config &cfg, const hkv_kv_params &kv, int n_prompt);

// Window attention scores for one layer, pooled, aggregated to cache heads. cfg.sliding_window
// (> 0: the layer's window) masks what each window query sees, as in the model's attention.
//   q_window: [window, n_heads, head_dim] post-RoPE queries of the last `window` prompt tokens
//   keys:     [n_prompt, n_kv_heads, head_dim] post-RoPE keys of the layer
//   out:      [cache_heads, n_prompt - window] pooled scores of the prefix positions
void window_scores(const Config &cfg, const hkv_kv_params &kv, const float *q_window, const float *keys,
                   int n_prompt, std::vector<float> &out);

// Kept prefix positions per cache head of one layer (ascending), from the pooled scores.
// Ties break by position, lower first. The window positions are NOT included (always kept).
std::vector<std::vector<int32_t>> select_positions(const Config &cfg, const hkv_kv_params &kv,
                                                   const CompressionPlan &plan, int layer,
                                                   const std::vector<float> &pooled, int n_prompt);

}  // namespace hkv

#include "cuda/compress.cuh"

#include <algorithm>
#include <cmath>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <string>

#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

namespace {

using bf16 = __nv_bfloat16;

// Ada-SnapKV's floor, as compress/select.cpp.
constexpr float kAdaFloorRatio = 0.2f;

// logits[h][i][j] = q_window[i][h] . keys[j][h / group] / sqrt(d): one warp per (h, j).
__global__ void window_logits_kernel(float *logits, const float *q_window, const bf16 *keys, int n, int window,
                                     int n_heads, int n_kv_heads, int d) {
  const int64_t w = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
  if (w >= (int64_t)n_heads * n) return;
  const int h = (int)(w / n), j = (int)(w % n), lane = threadIdx.x % 32;
  const int g = h / (n_heads / n_kv_heads);
  const bf16 *key = keys + ((int64_t)j * n_kv_heads + g) * d;
  const float scale = sqrtf((float)d);
  for (int i = 0; i < window; i++) {
    const float *q = q_window + ((int64_t)i * n_heads + h) * d;
    float s = 0.f;
    for (int e = lane; e < d; e += 32) s += q[e] * __bfloat162float(key[e]);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) logits[((int64_t)h * window + i) * n + j] = s / scale;
  }
}

// Softmax max and sum of each row (h, i) over the keys window query i sees: [0, prefix + i].
__global__ void row_stats_kernel(float *stats, const float *logits, int n, int window) {
  __shared__ float shared[32];
  const int row = blockIdx.x, i = row % window;
  const int visible = n - window + i + 1;
  const float *x = logits + (int64_t)row * n;
  float m = -INFINITY;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) m = fmaxf(m, x[j]);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = m;
  __syncthreads();
  m = -INFINITY;
  for (int w = 0; w < (int)(blockDim.x / 32); w++) m = fmaxf(m, shared[w]);
  __syncthreads();
  float s = 0.f;
  for (int j = threadIdx.x; j < visible; j += blockDim.x) s += expf(x[j] - m);
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = 0.f;
    for (int w = 0; w < (int)(blockDim.x / 32); w++) total += shared[w];
    stats[2 * row] = m;
    stats[2 * row + 1] = total;
  }
}

// mean[h][j] = average over window queries of their attention weight on prefix position j.
__global__ void window_mean_kernel(float *mean, const float *logits, const float *stats, int n, int window,
                                   int64_t total) {
  const int prefix = n - window;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t h = idx / prefix;
    const int j = (int)(idx % prefix);
    float acc = 0.f;
    for (int i = 0; i < window; i++) {
      const int64_t row = h * window + i;
      acc += expf(logits[row * n + j] - stats[2 * row]) / stats[2 * row + 1];
    }
    mean[idx] = acc / (float)window;
  }
}

// max_pool1d(kernel, stride 1, padding kernel / 2), then the group's aggregation for
// kv-head granularity: out[c][j].
__global__ void pool_aggregate_kernel(float *out, const float *mean, int prefix, int kernel, int group, int per_cache_head,
                                      int aggregation_max, int64_t total) {
  const int half = kernel / 2;
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = idx / prefix;
    const int j = (int)(idx % prefix);
    const int lo = max(0, j - half), hi = min(prefix - 1, j + half);
    float v = 0.f;
    for (int g = 0; g < per_cache_head; g++) {
      const float *row = mean + (c * per_cache_head + g) * prefix;
      float m = row[lo];
      for (int t = lo + 1; t <= hi; t++) m = fmaxf(m, row[t]);
      if (g == 0) v = m;
      else v = aggregation_max ? fmaxf(v, m) : v + m;
    }
    if (per_cache_head > 1 && !aggregation_max) v /= (float)group;
    out[idx] = v;
  }
}

// Sort keys and values: NaN ranks below every number and -0 equals +0, as compress/select.cpp
// compares; values are positions within the head (or global indices for Ada-SnapKV).
__global__ void rank_keys_kernel(float *keys, int32_t *values, const float *scores, int prefix, bool global_index,
                                 int64_t total) {
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
    const float s = scores[idx];
    keys[idx] = isnan(s) ? -INFINITY : s + 0.0f;
    values[idx] = global_index ? (int32_t)idx : (int32_t)(idx % prefix);
  }
}

__global__ void segment_offsets_kernel(int32_t *offsets, int heads, int prefix) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= heads) offsets[i] = i * prefix;
}

__global__ void count_heads_kernel(int32_t *counts, const int32_t *order, int64_t total, int prefix) {
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x)
    atomicAdd(&counts[order[k] / prefix], 1);
}

int blocks_for(int64_t n, int threads) { return (int)std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 65536)); }

}  // namespace

const float *DeviceSelector::window_scores(const Config &cfg, const hkv_kv_params &kv, const float *q_window,
                                           const bf16 *keys, int n_prompt, cudaStream_t stream) {
  const int window = kv.window;
  if (window < 1 || window >= n_prompt)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "kv_compression.window: must be in [1, n_prompt), got " +
                                              std::to_string(window) + " for a prompt of " + std::to_string(n_prompt));
  if (kv.pool_kernel < 1 || kv.pool_kernel % 2 == 0)
    throw Error(HKV_ERR_INVALID_ARGUMENT,
                "kv_compression.pool_kernel: must be an odd number >= 1, got " + std::to_string(kv.pool_kernel));
  const int prefix = n_prompt - window, group = cfg.group();
  const bool per_query_head = kv.granularity == HKV_GRANULARITY_QUERY_HEAD || group == 1;
  const int cache_heads = per_query_head ? cfg.n_heads : cfg.n_kv_heads;
  const int64_t rows = (int64_t)cfg.n_heads * window;
  logits_.grow(sizeof(float) * rows * n_prompt, "window scores");
  row_stats_.grow(sizeof(float) * 2 * rows, "window scores");
  mean_.grow(sizeof(float) * cfg.n_heads * (int64_t)prefix, "window scores");
  pooled_.grow(sizeof(float) * cache_heads * (int64_t)std::max(prefix, 1), "window scores");

  const int64_t warps = (int64_t)cfg.n_heads * n_prompt;
  window_logits_kernel<<<(unsigned)((warps + 7) / 8), 256, 0, stream>>>(logits_.as<float>(), q_window, keys, n_prompt,
                                                                          window, cfg.n_heads, cfg.n_kv_heads, cfg.head_dim);
  check_launch("window_logits");
  row_stats_kernel<<<(unsigned)rows, 256, 0, stream>>>(row_stats_.as<float>(), logits_.as<float>(), n_prompt, window);
  check_launch("window_row_stats");
  const int64_t mean_total = (int64_t)cfg.n_heads * prefix;
  window_mean_kernel<<<blocks_for(mean_total, 256), 256, 0, stream>>>(mean_.as<float>(), logits_.as<float>(),
                                                                       row_stats_.as<float>(), n_prompt, window, mean_total);
  check_launch("window_mean");
  const int64_t out_total = (int64_t)cache_heads * prefix;
  pool_aggregate_kernel<<<blocks_for(out_total, 256), 256, 0, stream>>>(
      pooled_.as<float>(), mean_.as<float>(), prefix, kv.pool_kernel, group, per_query_head ? 1 : group,
      kv.group_aggregation == 1, out_total);
  check_launch("window_pool");
  return pooled_.as<float>();
}

std::vector<std::vector<int32_t>> DeviceSelector::select(const Config &cfg, const hkv_kv_params &kv,
                                                         const CompressionPlan &plan, int layer, const float *pooled,
                                                         int n_prompt, cudaStream_t stream) {
  const int heads = plan.cache_heads;
  const int prefix = n_prompt - plan.window;
  if (layer < 0 || layer >= cfg.n_layers)
    throw Error(HKV_ERR_INTERNAL, "select: layer " + std::to_string(layer) + " out of range");
  std::vector<std::vector<int32_t>> kept(heads);
  if (!plan.compress || prefix <= 0) {
    for (auto &positions : kept) {
      positions.resize(std::max(prefix, 0));
      for (int p = 0; p < prefix; p++) positions[p] = p;
    }
    return kept;
  }
  const int64_t total = (int64_t)heads * prefix;
  if (total > INT32_MAX) throw Error(HKV_ERR_UNSUPPORTED, "select: more than 2^31 scores in one layer");
  const bool ada = kv.method == HKV_KV_ADA_SNAPKV;
  sort_keys_.grow(sizeof(float) * total, "selection sort");
  sorted_keys_.grow(sizeof(float) * total, "selection sort");
  sort_values_.grow(sizeof(int32_t) * total, "selection sort");
  sorted_values_.grow(sizeof(int32_t) * total, "selection sort");
  offsets_.grow(sizeof(int32_t) * (heads + 1), "selection sort");
  counts_.grow(sizeof(int32_t) * heads, "selection sort");

  std::vector<int32_t> caps(plan.caps.begin() + (size_t)layer * heads, plan.caps.begin() + (size_t)(layer + 1) * heads);
  if (ada) {
    // Rank every head's scores of the layer together (ties: lower head, then lower position),
    // count how many of the best heads * b each head owns.
    const int b = kv.kv_size - kv.window;
    const int64_t best = std::min<int64_t>((int64_t)heads * b, total);
    rank_keys_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(sort_keys_.as<float>(), sort_values_.as<int32_t>(),
                                                                 pooled, prefix, true, total);
    check_launch("rank_keys");
    size_t temp_bytes = 0;
    check(cub::DeviceRadixSort::SortPairsDescending(nullptr, temp_bytes, sort_keys_.as<float>(), sorted_keys_.as<float>(),
                                                    sort_values_.as<int32_t>(), sorted_values_.as<int32_t>(), (int)total, 0,
                                                    32, stream),
          "ada ranking (size)");
    sort_temp_.grow(temp_bytes, "selection sort");
    check(cub::DeviceRadixSort::SortPairsDescending(sort_temp_.as<void>(), temp_bytes, sort_keys_.as<float>(),
                                                    sorted_keys_.as<float>(), sort_values_.as<int32_t>(),
                                                    sorted_values_.as<int32_t>(), (int)total, 0, 32, stream),
          "ada ranking");
    check(cudaMemsetAsync(counts_.as<int32_t>(), 0, sizeof(int32_t) * heads, stream), "ada counts");
    count_heads_kernel<<<blocks_for(best, 256), 256, 0, stream>>>(counts_.as<int32_t>(), sorted_values_.as<int32_t>(),
                                                                  best, prefix);
    check_launch("count_heads");
    std::vector<int32_t> counts(heads);
    check(cudaMemcpyAsync(counts.data(), counts_.as<int32_t>(), sizeof(int32_t) * heads, cudaMemcpyDeviceToHost, stream),
          "ada counts");
    check(cudaStreamSynchronize(stream), "ada counts");
    const int floor_tokens = int(b * kAdaFloorRatio);
    for (int h = 0; h < heads; h++) {
      const float v = float(counts[h]) * (1.0f - kAdaFloorRatio) + float(floor_tokens);
      caps[h] = std::min(int32_t(std::nearbyint(v)), int32_t(prefix));
    }
  }

  rank_keys_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(sort_keys_.as<float>(), sort_values_.as<int32_t>(), pooled,
                                                               prefix, false, total);
  check_launch("rank_keys");
  segment_offsets_kernel<<<(heads + 256) / 256, 256, 0, stream>>>(offsets_.as<int32_t>(), heads, prefix);
  check_launch("segment_offsets");
  size_t temp_bytes = 0;
  const int32_t *begin = offsets_.as<int32_t>(), *end = offsets_.as<int32_t>() + 1;
  check(cub::DeviceSegmentedRadixSort::SortPairsDescending(nullptr, temp_bytes, sort_keys_.as<float>(),
                                                           sorted_keys_.as<float>(), sort_values_.as<int32_t>(),
                                                           sorted_values_.as<int32_t>(), (int)total, heads, begin, end, 0,
                                                           32, stream),
        "per-head ranking (size)");
  sort_temp_.grow(temp_bytes, "selection sort");
  check(cub::DeviceSegmentedRadixSort::SortPairsDescending(sort_temp_.as<void>(), temp_bytes, sort_keys_.as<float>(),
                                                           sorted_keys_.as<float>(), sort_values_.as<int32_t>(),
                                                           sorted_values_.as<int32_t>(), (int)total, heads, begin, end, 0,
                                                           32, stream),
        "per-head ranking");
  // Each head's ranked positions; its first cap are kept.
  std::vector<int32_t> ranked((size_t)total);
  check(cudaMemcpyAsync(ranked.data(), sorted_values_.as<int32_t>(), sizeof(int32_t) * total, cudaMemcpyDeviceToHost,
                        stream),
        "selection copy");
  check(cudaStreamSynchronize(stream), "selection copy");
  for (int h = 0; h < heads; h++) {
    const int cap = std::max(0, std::min(caps[h], prefix));
    const int32_t *row = ranked.data() + (size_t)h * prefix;
    kept[h].assign(row, row + cap);
    std::sort(kept[h].begin(), kept[h].end());
  }
  return kept;
}

}  // namespace hkv::cuda

#include "cuda/compress.cuh"

#include <algorithm>
#include <cmath>
#include <cub/device/device_radix_sort.cuh>
#include <string>

#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

namespace {

using bf16 = __nv_bfloat16;

// Ada-SnapKV's floor, as compress/select.cpp.
constexpr float kAdaFloorRatio = 0.2f;

// The window logits are a matrix product per KV head g: rows r = (head in group) * window +
// (window query) of q_window against every key of g, so that logits[g * rows + r][j] is
// logits[h][i][j] for h = g * group + r / window, i = r % window. A block computes a tile of
// 32 rows by 256 keys over head_dim in steps of 16, through shared memory; each thread owns
// 4 rows by 8 keys. Every output is one fmaf chain over head_dim in ascending order, the order
// of compress/window_scores.cpp's loop, so bf16-exact inputs give the CPU's logits bit for bit.
constexpr int kLogitTileRows = 32, kLogitTileKeys = 256, kLogitTileDepth = 16, kLogitThreads = 256;
// Row padding of the shared tiles: a multiple of 4 floats keeps the float4 reads aligned, and
// it spreads the transposing stores over more banks.
constexpr int kLogitPad = 4;
static_assert(kLogitThreads == 256 && kLogitTileRows == 4 * (kLogitThreads / 32) && kLogitTileKeys == 8 * 32,
              "window_logits_kernel's thread layout: 8 warps of 4 rows, 32 lanes of 8 keys");
constexpr int kQueryReads = kLogitTileRows * kLogitTileDepth / kLogitThreads;
constexpr int kKeyReads = kLogitTileKeys * kLogitTileDepth / 2 / kLogitThreads;
static_assert(kQueryReads * kLogitThreads == kLogitTileRows * kLogitTileDepth &&
                  kKeyReads * kLogitThreads * 2 == kLogitTileKeys * kLogitTileDepth,
              "every thread reads the same number of tile inputs");

// Key b (0..7) of lane tx within a tile: 4 tx .. 4 tx + 3, then 128 + 4 tx .. 128 + 4 tx + 3.
__device__ __forceinline__ int tile_key(int tx, int b) { return b < 4 ? 4 * tx + b : kLogitTileKeys / 2 + 4 * tx + (b - 4); }

// partials[h * window + i][key tile]: see the end of the kernel.
__global__ __launch_bounds__(kLogitThreads, 2) void window_logits_kernel(float *logits, float2 *partials,
                                                                      const float *q_window, const bf16 *keys, int n,
                                                                      int window, int n_heads, int n_kv_heads, int d,
                                                                      float scale) {
  __shared__ __align__(16) float q_tile[kLogitTileDepth][kLogitTileRows + kLogitPad];
  __shared__ __align__(16) float k_tile[kLogitTileDepth][kLogitTileKeys + kLogitPad];
  const int kv_head = blockIdx.z, group = n_heads / n_kv_heads, rows = group * window;
  const int row0 = blockIdx.x * kLogitTileRows;
  const int64_t key0 = (int64_t)blockIdx.y * kLogitTileKeys;
  const int tid = threadIdx.x, tx = tid % 32, ty = tid / 32;
  // Thread (tx, ty): tile rows 4 ty .. 4 ty + 3; tile keys 4 tx .. 4 tx + 3 and 128 + 4 tx ..
  // 128 + 4 tx + 3, so that each of a warp's key reads is 512 contiguous bytes and its row
  // read one broadcast.
  float acc[4][8];
#pragma unroll
  for (int a = 0; a < 4; a++)
#pragma unroll
    for (int b = 0; b < 8; b++) acc[a][b] = 0.f;

  // The next chunk of head_dim is read into registers while the current one is multiplied out
  // of shared memory. Each thread reads kQueryReads query values and kKeyReads bf16 key pairs,
  // at the same tile coordinates in every chunk: query reads s at dim tid % 16 of tile row
  // tid / 16 + 16 s (16 consecutive lanes read one row's 16 dims), key reads s at dims
  // 2 (tid % 8), + 1 of tile key tid / 8 + 32 s (8 consecutive lanes read one key's 32 bytes).
  // head_dim is even (checked by the caller), so a pair never straddles it.
  const int q_dim_in_chunk = tid % kLogitTileDepth, pair = tid % (kLogitTileDepth / 2);
  const float *q_row[kQueryReads];  // null outside the group's rows: those read zero
#pragma unroll
  for (int s = 0; s < kQueryReads; s++) {
    const int row = row0 + tid / kLogitTileDepth + s * (kLogitThreads / kLogitTileDepth);
    const int h = kv_head * group + row / window, i = row % window;
    q_row[s] = row < rows ? q_window + ((int64_t)i * n_heads + h) * d + q_dim_in_chunk : nullptr;
  }
  const int key_in_tile = tid / (kLogitTileDepth / 2);
  constexpr int kKeyStride = kLogitThreads / (kLogitTileDepth / 2);  // tile keys between reads s and s + 1
  const bf16 *key_pair = keys + ((key0 + key_in_tile) * n_kv_heads + kv_head) * d + 2 * pair;
  const int64_t key_step = (int64_t)kKeyStride * n_kv_heads * d;
  float q_next[kQueryReads];
  __nv_bfloat162 k_next[kKeyReads];
  // Zero outside the rows, the keys or head_dim, which leaves every sum as it is.
  auto fetch = [&](int k0) {
#pragma unroll
    for (int s = 0; s < kQueryReads; s++)
      q_next[s] = q_row[s] && k0 + q_dim_in_chunk < d ? q_row[s][k0] : 0.f;
#pragma unroll
    for (int s = 0; s < kKeyReads; s++)
      k_next[s] = key0 + key_in_tile + s * kKeyStride < n && k0 + 2 * pair < d
                      ? *reinterpret_cast<const __nv_bfloat162 *>(key_pair + s * key_step + k0)
                      : __floats2bfloat162_rn(0.f, 0.f);
  };

  fetch(0);
  for (int k0 = 0; k0 < d; k0 += kLogitTileDepth) {
#pragma unroll
    for (int s = 0; s < kQueryReads; s++)
      q_tile[q_dim_in_chunk][tid / kLogitTileDepth + s * (kLogitThreads / kLogitTileDepth)] = q_next[s];
#pragma unroll
    for (int s = 0; s < kKeyReads; s++) {
      const float2 v = __bfloat1622float2(k_next[s]);
      k_tile[2 * pair][key_in_tile + s * kKeyStride] = v.x;
      k_tile[2 * pair + 1][key_in_tile + s * kKeyStride] = v.y;
    }
    __syncthreads();
    if (k0 + kLogitTileDepth < d) fetch(k0 + kLogitTileDepth);
#pragma unroll
    for (int kk = 0; kk < kLogitTileDepth; kk++) {
      const float4 q4 = *reinterpret_cast<const float4 *>(&q_tile[kk][4 * ty]);
      const float4 lo = *reinterpret_cast<const float4 *>(&k_tile[kk][4 * tx]);
      const float4 hi = *reinterpret_cast<const float4 *>(&k_tile[kk][kLogitTileKeys / 2 + 4 * tx]);
      const float q[4] = {q4.x, q4.y, q4.z, q4.w};
      const float key[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
      for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 8; b++) acc[a][b] = fmaf(q[a], key[b], acc[a][b]);
    }
    __syncthreads();
  }

  // Each warp holds 4 whole rows of the tile: it also leaves, per row, the softmax partials of
  // this key tile (max, sum of exp(logit - max)) over the keys the row's window query sees, so
  // that no pass over the logits is needed for the softmax statistics (row_stats_kernel).
#pragma unroll
  for (int a = 0; a < 4; a++) {
    const int row = row0 + 4 * ty + a;  // the same in the whole warp
    if (row >= rows) break;
    const int64_t visible = n - window + row % window + 1;  // keys [0, prefix + i] for window query i
    float x[8];
    float m = -INFINITY;
#pragma unroll
    for (int b = 0; b < 8; b++) {
      x[b] = acc[a][b] / scale;
      if (key0 + tile_key(tx, b) < visible) m = fmaxf(m, x[b]);
    }
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    float sum = 0.f;  // stays 0 when this tile holds no key the row sees (m = -inf)
#pragma unroll
    for (int b = 0; b < 8; b++)
      if (key0 + tile_key(tx, b) < visible) sum += expf(x[b] - m);
    for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    const int64_t global_row = (int64_t)kv_head * rows + row;  // h * window + i
    if (tx == 0) partials[global_row * gridDim.y + blockIdx.y] = make_float2(m, sum);
    float *out = logits + global_row * n;
#pragma unroll
    for (int b = 0; b < 8; b++) {
      const int64_t j = key0 + tile_key(tx, b);
      if (j < n) out[j] = x[b];
    }
  }
}

// Softmax max and sum of each row (h, i) over the keys window query i sees, [0, prefix + i],
// from the key tiles' partials: sum = sum over tiles of tile_sum * exp(tile_max - max). One
// warp per row.
__global__ void row_stats_kernel(float *stats, const float2 *partials, int n_tiles, int64_t n_rows) {
  const int64_t row = blockIdx.x * (int64_t)(blockDim.x / 32) + threadIdx.x / 32;
  if (row >= n_rows) return;
  const int lane = threadIdx.x % 32;
  const float2 *p = partials + row * n_tiles;
  float m = -INFINITY;
  for (int t = lane; t < n_tiles; t += 32) m = fmaxf(m, p[t].x);
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  float sum = 0.f;
  for (int t = lane; t < n_tiles; t += 32)
    if (p[t].y > 0.f) sum += p[t].y * expf(p[t].x - m);  // a tile with a visible key sums >= 1
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) {
    stats[2 * row] = m;
    stats[2 * row + 1] = sum;
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

// Ascending sort key of a score: a better score gets a smaller key. NaN ranks as -inf, below
// every number, and -0 equals +0, as compress/select.cpp compares (tested on the bits, which no
// compiler setting can fold away); any two scores the CPU finds equal get equal keys.
__device__ uint32_t rank_key(float score) {
  uint32_t u = __float_as_uint(score);
  if ((u & 0x7fffffffu) > 0x7f800000u) u = 0xff800000u;  // NaN -> -inf
  if ((u << 1) == 0) u = 0;                                // -0 -> +0
  const uint32_t increasing = (u & 0x80000000u) ? ~u : (u | 0x80000000u);  // order of the floats
  return ~increasing;
}

// Sort keys and values of every score of the layer, for a stable ascending radix sort (so that
// equal keys keep index order: lower position first, as the CPU breaks ties). by_head puts the
// cache head in the bits from 32 up: one sort then ranks each head's positions in a run of its
// own, heads in order, and values are positions within the head. Without it (Ada-SnapKV's
// layer-wide ranking) the key is the score alone and values are the global indices
// head * prefix + position, so ties go to the lower head, then the lower position.
__global__ void rank_keys_kernel(uint64_t *keys, int32_t *values, const float *scores, int prefix, bool by_head,
                                 int64_t total) {
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
    const uint64_t head = by_head ? (uint64_t)(idx / prefix) : 0;
    keys[idx] = head << 32 | rank_key(scores[idx]);
    values[idx] = by_head ? (int32_t)(idx % prefix) : (int32_t)idx;
  }
}

// kept[offsets[h] .. offsets[h + 1]) = the best offsets[h + 1] - offsets[h] positions of head
// h, whose ranking is ranked[h * prefix ..]: one block per head.
__global__ void gather_kept_kernel(int32_t *kept, const int32_t *ranked, const int32_t *offsets, int prefix) {
  const int h = blockIdx.x;
  const int begin = offsets[h], count = offsets[h + 1] - begin;
  const int32_t *row = ranked + (int64_t)h * prefix;
  for (int t = threadIdx.x; t < count; t += blockDim.x) kept[begin + t] = row[t];
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
  if (cfg.head_dim % 2 != 0)
    throw Error(HKV_ERR_UNSUPPORTED, "window scores: head_dim " + std::to_string(cfg.head_dim) +
                                         " is odd; the CUDA window logits read keys in bf16 pairs");
  const int prefix = n_prompt - window, group = cfg.group();
  const bool per_query_head = kv.granularity == HKV_GRANULARITY_QUERY_HEAD || group == 1;
  const int cache_heads = per_query_head ? cfg.n_heads : cfg.n_kv_heads;
  const int64_t rows = (int64_t)cfg.n_heads * window;
  logits_.grow(sizeof(float) * rows * n_prompt, "window scores");
  row_stats_.grow(sizeof(float) * 2 * rows, "window scores");
  mean_.grow(sizeof(float) * cfg.n_heads * (int64_t)prefix, "window scores");
  pooled_.grow(sizeof(float) * cache_heads * (int64_t)std::max(prefix, 1), "window scores");

  const int group_rows = group * window;
  const int key_tiles = (n_prompt + kLogitTileKeys - 1) / kLogitTileKeys;
  tile_partials_.grow(sizeof(float2) * rows * key_tiles, "window scores");
  const dim3 logit_grid((unsigned)((group_rows + kLogitTileRows - 1) / kLogitTileRows), (unsigned)key_tiles,
                        (unsigned)cfg.n_kv_heads);
  window_logits_kernel<<<logit_grid, kLogitThreads, 0, stream>>>(logits_.as<float>(), tile_partials_.as<float2>(),
                                                                 q_window, keys, n_prompt, window, cfg.n_heads,
                                                                 cfg.n_kv_heads, cfg.head_dim,
                                                                 std::sqrt(float(cfg.head_dim)));
  check_launch("window_logits");
  row_stats_kernel<<<(unsigned)((rows + 7) / 8), 256, 0, stream>>>(row_stats_.as<float>(), tile_partials_.as<float2>(),
                                                                   key_tiles, rows);
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
  sort_keys_.grow(sizeof(uint64_t) * total, "selection sort");
  sorted_keys_.grow(sizeof(uint64_t) * total, "selection sort");
  sort_values_.grow(sizeof(int32_t) * total, "selection sort");
  sorted_values_.grow(sizeof(int32_t) * total, "selection sort");
  // Keys and values of every score, sorted ascending on bits [0, end_bit) of the keys.
  auto rank = [&](bool by_head, int end_bit, const char *what) {
    rank_keys_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(sort_keys_.as<uint64_t>(), sort_values_.as<int32_t>(),
                                                                 pooled, prefix, by_head, total);
    check_launch("rank_keys");
    size_t temp_bytes = 0;
    check(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, sort_keys_.as<uint64_t>(), sorted_keys_.as<uint64_t>(),
                                          sort_values_.as<int32_t>(), sorted_values_.as<int32_t>(), (int)total, 0, end_bit,
                                          stream),
          what);
    sort_temp_.grow(temp_bytes, "selection sort");
    check(cub::DeviceRadixSort::SortPairs(sort_temp_.as<void>(), temp_bytes, sort_keys_.as<uint64_t>(),
                                          sorted_keys_.as<uint64_t>(), sort_values_.as<int32_t>(),
                                          sorted_values_.as<int32_t>(), (int)total, 0, end_bit, stream),
          what);
  };

  std::vector<int32_t> caps(plan.caps.begin() + (size_t)layer * heads, plan.caps.begin() + (size_t)(layer + 1) * heads);
  if (kv.method == HKV_KV_ADA_SNAPKV) {
    // Rank every head's scores of the layer together (ties: lower head, then lower position),
    // count how many of the best heads * b each head owns.
    const int b = kv.kv_size - kv.window;
    const int64_t best = std::min<int64_t>((int64_t)heads * b, total);
    rank(false, 32, "ada ranking");
    counts_.grow(sizeof(int32_t) * heads, "selection sort");
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

  // Head h keeps its best caps[h] positions: offsets[h] is where they start in the compact list
  // that comes back to the host (the caps' sum of positions, not the whole ranking).
  std::vector<int32_t> offsets(heads + 1, 0);
  for (int h = 0; h < heads; h++) offsets[h + 1] = offsets[h] + std::max(0, std::min(caps[h], prefix));
  const int32_t kept_total = offsets[heads];
  if (kept_total == 0) return kept;
  offsets_.grow(sizeof(int32_t) * (heads + 1), "selection offsets");
  kept_.grow(sizeof(int32_t) * kept_total, "selection");
  check(cudaMemcpyAsync(offsets_.as<int32_t>(), offsets.data(), sizeof(int32_t) * (heads + 1), cudaMemcpyHostToDevice,
                        stream),
        "selection offsets");
  int head_bits = 0;
  while ((1 << head_bits) < heads) head_bits++;
  rank(true, 32 + head_bits, "per-head ranking");
  gather_kept_kernel<<<heads, 256, 0, stream>>>(kept_.as<int32_t>(), sorted_values_.as<int32_t>(), offsets_.as<int32_t>(),
                                                prefix);
  check_launch("gather_kept");
  std::vector<int32_t> flat(kept_total);
  check(cudaMemcpyAsync(flat.data(), kept_.as<int32_t>(), sizeof(int32_t) * kept_total, cudaMemcpyDeviceToHost, stream),
        "selection copy");
  check(cudaStreamSynchronize(stream), "selection copy");
  for (int h = 0; h < heads; h++) {
    kept[h].assign(flat.begin() + offsets[h], flat.begin() + offsets[h + 1]);
    std::sort(kept[h].begin(), kept[h].end());
  }
  return kept;
}

}  // namespace hkv::cuda

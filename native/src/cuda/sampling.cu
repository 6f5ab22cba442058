#include "cuda/sampling.cuh"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>
#include <string>

#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

namespace {

// One row's draw as the kernels read it.
struct RowDraw {
  double uniform;
  float temperature;
  float top_p;
  int32_t top_k;
  int32_t row;  // of the logits
};

constexpr int kArgmaxThreads = 1024;
constexpr int kPickThreads = 256;
constexpr int kPickItems = 16;  // consecutive candidates per thread in a scan tile

// Greedy rows, one block each: pick_token's scan (the first highest logit; nothing is greater
// than a NaN at id 0, and a NaN elsewhere is never greater) as a reduction over (logit, id).
__global__ void argmax_kernel(int32_t *tokens, const float *logits, const RowDraw *draws, int vocab) {
  const RowDraw d = draws[blockIdx.x];
  if (d.temperature > 0.f) return;
  const float *x = logits + (int64_t)d.row * vocab;
  if (isnan(x[0])) {
    if (threadIdx.x == 0) tokens[blockIdx.x] = 0;
    return;
  }
  float best = -INFINITY;
  int id = -1;  // none yet
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float v = x[i];
    if (!isnan(v) && (id < 0 || v > best)) {
      best = v;
      id = i;
    }
  }
  auto take = [&](float v, int i) {
    if (i >= 0 && (id < 0 || v > best || (v == best && i < id))) {
      best = v;
      id = i;
    }
  };
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xffffffffu, best, o);
    const int i = __shfl_xor_sync(0xffffffffu, id, o);
    take(v, i);
  }
  __shared__ float warp_best[32];
  __shared__ int warp_id[32];
  if (threadIdx.x % 32 == 0) {
    warp_best[threadIdx.x / 32] = best;
    warp_id[threadIdx.x / 32] = id;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < (int)(blockDim.x / 32); w++) take(warp_best[w], warp_id[w]);
    tokens[blockIdx.x] = id < 0 ? 0 : id;
  }
}

// Sort input of the sampled rows: segment s holds row sampled[s]'s logits / temperature (NaN
// ranked last, -0 equal to +0) with their token ids.
__global__ void rank_keys_kernel(float *keys, int32_t *ids, const float *logits, const RowDraw *draws,
                                 const int32_t *sampled, int vocab, int64_t total) {
  for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total; idx += (int64_t)gridDim.x * blockDim.x) {
    const int64_t s = idx / vocab;
    const int i = (int)(idx % vocab);
    const RowDraw d = draws[sampled[s]];
    const float v = logits[(int64_t)d.row * vocab + i] / d.temperature;
    keys[idx] = isnan(v) ? -INFINITY : v + 0.0f;
    ids[idx] = i;
  }
}

__device__ inline double probability(const float *keys, float mx, int i) { return (double)expf(keys[i] - mx); }

// The first i < n whose inclusive prefix sum of probabilities reaches `threshold` (> when
// strict, >= otherwise), and that prefix sum; n and the whole sum when none does. Tiles of
// kPickThreads * kPickItems candidates, each thread summing its kPickItems in order.
template <typename Scan>
__device__ int first_reaching(const float *keys, float mx, int n, double threshold, bool strict, double *prefix_out,
                              typename Scan::TempStorage &scan_storage) {
  __shared__ int found;
  __shared__ double found_prefix, carry;
  if (threadIdx.x == 0) {
    found = INT_MAX;
    carry = 0.0;
  }
  __syncthreads();
  constexpr int tile = kPickThreads * kPickItems;
  for (int base = 0; base < n; base += tile) {
    const int first = base + threadIdx.x * kPickItems;
    double p[kPickItems], local = 0.0;
#pragma unroll
    for (int j = 0; j < kPickItems; j++) {
      p[j] = first + j < n ? probability(keys, mx, first + j) : 0.0;
      local += p[j];
    }
    double before, tile_sum;
    Scan(scan_storage).ExclusiveSum(local, before, tile_sum);
    // This thread's first hit and its prefix sum (fully unrolled: p stays in registers).
    double running = carry + before, hit_prefix = 0.0;
    int hit = INT_MAX;
#pragma unroll
    for (int j = 0; j < kPickItems; j++) {
      running += p[j];
      if (hit == INT_MAX && first + j < n && (strict ? running > threshold : running >= threshold)) {
        hit = first + j;
        hit_prefix = running;
      }
    }
    if (hit != INT_MAX) atomicMin(&found, hit);  // the lowest over threads wins
    __syncthreads();
    if (hit != INT_MAX && hit == found) found_prefix = hit_prefix;
    __syncthreads();
    if (found != INT_MAX) break;
    if (threadIdx.x == 0) carry += tile_sum;
    __syncthreads();
  }
  if (found == INT_MAX) {
    *prefix_out = carry;
    return n;
  }
  *prefix_out = found_prefix;
  return found;
}

// Sampled rows, one block each, over the row's sorted candidates (see pick_token).
__global__ void __launch_bounds__(kPickThreads) pick_kernel(int32_t *tokens, const float *sorted_keys,
                                                            const int32_t *sorted_ids, const RowDraw *draws,
                                                            const int32_t *sampled, int vocab) {
  using Scan = cub::BlockScan<double, kPickThreads>;
  using Reduce = cub::BlockReduce<double, kPickThreads>;
  __shared__ union {
    typename Scan::TempStorage scan;
    typename Reduce::TempStorage reduce;
  } storage;
  __shared__ double total;
  const int b = sampled[blockIdx.x];
  const RowDraw d = draws[b];
  const float *keys = sorted_keys + (int64_t)blockIdx.x * vocab;
  const int32_t *ids = sorted_ids + (int64_t)blockIdx.x * vocab;
  int n = d.top_k > 0 && d.top_k < vocab ? d.top_k : vocab;
  const float mx = keys[0];
  double part = 0.0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) part += probability(keys, mx, i);
  const double sum = Reduce(storage.reduce).Sum(part);
  if (threadIdx.x == 0) total = sum;
  __syncthreads();
  double kept = total;
  if (d.top_p > 0.f && d.top_p < 1.f) {
    // The shortest prefix whose probability reaches top_p.
    const int cut = first_reaching<Scan>(keys, mx, n, (double)d.top_p * total, false, &kept, storage.scan);
    if (cut < n) n = cut + 1;
    __syncthreads();
  }
  // The first candidate whose running sum passes uniform * kept; the last one when rounding
  // leaves none.
  double at = 0.0;
  const int pick = first_reaching<Scan>(keys, mx, n, d.uniform * kept, true, &at, storage.scan);
  if (threadIdx.x == 0) tokens[b] = ids[pick < n ? pick : n - 1];
}

int blocks_for(int64_t n, int threads) { return (int)std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 65536)); }

}  // namespace

void DeviceSampler::sample(const float *logits, const std::vector<int32_t> &rows, const std::vector<TokenDraw> &draws,
                           int vocab, std::vector<int32_t> &tokens, cudaStream_t stream) {
  const int B = (int)rows.size();
  tokens.resize(B);
  if (B == 0) return;
  if ((int)draws.size() != B)
    throw Error(HKV_ERR_INTERNAL, "sampling: " + std::to_string(draws.size()) + " draws for " + std::to_string(B) + " rows");
  std::vector<RowDraw> row_draws(B);
  std::vector<int32_t> sampled, offsets;  // batch rows that sample; their sort segments
  for (int b = 0; b < B; b++) {
    row_draws[b] = {draws[b].uniform, draws[b].temperature, draws[b].top_p, draws[b].top_k, rows[b]};
    if (draws[b].temperature > 0.f) {
      offsets.push_back((int32_t)sampled.size() * vocab);
      sampled.push_back(b);
    }
  }
  const int n_sampled = (int)sampled.size();
  const int64_t total = (int64_t)n_sampled * vocab;
  if (total > INT32_MAX)
    throw Error(HKV_ERR_UNSUPPORTED, "sampling: " + std::to_string(n_sampled) + " sampled rows of " + std::to_string(vocab) +
                                         " logits exceed 2^31 sort items in one step");
  offsets.push_back((int32_t)total);

  // One upload: draws [B], sampled [n_sampled], offsets [n_sampled + 1].
  const size_t draw_bytes = sizeof(RowDraw) * B;
  std::vector<char> packed(draw_bytes + sizeof(int32_t) * (sampled.size() + offsets.size()));
  std::copy_n(reinterpret_cast<const char *>(row_draws.data()), draw_bytes, packed.data());
  std::copy(sampled.begin(), sampled.end(), reinterpret_cast<int32_t *>(packed.data() + draw_bytes));
  std::copy(offsets.begin(), offsets.end(), reinterpret_cast<int32_t *>(packed.data() + draw_bytes) + sampled.size());
  params_.grow(packed.size(), "sampling parameters");
  tokens_.grow(sizeof(int32_t) * B, "sampled tokens");
  check(cudaMemcpyAsync(params_.as<char>(), packed.data(), packed.size(), cudaMemcpyHostToDevice, stream),
        "sampling parameters upload");
  const RowDraw *d_draws = params_.as<RowDraw>();
  const int32_t *d_sampled = reinterpret_cast<const int32_t *>(params_.as<char>() + draw_bytes);
  const int32_t *d_offsets = d_sampled + n_sampled;

  argmax_kernel<<<B, kArgmaxThreads, 0, stream>>>(tokens_.as<int32_t>(), logits, d_draws, vocab);
  check_launch("argmax");
  if (n_sampled > 0) {
    keys_.grow(sizeof(float) * total, "sampling sort");
    sorted_keys_.grow(sizeof(float) * total, "sampling sort");
    ids_.grow(sizeof(int32_t) * total, "sampling sort");
    sorted_ids_.grow(sizeof(int32_t) * total, "sampling sort");
    rank_keys_kernel<<<blocks_for(total, 256), 256, 0, stream>>>(keys_.as<float>(), ids_.as<int32_t>(), logits, d_draws,
                                                                 d_sampled, vocab, total);
    check_launch("sampling keys");
    size_t temp_bytes = 0;
    check(cub::DeviceSegmentedRadixSort::SortPairsDescending(nullptr, temp_bytes, keys_.as<float>(), sorted_keys_.as<float>(),
                                                             ids_.as<int32_t>(), sorted_ids_.as<int32_t>(), (int)total,
                                                             n_sampled, d_offsets, d_offsets + 1, 0, 32, stream),
          "sampling sort (size)");
    sort_temp_.grow(std::max<size_t>(temp_bytes, 1), "sampling sort");
    check(cub::DeviceSegmentedRadixSort::SortPairsDescending(sort_temp_.as<void>(), temp_bytes, keys_.as<float>(),
                                                             sorted_keys_.as<float>(), ids_.as<int32_t>(),
                                                             sorted_ids_.as<int32_t>(), (int)total, n_sampled, d_offsets,
                                                             d_offsets + 1, 0, 32, stream),
          "sampling sort");
    pick_kernel<<<n_sampled, kPickThreads, 0, stream>>>(tokens_.as<int32_t>(), sorted_keys_.as<float>(),
                                                        sorted_ids_.as<int32_t>(), d_draws, d_sampled, vocab);
    check_launch("sampling pick");
  }
  check(cudaMemcpyAsync(tokens.data(), tokens_.as<int32_t>(), sizeof(int32_t) * B, cudaMemcpyDeviceToHost, stream),
        "sampled tokens copy");
  check(cudaStreamSynchronize(stream), "decode step (forward pass and sampling)");
}

}  // namespace hkv::cuda

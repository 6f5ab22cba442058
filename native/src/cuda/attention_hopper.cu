#include "cuda/attention_hopper.cuh"

#include <cmath>
#include <map>
#include <mutex>

#include "cuda/cuda_check.cuh"

// The kernel's body exists only in the sm_90a pass (wgmma has no other target); every other
// pass compiles an empty kernel that flash_prefill_hopper_available() never selects.
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define HKV_HOPPER_BODY 1
#endif

namespace hkv::cuda {

namespace {

using bf16 = __nv_bfloat16;

// Head size 128 only (Llama 2/3, Mistral, Qwen2 7B+): the accumulators of a 64 x 128 score tile
// and a 64 x 128 output tile are what one thread of a warpgroup can hold.
constexpr int kD = 128;
constexpr int kBlockRows = 128;                 // queries of one block: 2 warpgroups x 64 rows
constexpr int kTileKeys = 128;                  // keys per tile (the N of S = Q K^T)
constexpr int kThreads = kBlockRows / 64 * 128;  // one warpgroup per 64 query rows
constexpr int kQBytes = kBlockRows * kD * 2;
constexpr int kTileBytes = kTileKeys * kD * 2;
constexpr int kSmemBytes = kQBytes + 4 * kTileBytes + 1024;  // Q, K and V double-buffered, 1 KB alignment slack
constexpr float kLog2e = 1.4426950408889634f;

#ifdef HKV_HOPPER_BODY
constexpr int kRowBytes = 128;        // a swizzle atom's row: 64 bf16
constexpr float kRescaleSlack = 8.f;  // log2 units a row maximum may grow before O is rescaled

// Shared-memory tiles use the tensor cores' 128-byte swizzle: a tile of R rows x 128 bf16 is two
// column blocks of 64 (block b at b * R * 128 bytes); in a block, row r's 16-byte piece c sits at
// piece c ^ (r % 8), so the 8 rows that ldmatrix-like reads touch at once hit 8 different banks.
// The tile base is 1024-aligned (the swizzle is applied to address bits, from the atom start).
__device__ __forceinline__ uint32_t swizzled_offset(int rows, int r, int piece) {
  return (uint32_t)((piece >> 3) * rows * kRowBytes + r * kRowBytes + (((piece & 7) ^ (r & 7)) << 4));
}

// wgmma shared-memory descriptor, 128-byte swizzle: start address, leading and stride byte
// offsets (all in 16-byte units).
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t leading, uint32_t stride) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(leading >> 4) << 16) | ((uint64_t)(stride >> 4) << 32) |
         (1ull << 62);
}

__device__ __forceinline__ void cp_async16(uint32_t dst, const void *src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
// cp.async writes through the generic proxy; wgmma reads through the async proxy.
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// Keeps the compiler from moving reads of accumulators across the wait above.
__device__ __forceinline__ void pin(float (&d)[64]) {
  #pragma unroll
  for (int i = 0; i < 64; i++) asm volatile("" : "+f"(d[i])::"memory");
}

// d (64 x 128, fp32) (+)= A (64 x 16, shared, K-major) * B (16 x 128, shared, K-major); scale_d 0
// overwrites d.
__device__ __forceinline__ void wgmma_ss(float (&d)[64], uint64_t a, uint64_t b, int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(a), "l"(b), "r"(scale_d));
}

// d (64 x 128, fp32) += A (64 x 16, registers) * B (16 x 128, shared, MN-major).
__device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
}

__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t *>(&v);
}

// Starts copying `rows` rows of 128 bf16 (row stride `stride` elements) into a swizzled tile;
// rows at or past `valid` are zero-filled.
__device__ __forceinline__ void load_tile_async(uint32_t dst, const bf16 *src, int64_t stride, int rows, int valid) {
  for (int i = threadIdx.x; i < rows * 16; i += kThreads) {
    const int r = i / 16, piece = i % 16;
    const bool ok = r < valid;
    cp_async16(dst + swizzled_offset(rows, r, piece), src + (ok ? r * stride + piece * 8 : 0), ok);
  }
}

#endif  // HKV_HOPPER_BODY

// The same causal attention as attention.cu's flash_prefill_kernel, on Hopper's asynchronous
// warpgroup matrix products: a block owns 128 queries of one head, each warpgroup 64 of them,
// and walks 128-key tiles of the KV head (double-buffered by cp.async). Per tile a warpgroup
// issues S = Q K^T (Q and K from shared memory) and O += P V (P from registers: the score
// accumulators' layout is the A-fragment layout; V from shared memory read N-major, so V needs
// no transpose), and while one warpgroup's softmax runs on the FP32 pipes and the special
// function unit the other's products run on the tensor cores, which mma.sync cannot overlap.
// The online softmax is attention.cu's: lazy rescaling, scale folded into the exp2 FMA.
__global__ void __launch_bounds__(kThreads, 1)
    flash_prefill_hopper_kernel(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads,
                                int n_kv_heads, float scale_log2) {
#ifdef HKV_HOPPER_BODY
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t qs = ((uint32_t)__cvta_generic_to_shared(smem_raw) + 1023u) & ~1023u;
  const uint32_t ks = qs + kQBytes;         // [2 stages] swizzled K tiles
  const uint32_t vs = ks + 2 * kTileBytes;  // [2 stages] swizzled V tiles

  // Longest query tiles first, every head's before any shorter one (as attention.cu).
  const int q0 = (gridDim.y - 1 - blockIdx.y) * kBlockRows;
  const int h = blockIdx.x, g = h / (n_heads / n_kv_heads);
  const int q_stride = n_heads * kD, kv_stride = n_kv_heads * kD;
  const int wg = threadIdx.x / 128, warp = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
  const int key_end = c0 + min(q0 + kBlockRows, m);  // keys any row of the block may see
  const int n_tiles = (key_end + kTileKeys - 1) / kTileKeys;
  const bf16 *kg = k + g * kD, *vg = v + g * kD;

  load_tile_async(qs, q + (int64_t)q0 * q_stride + h * kD, q_stride, kBlockRows, m - q0);
  load_tile_async(ks, kg, kv_stride, kTileKeys, key_end);
  load_tile_async(vs, vg, kv_stride, kTileKeys, key_end);
  cp_async_commit();

  float o[64];  // O[64 rows][128]: for each 8 columns j, o[4j..4j+3] = (r, c), (r, c+1), (r+8, c), (r+8, c+1)
  #pragma unroll
  for (int i = 0; i < 64; i++) o[i] = 0.f;
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
  const int wg_rows = m - q0 - wg * 64;  // rows of this warpgroup that exist
  const int wg_first = c0 + q0 + wg * 64, wg_last = wg_first + 63;
  const int warp_first = wg_first + warp * 16;  // the warp's first query position
  const int pos_a = warp_first + lane / 4;      // the thread's first row (the second: + 8)

  for (int t = 0; t < n_tiles; t++) {
    const int k0 = t * kTileKeys;
    cp_async_wait_all();
    fence_proxy_async();
    __syncthreads();  // tile t is in place, and every warpgroup is done with tile t - 1's stage
    if (t + 1 < n_tiles) {
      const uint32_t stage = ((t + 1) & 1) * kTileBytes;
      load_tile_async(ks + stage, kg + (int64_t)(k0 + kTileKeys) * kv_stride, kv_stride, kTileKeys,
                      key_end - k0 - kTileKeys);
      load_tile_async(vs + stage, vg + (int64_t)(k0 + kTileKeys) * kv_stride, kv_stride, kTileKeys,
                      key_end - k0 - kTileKeys);
      cp_async_commit();
    }
    if (wg_rows <= 0 || k0 > wg_last) continue;  // uniform over the warpgroup
    const uint32_t kt = ks + (t & 1) * kTileBytes, vt = vs + (t & 1) * kTileBytes;

    // S = Q K^T: 8 steps of 16 dimensions; a step's 32 bytes lie inside one swizzled row.
    float s[64];
    wgmma_fence();
    #pragma unroll
    for (int kk = 0; kk < kD / 16; kk++) {
      const uint32_t col = (kk % 4) * 32;
      const uint64_t a = smem_desc(qs + (kk / 4) * kBlockRows * kRowBytes + wg * 64 * kRowBytes + col, 16, 1024);
      const uint64_t b = smem_desc(kt + (kk / 4) * kTileKeys * kRowBytes + col, 16, 1024);
      wgmma_ss(s, a, b, kk > 0);
    }
    wgmma_commit();
    wgmma_wait_all();
    pin(s);

    // Mask future and missing keys: only a tile that reaches the warp's diagonal or the end of
    // the keys has any.
    if (k0 + kTileKeys > warp_first || k0 + kTileKeys > key_end) {
      #pragma unroll
      for (int i = 0; i < 64; i++) {
        const int key = k0 + (i / 4) * 8 + (lane % 4) * 2 + (i & 1);
        if (key > pos_a + ((i & 2) ? 8 : 0) || key >= key_end) s[i] = -INFINITY;
      }
    }
    float tile_max[2] = {-INFINITY, -INFINITY};
    #pragma unroll
    for (int i = 0; i < 64; i++) tile_max[(i >> 1) & 1] = fmaxf(tile_max[(i >> 1) & 1], s[i]);
    bool grew = false;
    #pragma unroll
    for (int r = 0; r < 2; r++) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      tile_max[r] *= scale_log2;
      grew |= tile_max[r] > row_max[r] + kRescaleSlack;
    }
    if (__any_sync(0xffffffffu, grew)) {
      float alpha[2];
      #pragma unroll
      for (int r = 0; r < 2; r++) {
        const float new_max = fmaxf(row_max[r], tile_max[r]);
        alpha[r] = new_max == -INFINITY ? 1.f : exp2_ftz(row_max[r] - new_max);
        row_max[r] = new_max;
        row_sum[r] *= alpha[r];
      }
      #pragma unroll
      for (int i = 0; i < 64; i++) o[i] *= alpha[(i >> 1) & 1];
    }
    float neg_base[2];
    #pragma unroll
    for (int r = 0; r < 2; r++) neg_base[r] = row_max[r] == -INFINITY ? 0.f : -row_max[r];
    uint32_t p[kTileKeys / 16][4];  // P as the A fragments of 8 steps of 16 keys
    #pragma unroll
    for (int i = 0; i < 64; i += 2) {
      const int r = (i >> 1) & 1;
      const float p0 = exp2_ftz(fmaf(s[i], scale_log2, neg_base[r]));
      const float p1 = exp2_ftz(fmaf(s[i + 1], scale_log2, neg_base[r]));
      row_sum[r] += p0 + p1;
      // columns 8j..8j+7 of rows (r, r + 8): j even fills fragment registers 0 and 1, j odd 2 and 3
      const int j = i / 4;
      p[j / 2][(j & 1) * 2 + r] = pack_bf16(p0, p1);
    }

    // O += P V: 8 steps of 16 keys; a step is two 8-row groups of the V tile (2048 bytes).
    wgmma_fence();
    #pragma unroll
    for (int kk = 0; kk < kTileKeys / 16; kk++)
      wgmma_rs(o, p[kk], smem_desc(vt + kk * 16 * kRowBytes, kTileKeys * kRowBytes, 1024));
    wgmma_commit();
    wgmma_wait_all();
    pin(o);
  }

  if (wg_rows <= 0) return;
  #pragma unroll
  for (int r = 0; r < 2; r++) {
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
    row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
  }
  const int t_a = q0 + wg * 64 + warp * 16 + lane / 4, t_b = t_a + 8;
  #pragma unroll
  for (int j = 0; j < kD / 8; j++) {
    const int col = h * kD + j * 8 + (lane % 4) * 2;
    if (t_a < m)
      *reinterpret_cast<__nv_bfloat162 *>(out + (int64_t)t_a * q_stride + col) =
          __floats2bfloat162_rn(o[4 * j] / row_sum[0], o[4 * j + 1] / row_sum[0]);
    if (t_b < m)
      *reinterpret_cast<__nv_bfloat162 *>(out + (int64_t)t_b * q_stride + col) =
          __floats2bfloat162_rn(o[4 * j + 2] / row_sum[1], o[4 * j + 3] / row_sum[1]);
  }
#endif
}

}  // namespace

namespace {
// 1 when the machine code the runtime loaded for this device holds the kernel's body: an sm_90a
// build running on a compute capability 9.0 device. Any other device, or a build without
// sm_90a, loads a pass where the body is empty.
__global__ void hopper_body_probe_kernel(int *present) {
#ifdef HKV_HOPPER_BODY
  *present = 1;
#else
  *present = 0;
#endif
}
}  // namespace

bool flash_prefill_hopper_available(int head_dim) {
  if (head_dim != kD) return false;
  int device = 0;
  check(cudaGetDevice(&device), "cudaGetDevice");
  static std::mutex mutex;
  static std::map<int, bool> by_device;
  std::lock_guard<std::mutex> lock(mutex);
  const auto found = by_device.find(device);
  if (found != by_device.end()) return found->second;
  int *present = nullptr, host = 0;
  check(cudaMalloc(&present, sizeof(int)), "hopper kernel probe");
  hopper_body_probe_kernel<<<1, 1>>>(present);
  const cudaError_t launched = cudaGetLastError();
  const cudaError_t copied = cudaMemcpy(&host, present, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(present);
  check(launched, "hopper kernel probe");
  check(copied, "hopper kernel probe");
  by_device[device] = host == 1;
  return host == 1;
}

void flash_prefill_hopper(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads,
                          int n_kv_heads, cudaStream_t stream) {
  check(cudaFuncSetAttribute(flash_prefill_hopper_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes),
        "flash_prefill_hopper: shared memory size");
  const dim3 grid(n_heads, (m + kBlockRows - 1) / kBlockRows);
  flash_prefill_hopper_kernel<<<grid, kThreads, kSmemBytes, stream>>>(q, k, v, out, m, c0, n_heads, n_kv_heads,
                                                                       kLog2e / sqrtf((float)kD));
  check_launch("flash_prefill_hopper");
}

}  // namespace hkv::cuda

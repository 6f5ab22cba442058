#include "cuda/attention_hopper.cuh"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <cmath>
#include <map>
#include <mutex>
#include <string>

#include "cuda/attention_math.cuh"
#include "cuda/cuda_check.cuh"
#include "error.h"

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
constexpr int kBlockRows = 128;  // queries of one block: 2 consumer warpgroups x 64 rows
constexpr int kTileKeys = 128;   // keys per tile (the N of S = Q K^T)
constexpr int kStages = 3;       // K and V tiles in flight (the third: a tile's V is read one tile late)
constexpr int kConsumerWarps = kBlockRows / 64 * 4;
constexpr int kThreads = (kConsumerWarps + 4) * 32;  // + one producer warpgroup (one thread of it copies)
constexpr int kQBytes = kBlockRows * kD * 2;
constexpr int kTileBytes = kTileKeys * kD * 2;
// Q, the K and V stages, 1 KB for aligning the tiles, then the barriers.
constexpr int kSmemBytes = kQBytes + 2 * kStages * kTileBytes + 1024 + 64;
constexpr int kBoxCols = 64;  // a TMA box is 64 columns (128 bytes: the swizzle span) x rows
constexpr float kLog2e = 1.4426950408889634f;

#ifdef HKV_HOPPER_BODY
// Registers per thread after setmaxnreg: the producer gives up what the consumers' pipelined
// accumulators need (2 x 128 x 240 + 128 x 24 <= 64K).
constexpr int kProducerRegisters = 24, kConsumerRegisters = 240;
constexpr int kRowBytes = 128;        // a swizzled row: 64 bf16
constexpr float kRescaleSlack = 8.f;  // log2 units a row maximum may grow before O is rescaled

// wgmma shared-memory descriptor, 128-byte swizzle: start address, leading and stride byte
// offsets (all in 16-byte units).
__device__ __forceinline__ uint64_t smem_desc(uint32_t addr, uint32_t leading, uint32_t stride) {
  return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)(leading >> 4) << 16) | ((uint64_t)(stride >> 4) << 32) |
         (1ull << 62);
}

// mbarriers: the producer's expect_tx arrival plus the copy engine's bytes complete a "full"
// phase; every consumer warp's arrival completes an "empty" phase.
__device__ __forceinline__ void mbar_init(uint32_t bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count));
}
__device__ __forceinline__ void mbar_expect_tx(uint32_t bar, int bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint32_t bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(uint32_t bar, int parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}

// One box (64 columns x rows) of a 2-D tensor into shared memory, 128-byte swizzled, zero-filled
// past the tensor's edges; completes on `bar`.
__device__ __forceinline__ void tma_load(uint32_t dst, const CUtensorMap &map, int col, int row, uint32_t bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(
          dst),
      "l"(reinterpret_cast<uint64_t>(&map)), "r"(col), "r"(row), "r"(bar)
      : "memory");
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_wait_all() { asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory"); }
// All but the most recently committed group: groups complete in commit order.
__device__ __forceinline__ void wgmma_wait_one() { asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory"); }
// Keeps the compiler from moving reads of accumulators across the wait above.
__device__ __forceinline__ void pin(float (&d)[64]) {
  #pragma unroll
  for (int i = 0; i < 64; i++) asm volatile("" : "+f"(d[i])::"memory");
}

// The 64 accumulator registers of an m64n128 wgmma as asm operands %0..%63, and their constraints.
#define HKV_WGMMA_D_REGS \
  "%0, %1, %2, %3, %4, %5, %6, %7, " \
  "%8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, " \
  "%24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, " \
  "%40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, " \
  "%56, %57, %58, %59, %60, %61, %62, %63"
#define HKV_WGMMA_D_OPERANDS(d) \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
  "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), \
  "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), \
  "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), \
  "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), \
  "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), \
  "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), \
  "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])

// d (64 x 128, fp32) (+)= A (64 x 16, shared, K-major) * B (16 x 128, shared, K-major); scale_d 0
// overwrites d.
__device__ __forceinline__ void wgmma_ss(float (&d)[64], uint64_t a, uint64_t b, int scale_d) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {" HKV_WGMMA_D_REGS "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
      : HKV_WGMMA_D_OPERANDS(d)
      : "l"(a), "l"(b), "r"(scale_d));
}

// d (64 x 128, fp32) += A (64 x 16, registers) * B (16 x 128, shared, MN-major).
__device__ __forceinline__ void wgmma_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t b) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {" HKV_WGMMA_D_REGS
      "}, {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n}\n"
      : HKV_WGMMA_D_OPERANDS(d)
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
}

// Both 64-column boxes of a 128-column tile: box b lands at dst + b * rows * 128 bytes.
__device__ __forceinline__ void tma_load_tile(uint32_t dst, const CUtensorMap &map, int col, int row, int rows,
                                              uint32_t bar) {
  tma_load(dst, map, col, row, bar);
  tma_load(dst + rows * kRowBytes, map, col + kBoxCols, row, bar);
}
#endif  // HKV_HOPPER_BODY

// The same causal attention as attention.cu's flash_prefill_kernel, on Hopper's copy engine
// and asynchronous warpgroup matrix products (FlashAttention-3's structure). A block owns 128
// queries of one head. A producer warpgroup (one thread of it issues the copies; setmaxnreg
// hands its registers to the consumers) streams the block's Q and then the KV head's 128-key
// tiles of K and V through kStages shared-memory stages with the tensor copy engine (TMA), each
// stage guarded by a "full" and an "empty" mbarrier. Two consumer warpgroups, 64 queries each,
// never wait for each other: per tile a warpgroup issues S = Q K^T (both from shared memory)
// together with the previous tile's O += P V (P from registers: the score accumulators' layout
// is the A-fragment layout; V read N-major, so it needs no transpose), and runs the online
// softmax of S while the tensor cores work on P V. The online softmax is attention.cu's: lazy
// rescaling, the scale folded into the exp2 FMA.
//   map_q: q [m][n_heads * 128], map_k, map_v: [c0 + m][n_kv_heads * 128], boxes of 64 x 128.
__global__ void __launch_bounds__(kThreads, 1)
    flash_prefill_hopper_kernel(const __grid_constant__ CUtensorMap map_q, const __grid_constant__ CUtensorMap map_k,
                                const __grid_constant__ CUtensorMap map_v, bf16 *out, int m, int c0, int n_heads,
                                int n_kv_heads, float scale_log2) {
#ifdef HKV_HOPPER_BODY
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  const uint32_t qs = ((uint32_t)__cvta_generic_to_shared(smem_raw) + 1023u) & ~1023u;
  const uint32_t ks = qs + kQBytes;               // [kStages] K tiles
  const uint32_t vs = ks + kStages * kTileBytes;  // [kStages] V tiles
  const uint32_t bars = vs + kStages * kTileBytes;
  const uint32_t q_full = bars;  // then full[kStages], empty[kStages]
  auto full = [&](int stage) { return bars + 8 * (1 + stage); };
  auto empty = [&](int stage) { return bars + 8 * (1 + kStages + stage); };

  // Longest query tiles first, every head's before any shorter one (as attention.cu).
  const int q0 = (gridDim.y - 1 - blockIdx.y) * kBlockRows;
  const int h = blockIdx.x, g = h / (n_heads / n_kv_heads);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int key_end = c0 + min(q0 + kBlockRows, m);  // keys any row of the block may see
  const int n_tiles = (key_end + kTileKeys - 1) / kTileKeys;

  if (threadIdx.x == 0) {
    mbar_init(q_full, 1);
    for (int s = 0; s < kStages; s++) {
      mbar_init(full(s), 1);
      mbar_init(empty(s), kConsumerWarps);
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();

  if (warp >= kConsumerWarps) {  // the producer warpgroup
    asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegisters));
    if (warp == kConsumerWarps && lane == 0) {
      mbar_expect_tx(q_full, kQBytes);
      tma_load_tile(qs, map_q, h * kD, q0, kBlockRows, q_full);
      for (int t = 0; t < n_tiles; t++) {
        const int stage = t % kStages, round = t / kStages;
        if (round > 0) mbar_wait(empty(stage), (round - 1) & 1);  // its previous tile is consumed
        mbar_expect_tx(full(stage), 2 * kTileBytes);
        tma_load_tile(ks + stage * kTileBytes, map_k, g * kD, t * kTileKeys, kTileKeys, full(stage));
        tma_load_tile(vs + stage * kTileBytes, map_v, g * kD, t * kTileKeys, kTileKeys, full(stage));
      }
    }
  } else {
    asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegisters));
    const int wg = warp / 4, wg_warp = warp % 4;
    float o[64];  // O[64 rows][128]: for each 8 columns j, o[4j..4j+3] = (r, c), (r, c+1), (r+8, c), (r+8, c+1)
    #pragma unroll
    for (int i = 0; i < 64; i++) o[i] = 0.f;
    float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.f, 0.f};
    const int wg_rows = m - q0 - wg * 64;  // rows of this warpgroup that exist
    const int wg_first = c0 + q0 + wg * 64, wg_last = wg_first + 63;
    const int warp_first = wg_first + wg_warp * 16;  // the warp's first query position
    const int pos_a = warp_first + lane / 4;         // the thread's first row (the second: + 8)
    // The warpgroup's tiles are a prefix of the block's: those starting at or before its last row.
    const int n_mine = wg_rows > 0 ? min(n_tiles, wg_last / kTileKeys + 1) : 0;
    mbar_wait(q_full, 0);
    // Every consumer warp waits for and releases every tile, computing or not, so that no warp
    // can arrive for a later use of a stage before this one's phase completes.
    auto release = [&](int t) {
      __syncwarp();
      if (lane == 0) mbar_arrive(empty(t % kStages));
    };

    // S = Q K_t^T: 8 steps of 16 dimensions; a step's 32 bytes lie inside one swizzled row.
    float s[64];
    auto issue_scores = [&](int t) {
      const uint32_t kt = ks + (t % kStages) * kTileBytes;
      #pragma unroll
      for (int kk = 0; kk < kD / 16; kk++) {
        const uint32_t col = (kk % 4) * 32;
        const uint64_t a = smem_desc(qs + (kk / 4) * kBlockRows * kRowBytes + wg * 64 * kRowBytes + col, 16, 1024);
        const uint64_t b = smem_desc(kt + (kk / 4) * kTileKeys * kRowBytes + col, 16, 1024);
        wgmma_ss(s, a, b, kk > 0);
      }
      wgmma_commit();
    };
    // O += P V_t: 8 steps of 16 keys; a step is two 8-row groups of the V tile (2048 bytes), its
    // two 64-column halves one box apart.
    uint32_t p[kTileKeys / 16][4];  // P as the A fragments of 8 steps of 16 keys
    auto issue_values = [&](int t) {
      const uint32_t vt = vs + (t % kStages) * kTileBytes;
      #pragma unroll
      for (int kk = 0; kk < kTileKeys / 16; kk++)
        wgmma_rs(o, p[kk], smem_desc(vt + kk * 16 * kRowBytes, kTileKeys * kRowBytes, 1024));
      wgmma_commit();
    };
    // The online softmax of tile t's scores: masks, moves the running maxima when a row grew by
    // more than kRescaleSlack (returning the factors O must be scaled by, else 1), and leaves the
    // probabilities in s.
    auto softmax = [&](int t, float (&alpha)[2]) {
      const int k0 = t * kTileKeys;
      // Mask future and missing keys: only a tile that reaches the warp's diagonal or the end
      // of the keys has any.
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
      const bool grew = quad_max_grew(tile_max, row_max, scale_log2, kRescaleSlack);
      alpha[0] = alpha[1] = 1.f;
      if (__any_sync(0xffffffffu, grew)) {
        #pragma unroll
        for (int r = 0; r < 2; r++) {
          const float new_max = fmaxf(row_max[r], tile_max[r]);
          alpha[r] = new_max == -INFINITY ? 1.f : exp2_ftz(row_max[r] - new_max);
          row_max[r] = new_max;
          row_sum[r] *= alpha[r];
        }
      }
      float neg_base[2];
      #pragma unroll
      for (int r = 0; r < 2; r++) neg_base[r] = row_max[r] == -INFINITY ? 0.f : -row_max[r];
      #pragma unroll
      for (int i = 0; i < 64; i++) {
        s[i] = exp2_ftz(fmaf(s[i], scale_log2, neg_base[(i >> 1) & 1]));
        row_sum[(i >> 1) & 1] += s[i];
      }
    };
    // O *= alpha (per row), then P into the A fragments: columns 8j..8j+7 of rows (r, r + 8);
    // j even fills fragment registers 0 and 1, j odd 2 and 3.
    auto rescale_and_pack = [&](const float (&alpha)[2]) {
      if (alpha[0] != 1.f || alpha[1] != 1.f) {
        #pragma unroll
        for (int i = 0; i < 64; i++) o[i] *= alpha[(i >> 1) & 1];
      }
      #pragma unroll
      for (int i = 0; i < 64; i += 2) {
        const int j = i / 4;
        p[j / 2][(j & 1) * 2 + ((i >> 1) & 1)] = pack_bf16(s[i], s[i + 1]);
      }
    };

    // Software pipeline within the warpgroup (FlashAttention-3's): tile t's scores are issued
    // together with tile t - 1's P V, so the tensor cores multiply P V while the softmax of tile
    // t runs; O is rescaled only after that P V has landed.
    if (n_mine > 0) {
      float alpha[2];
      mbar_wait(full(0), 0);
      wgmma_fence();
      issue_scores(0);
      wgmma_wait_all();
      pin(s);
      softmax(0, alpha);
      rescale_and_pack(alpha);
      for (int t = 1; t < n_mine; t++) {
        mbar_wait(full(t % kStages), (t / kStages) & 1);
        wgmma_fence();
        issue_scores(t);
        issue_values(t - 1);
        wgmma_wait_one();
        pin(s);
        softmax(t, alpha);
        wgmma_wait_all();
        pin(o);
        release(t - 1);
        rescale_and_pack(alpha);
      }
      wgmma_fence();
      issue_values(n_mine - 1);
      wgmma_wait_all();
      pin(o);
      release(n_mine - 1);
    }
    for (int t = n_mine; t < n_tiles; t++) {
      mbar_wait(full(t % kStages), (t / kStages) & 1);
      release(t);
    }

    if (wg_rows > 0) {
      #pragma unroll
      for (int r = 0; r < 2; r++) {
        row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 1);
        row_sum[r] += __shfl_xor_sync(0xffffffffu, row_sum[r], 2);
      }
      const int q_stride = n_heads * kD;
      const int t_a = q0 + wg * 64 + wg_warp * 16 + lane / 4, t_b = t_a + 8;
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
    }
  }
#endif
}

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

// cuTensorMapEncodeTiled from the driver (the runtime links no driver library).
PFN_cuTensorMapEncodeTiled_v12000 tensor_map_encoder() {
  static std::once_flag once;
  static PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
  std::call_once(once, [] {
    void *fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found) ==
            cudaSuccess &&
        found == cudaDriverEntryPointSuccess)
      encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
  });
  return encode;
}

// A row-major bf16 matrix [rows][cols] (row stride `stride` elements) read in 64 x box_rows boxes.
CUtensorMap tensor_map(const bf16 *base, int64_t rows, int64_t cols, int64_t stride, int box_rows) {
  CUtensorMap map;
  const cuuint64_t dims[2] = {(cuuint64_t)cols, (cuuint64_t)rows};
  const cuuint64_t strides[1] = {(cuuint64_t)stride * sizeof(bf16)};
  const cuuint32_t box[2] = {(cuuint32_t)kBoxCols, (cuuint32_t)box_rows};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult r = tensor_map_encoder()(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<bf16 *>(base), dims,
                                          strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                                          CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                          CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw Error(HKV_ERR_INTERNAL, "flash_prefill_hopper: cuTensorMapEncodeTiled failed (" + std::to_string((int)r) + ")");
  return map;
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
  by_device[device] = host == 1 && tensor_map_encoder() != nullptr;
  return by_device[device];
}

void flash_prefill_hopper(const bf16 *q, const bf16 *k, const bf16 *v, bf16 *out, int m, int c0, int n_heads,
                          int n_kv_heads, cudaStream_t stream) {
  const CUtensorMap map_q = tensor_map(q, m, (int64_t)n_heads * kD, (int64_t)n_heads * kD, kBlockRows);
  const CUtensorMap map_k = tensor_map(k, c0 + m, (int64_t)n_kv_heads * kD, (int64_t)n_kv_heads * kD, kTileKeys);
  const CUtensorMap map_v = tensor_map(v, c0 + m, (int64_t)n_kv_heads * kD, (int64_t)n_kv_heads * kD, kTileKeys);
  check(cudaFuncSetAttribute(flash_prefill_hopper_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes),
        "flash_prefill_hopper: shared memory size");
  const dim3 grid(n_heads, (m + kBlockRows - 1) / kBlockRows);
  flash_prefill_hopper_kernel<<<grid, kThreads, kSmemBytes, stream>>>(map_q, map_k, map_v, out, m, c0, n_heads,
                                                                       n_kv_heads, kLog2e / sqrtf((float)kD));
  check_launch("flash_prefill_hopper");
}

}  // namespace hkv::cuda

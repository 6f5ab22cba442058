// blas.cuh: the one cuBLAS call the CUDA backend makes (a bf16 GEMM with fp32 accumulation),
// with cuBLAS loaded at run time by dlopen rather than linked.
// Why at run time: the backend then compiles wherever nvcc is (CI has the compiler but no
// cuBLAS), the Node addon that links it starts on machines without cuBLAS, and a machine that
// lacks it fails one model load with an error naming the libraries tried.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

#include "cuda/device_buffer.cuh"

namespace hkv::cuda {

// Loads cuBLAS once per process (HEADKV_CUBLAS_LIBRARY, else libcublas.so.13/.12/libcublas.so on
// the loader's path, else the toolkit's directory found at build time). Throws
// Error(HKV_ERR_UNSUPPORTED) when none loads.
void require_cublas();

// One cuBLAS handle bound to one stream.
class Blas {
 public:
  explicit Blas(cudaStream_t stream);
  ~Blas();
  Blas(const Blas &) = delete;
  Blas &operator=(const Blas &) = delete;

  // Row-major out[m][n] = x[m][k] . w[n][k]^T, fp32 accumulation. out is bf16, or fp32 when
  // out_fp32 (then beta = 1 accumulates onto it, as the residual adds do).
  void gemm_bf16(const __nv_bfloat16 *x, const __nv_bfloat16 *w, void *out, bool out_fp32, float beta, int m, int n,
                 int k);

 private:
  // cuBLAS's recommendation for Hopper (4 MiB for earlier cards): the larger workspace lets its
  // heuristics pick the faster split-K and stream-K kernels for the prefill's big GEMMs.
  static constexpr size_t kWorkspaceBytes = 32u << 20;
  DeviceBuffer workspace_;
  struct cublasContext *handle_ = nullptr;
};

}  // namespace hkv::cuda

// cuda_check.cuh: CUDA failures become hkv::Error (never abort), with the call's own error
// string; running out of device memory is HKV_ERR_OUT_OF_MEMORY (cuBLAS's: cuda/blas.cu).
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "error.h"

namespace hkv::cuda {

[[noreturn]] inline void throw_cuda(cudaError_t err, const char *what) {
  cudaGetLastError();  // clear a sticky launch error so the next call reports its own
  const hkv_status status = err == cudaErrorMemoryAllocation ? HKV_ERR_OUT_OF_MEMORY : HKV_ERR_INTERNAL;
  throw Error(status, std::string("CUDA: ") + what + ": " + cudaGetErrorString(err));
}

inline void check(cudaError_t err, const char *what) {
  if (err != cudaSuccess) throw_cuda(err, what);
}

// After a kernel launch: reports a bad launch configuration at once.
inline void check_launch(const char *kernel) { check(cudaGetLastError(), kernel); }

}  // namespace hkv::cuda

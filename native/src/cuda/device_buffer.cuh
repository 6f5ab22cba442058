// device_buffer.cuh: one device allocation with an owner; grow() keeps the largest size asked
// so that per-call scratch is allocated once and reused.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>
#include <utility>

#include "cuda/cuda_check.cuh"

namespace hkv::cuda {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes, const char *what) { grow(bytes, what); }
  ~DeviceBuffer() { release(); }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
  DeviceBuffer(DeviceBuffer &&o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer &operator=(DeviceBuffer &&o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }

  // Ensures at least `bytes`; the old contents are not kept.
  void grow(size_t bytes, const char *what) {
    if (bytes <= bytes_) return;
    release();
    cudaError_t err = cudaMalloc(&ptr_, bytes);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      cudaGetLastError();
      const hkv_status status = err == cudaErrorMemoryAllocation ? HKV_ERR_OUT_OF_MEMORY : HKV_ERR_INTERNAL;
      throw Error(status, std::string("CUDA: allocating ") + std::to_string(bytes) + " bytes of GPU memory for " + what +
                              ": " + cudaGetErrorString(err));
    }
    bytes_ = bytes;
  }

  template <typename T>
  T *as() const { return static_cast<T *>(ptr_); }
  size_t bytes() const { return bytes_; }

 private:
  void release() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void *ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace hkv::cuda

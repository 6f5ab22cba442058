// aligned_buffer.h: an owned, 64-byte aligned float array (cache-line and AVX-512 aligned rows
// for the converted weights).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>

#include "error.h"

namespace hkv::loader {

class AlignedBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedBuffer() = default;
  // Throws hkv::Error(HKV_ERR_OUT_OF_MEMORY) when the allocation fails.
  explicit AlignedBuffer(uint64_t floats) : size_(floats) {
    if (floats == 0) return;
    uint64_t bytes = floats * sizeof(float);
    bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    data_ = static_cast<float *>(std::aligned_alloc(kAlignment, bytes));
    if (data_ == nullptr) {
      throw Error(HKV_ERR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes for fp32 weights");
    }
  }
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(AlignedBuffer &&other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;

  float *data() { return data_; }
  uint64_t size() const { return size_; }

 private:
  float *data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace hkv::loader

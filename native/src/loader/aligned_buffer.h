// aligned_buffer.h: an owned float array for the converted weights: 64-byte aligned (cache
// lines, AVX-512 rows), and backed by transparent huge pages when large (fewer page faults at
// load time and fewer TLB misses when the weights are streamed every token).
#pragma once

#include <cstdint>
#include <utility>

namespace hkv::loader {

class AlignedBuffer {
 public:
  static constexpr uint64_t kAlignment = 64;

  AlignedBuffer() = default;
  // Throws hkv::Error(HKV_ERR_OUT_OF_MEMORY) when the allocation fails.
  explicit AlignedBuffer(uint64_t floats);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer &&other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer &&other) noexcept;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;

  float *data() { return data_; }
  uint64_t size() const { return size_; }

 private:
  float *data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace hkv::loader

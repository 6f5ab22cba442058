// aligned_buffer.cpp: allocation for aligned_buffer.h.
#include "loader/aligned_buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "error.h"

namespace hkv::loader {

namespace {

constexpr uint64_t kHugePage = uint64_t(2) << 20;

}  // namespace

AlignedBuffer::AlignedBuffer(uint64_t floats) : size_(floats) {
  if (floats == 0) return;
  if (floats > std::numeric_limits<uint64_t>::max() / sizeof(float) - kHugePage) {
    throw Error(HKV_ERR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(floats) + " floats for fp32 weights");
  }
  uint64_t bytes = floats * sizeof(float);
  const uint64_t alignment = bytes >= kHugePage ? kHugePage : kAlignment;
  bytes = (bytes + alignment - 1) / alignment * alignment;
  data_ = static_cast<float *>(std::aligned_alloc(alignment, bytes));
  if (data_ == nullptr) {
    size_ = 0;
    throw Error(HKV_ERR_OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes for fp32 weights");
  }
#ifdef MADV_HUGEPAGE
  // Advice only: without transparent huge pages the buffer works the same.
  if (alignment == kHugePage) ::madvise(data_, bytes, MADV_HUGEPAGE);
#endif
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer &AlignedBuffer::operator=(AlignedBuffer &&other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace hkv::loader

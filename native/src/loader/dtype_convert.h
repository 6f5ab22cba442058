// dtype_convert.h: f16 / bf16 (and unaligned f32) tensor data -> fp32 buffers, spread over
// worker threads at load time.
#pragma once

#include <cstdint>
#include <vector>

#include "loader/safetensors.h"

namespace hkv::loader {

// IEEE 754 binary16 -> binary32, exact for every value (subnormals, infinities, NaN).
float f16_to_f32(uint16_t bits);
// bfloat16 -> binary32 (exact: bf16 is the top half of a float).
float bf16_to_f32(uint16_t bits);

struct ConversionJob {
  const uint8_t *src;  // little-endian elements of `dtype`, any alignment
  DType dtype;         // F32, F16 or BF16
  float *dst;          // `count` floats
  uint64_t count;
};

// Runs every job; the elements are split evenly over up to hardware_concurrency() threads
// (falls back to the calling thread when threads cannot be started).
void convert_to_f32(const std::vector<ConversionJob> &jobs);

}  // namespace hkv::loader

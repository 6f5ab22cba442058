// dtype_convert.cpp: scalar conversions and the threaded job runner (dtype_convert.h).
// Source elements are read with memcpy because safetensors data offsets need not be aligned.
#include "loader/dtype_convert.h"

#include <algorithm>
#include <cstring>
#include <system_error>
#include <thread>

namespace hkv::loader {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; big-endian hosts are not supported");

namespace {

inline float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t float_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// Below this many elements in total, starting threads costs more than it saves.
constexpr uint64_t kMinElementsPerThread = 1 << 20;

void convert_range(const ConversionJob &job, uint64_t first, uint64_t last) {
  float *dst = job.dst + first;
  switch (job.dtype) {
    case DType::F32:
      std::memcpy(dst, job.src + first * 4, (last - first) * 4);
      break;
    case DType::F16:
    case DType::BF16: {
      const uint8_t *src = job.src + first * 2;
      const bool half = job.dtype == DType::F16;
      for (uint64_t i = 0; i < last - first; ++i) {
        uint16_t bits;
        std::memcpy(&bits, src + 2 * i, 2);
        dst[i] = half ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      break;
    }
    case DType::Other:
      break;  // callers never pass other dtypes (the loader rejects them first)
  }
}

// Converts elements [lo, hi) of the concatenation of all jobs.
void convert_slice(const std::vector<ConversionJob> &jobs, uint64_t lo, uint64_t hi) {
  uint64_t job_start = 0;
  for (const ConversionJob &job : jobs) {
    uint64_t job_end = job_start + job.count;
    uint64_t a = std::max(lo, job_start), b = std::min(hi, job_end);
    if (a < b) convert_range(job, a - job_start, b - job_start);
    job_start = job_end;
    if (job_start >= hi) break;
  }
}

}  // namespace

float f16_to_f32(uint16_t h) {
  // Rebias the exponent; infinities/NaN keep an all-ones exponent; subnormals are renormalised
  // by a float subtraction (F. Giesen's half_to_float).
  constexpr uint32_t shifted_exp = 0x7c00u << 13;
  uint32_t o = (static_cast<uint32_t>(h) & 0x7fffu) << 13;
  uint32_t exp = shifted_exp & o;
  o += (127u - 15u) << 23;
  if (exp == shifted_exp) {
    o += (128u - 16u) << 23;
  } else if (exp == 0) {
    o += 1u << 23;
    o = float_to_bits(bits_to_float(o) - bits_to_float(113u << 23));
  }
  o |= (static_cast<uint32_t>(h) & 0x8000u) << 16;
  return bits_to_float(o);
}

float bf16_to_f32(uint16_t bits) { return bits_to_float(static_cast<uint32_t>(bits) << 16); }

void convert_to_f32(const std::vector<ConversionJob> &jobs) {
  uint64_t total = 0;
  for (const ConversionJob &job : jobs) total += job.count;
  uint64_t hw = std::max(1u, std::thread::hardware_concurrency());
  uint64_t n_threads = std::min<uint64_t>(hw, std::max<uint64_t>(1, total / kMinElementsPerThread));
  uint64_t per_thread = (total + n_threads - 1) / std::max<uint64_t>(n_threads, 1);

  std::vector<std::thread> workers;
  uint64_t next = 0;
  // Slices 1..n-1 go to workers; if a thread cannot be started its slice stays with us.
  for (uint64_t t = 1; t < n_threads; ++t) {
    uint64_t lo = t * per_thread, hi = std::min(total, lo + per_thread);
    if (lo >= hi) break;
    try {
      workers.emplace_back(convert_slice, std::cref(jobs), lo, hi);
    } catch (const std::system_error &) {
      next = lo;
      break;
    }
    next = hi;
  }
  convert_slice(jobs, 0, std::min(total, per_thread));
  if (next != 0 && next < total) convert_slice(jobs, next, total);
  for (std::thread &w : workers) w.join();
}

}  // namespace hkv::loader

// runtime.h: what a model needs on its device, made once at load: the CPU runtime holds the
// thread pool; the CUDA runtime holds the weights in device memory and the cuBLAS handle.
// Each context asks its model's runtime for a backend of its own.
#pragma once

#include <memory>
#include <string>

#include "backend.h"
#include "headkv.h"
#include "model.h"

namespace hkv {

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual const char *device_name() const = 0;  // e.g. "cpu (16 threads)", "NVIDIA H100 80GB HBM3"
  // Bytes of one KV page (K and V of page_tokens tokens of one head) in this device's format.
  virtual int64_t page_bytes(int page_tokens) const = 0;
  // Largest KV pool this device can hold for a context, in bytes, given what is free now.
  virtual int64_t available_kv_bytes() const = 0;
  virtual std::unique_ptr<Backend> make_backend(int64_t n_pages, const hkv_context_params &params) = 0;
};

// Makes the runtime of the device named in params (HKV_DEVICE_CPU or HKV_DEVICE_CUDA). Throws
// HKV_ERR_UNSUPPORTED for CUDA in a build without it, or when no GPU is visible.
std::unique_ptr<Runtime> make_runtime(const LoadedModel &model, const hkv_model_params &params);

}  // namespace hkv

// cuda_runtime.cu: the CUDA runtime (the model's bf16 weights on one GPU) and
// make_cuda_runtime, which cpu/cpu_runtime.cpp's make_runtime calls for HKV_DEVICE_CUDA.
#include <memory>
#include <string>

#include "cuda/attention.cuh"
#include "cuda/blas.cuh"
#include "cuda/cuda_backend.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device_weights.cuh"
#include "runtime.h"

namespace hkv {

namespace {

// GPU memory kept out of the KV pool for prefill scratch (residual stream, one layer's K/V,
// window scores) and cuBLAS workspaces.
constexpr int64_t kScratchReserveBytes = int64_t(2) << 30;

class CudaRuntime final : public Runtime {
 public:
  CudaRuntime(const LoadedModel &model, int device) : model_(model), device_(device) {
    const Config &c = model.config;
    if (!cuda::attention_supports_head_dim(c.head_dim))
      throw Error(HKV_ERR_UNSUPPORTED, "CUDA backend: head_dim " + std::to_string(c.head_dim) +
                                           " is not supported (16, 32, 64, 128 or 256)");
    cuda::check(cudaSetDevice(device_), "cudaSetDevice");
    cudaDeviceProp prop{};
    cuda::check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    if (prop.major < 8)
      throw Error(HKV_ERR_UNSUPPORTED, std::string("CUDA backend: ") + prop.name + " has compute capability " +
                                           std::to_string(prop.major) + "." + std::to_string(prop.minor) +
                                           "; bf16 tensor cores need 8.0 or newer");
    name_ = prop.name;
    cuda::require_cublas();  // before the weights go up: a missing cuBLAS fails the load at once
    cuda::upload_weights(model, weights_);
  }

  const char *device_name() const override { return name_.c_str(); }
  int64_t page_bytes(int page_tokens) const override { return cuda::CudaBackend::page_bytes(model_.config, page_tokens); }
  int64_t available_kv_bytes() const override {
    cuda::check(cudaSetDevice(device_), "cudaSetDevice");
    size_t free_bytes = 0, total_bytes = 0;
    cuda::check(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
    return std::max<int64_t>(0, (int64_t)free_bytes - kScratchReserveBytes);
  }
  std::unique_ptr<Backend> make_backend(int64_t n_pages, const hkv_context_params &params) override {
    return std::make_unique<cuda::CudaBackend>(model_.config, weights_, device_, n_pages, params.page_tokens,
                                               params.prefill_chunk, params.max_sequences);
  }

 private:
  const LoadedModel &model_;
  int device_;
  std::string name_;
  cuda::DeviceWeights weights_;
};

}  // namespace

std::unique_ptr<Runtime> make_cuda_runtime(const LoadedModel &model, const hkv_model_params &params) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    throw Error(HKV_ERR_UNSUPPORTED, std::string("model.device: CUDA requested but no GPU is visible (") +
                                         (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices") + ")");
  }
  if (params.gpu_index < 0 || params.gpu_index >= count)
    throw Error(HKV_ERR_INVALID_ARGUMENT, "model.gpu_index: " + std::to_string(params.gpu_index) + " is not one of the " +
                                              std::to_string(count) + " visible GPUs");
  return std::make_unique<CudaRuntime>(model, params.gpu_index);
}

}  // namespace hkv

// cpu_runtime.cpp: the CPU runtime, and make_runtime's dispatch on the requested device.
#include <string>
#include <thread>

#include "cpu/cpu_backend.h"
#include "error.h"
#include "runtime.h"
#include "thread_pool.h"

namespace hkv {

#ifdef HEADKV_WITH_CUDA
std::unique_ptr<Runtime> make_cuda_runtime(const LoadedModel &model, const hkv_model_params &params);
#endif

namespace {

class CpuRuntime final : public Runtime {
 public:
  CpuRuntime(const LoadedModel &model, int n_threads)
      : model_(model), pool_(n_threads), name_("cpu (" + std::to_string(pool_.size()) + " threads)") {}
  const char *device_name() const override { return name_.c_str(); }
  int64_t page_bytes(int page_tokens) const override { return CpuBackend::page_bytes(model_.config, page_tokens); }
  // Host memory is not reserved up front (pages are committed as written): no device limit.
  int64_t available_kv_bytes() const override { return INT64_MAX; }
  std::unique_ptr<Backend> make_backend(int64_t n_pages, const hkv_context_params &params) override {
    return std::make_unique<CpuBackend>(model_, pool_, n_pages, params.page_tokens, params.prefill_chunk,
                                        params.max_sequences);
  }

 private:
  const LoadedModel &model_;
  ThreadPool pool_;
  std::string name_;
};

}  // namespace

std::unique_ptr<Runtime> make_runtime(const LoadedModel &model, const hkv_model_params &params) {
  if (params.device == HKV_DEVICE_CPU) return std::make_unique<CpuRuntime>(model, params.n_threads);
  if (params.device == HKV_DEVICE_CUDA) {
#ifdef HEADKV_WITH_CUDA
    return make_cuda_runtime(model, params);
#else
    throw Error(HKV_ERR_UNSUPPORTED, "model.device: this build of the engine has no CUDA backend (rebuild with HEADKV_CUDA=ON)");
#endif
  }
  throw Error(HKV_ERR_INVALID_ARGUMENT, "model.device: unknown device " + std::to_string((int)params.device));
}

}  // namespace hkv

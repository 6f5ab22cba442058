#include "cuda/blas.cuh"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "error.h"

namespace hkv::cuda {

namespace {

// The cuBLAS v2 ABI of the entry points used here (stable since CUDA 11): enums are C ints.
using Handle = cublasContext *;
constexpr int kStatusSuccess = 0;       // CUBLAS_STATUS_SUCCESS
constexpr int kStatusAllocFailed = 3;   // CUBLAS_STATUS_ALLOC_FAILED
constexpr int kOpN = 0, kOpT = 1;       // CUBLAS_OP_N, CUBLAS_OP_T
constexpr int kComputeF32 = 68;         // CUBLAS_COMPUTE_32F
constexpr int kGemmDefault = -1;        // CUBLAS_GEMM_DEFAULT

struct CublasApi {
  int (*create)(Handle *);
  int (*destroy)(Handle);
  int (*set_stream)(Handle, cudaStream_t);
  int (*set_workspace)(Handle, void *, size_t);
  int (*gemm_ex)(Handle, int, int, int, int, int, const void *, const void *, cudaDataType, int, const void *,
                 cudaDataType, int, const void *, void *, cudaDataType, int, int, int);
  const char *(*status_string)(int);
};

std::vector<std::string> library_candidates() {
  std::vector<std::string> names;
  if (const char *env = std::getenv("HEADKV_CUBLAS_LIBRARY"); env && *env) names.push_back(env);
  for (const char *soname : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) names.push_back(soname);
#ifdef HKV_CUBLAS_BUILD_DIR
  names.push_back(std::string(HKV_CUBLAS_BUILD_DIR) + "/libcublas.so");
#endif
  return names;
}

template <typename Fn>
void resolve(void *lib, const char *symbol, Fn &fn, const std::string &path) {
  fn = reinterpret_cast<Fn>(dlsym(lib, symbol));
  if (!fn) throw Error(HKV_ERR_UNSUPPORTED, "CUDA backend: " + path + " has no symbol " + symbol + " (cuBLAS 11 or newer is needed)");
}

CublasApi load_cublas() {
  std::string tried;
  for (const std::string &name : library_candidates()) {
    void *lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char *why = dlerror();
      tried += "\n  " + name + ": " + (why ? why : "not found");
      continue;
    }
    CublasApi api{};
    resolve(lib, "cublasCreate_v2", api.create, name);
    resolve(lib, "cublasDestroy_v2", api.destroy, name);
    resolve(lib, "cublasSetStream_v2", api.set_stream, name);
    resolve(lib, "cublasSetWorkspace_v2", api.set_workspace, name);
    resolve(lib, "cublasGemmEx", api.gemm_ex, name);
    resolve(lib, "cublasGetStatusString", api.status_string, name);
    return api;  // the library stays loaded for the life of the process
  }
  throw Error(HKV_ERR_UNSUPPORTED,
              "CUDA backend: cuBLAS could not be loaded; install the CUDA toolkit's cuBLAS or set "
              "HEADKV_CUBLAS_LIBRARY to its path. Tried:" + tried);
}

const CublasApi &cublas() {
  static std::once_flag once;
  static CublasApi api;
  static std::string failure;
  static hkv_status failure_status = HKV_OK;
  std::call_once(once, [] {
    try {
      api = load_cublas();
    } catch (const Error &e) {
      failure = e.what();
      failure_status = e.status();
    }
  });
  if (failure_status != HKV_OK) throw Error(failure_status, failure);
  return api;
}

void check(int status, const char *what) {
  if (status == kStatusSuccess) return;
  throw Error(status == kStatusAllocFailed ? HKV_ERR_OUT_OF_MEMORY : HKV_ERR_INTERNAL,
              std::string("cuBLAS: ") + what + ": " + cublas().status_string(status));
}

}  // namespace

void require_cublas() { cublas(); }

Blas::Blas(cudaStream_t stream) : workspace_(kWorkspaceBytes, "cuBLAS workspace") {
  const CublasApi &api = cublas();
  check(api.create(&handle_), "cublasCreate");
  // After the stream: setting a stream puts the handle back on cuBLAS's default workspace.
  int st = api.set_stream(handle_, stream);
  if (st == kStatusSuccess) st = api.set_workspace(handle_, workspace_.as<void>(), workspace_.bytes());
  if (st != kStatusSuccess) {
    api.destroy(handle_);
    check(st, "cublasSetStream / cublasSetWorkspace");
  }
}

Blas::~Blas() {
  if (handle_) cublas().destroy(handle_);
}

void Blas::gemm_bf16(const __nv_bfloat16 *x, const __nv_bfloat16 *w, void *out, bool out_fp32, float beta, int m, int n,
                     int k) {
  // Row-major out[m][n] = x[m][k] w[n][k]^T is column-major out^T[n][m] = w^T x^T.
  const float alpha = 1.0f;
  check(cublas().gemm_ex(handle_, kOpT, kOpN, n, m, k, &alpha, w, CUDA_R_16BF, k, x, CUDA_R_16BF, k, &beta, out,
                         out_fp32 ? CUDA_R_32F : CUDA_R_16BF, n, kComputeF32, kGemmDefault),
        "cublasGemmEx");
}

}  // namespace hkv::cuda

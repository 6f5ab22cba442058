// headkv.hpp: a thin C++ RAII layer over the C ABI of headkv.h, for C++ callers (benchmarks,
// drivers). Handles free themselves; a failed call throws headkv::Error with the engine's
// status and message. Nothing here adds behaviour: every method is one C call.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "headkv.h"

namespace headkv {

class Error : public std::runtime_error {
 public:
  Error(hkv_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
  hkv_status status() const { return status_; }

 private:
  hkv_status status_;
};

// Throws the calling thread's last engine error when status is not HKV_OK.
inline void check(hkv_status status) {
  if (status != HKV_OK) throw Error(status, hkv_last_error());
}

class Model {
 public:
  explicit Model(const std::string &dir, const hkv_model_params &params = hkv_model_default_params()) {
    hkv_model *model = nullptr;
    check(hkv_model_load(dir.c_str(), &params, &model));
    handle_.reset(model);
  }
  hkv_model *get() const { return handle_.get(); }
  hkv_model_info info() const {
    hkv_model_info out;
    check(hkv_model_get_info(handle_.get(), &out));
    return out;
  }

 private:
  std::unique_ptr<hkv_model, decltype(&hkv_model_free)> handle_{nullptr, hkv_model_free};
};

// A context borrows its model: the Model must outlive it.
class Context {
 public:
  explicit Context(const Model &model, const hkv_context_params &params = hkv_context_default_params()) {
    hkv_context *ctx = nullptr;
    check(hkv_context_create(model.get(), &params, &ctx));
    handle_.reset(ctx);
  }
  hkv_context *get() const { return handle_.get(); }

  int32_t add(const std::vector<int32_t> &prompt, const hkv_sampling_params &sampling, const hkv_kv_params &kv) {
    int32_t id = -1;
    check(hkv_seq_add(handle_.get(), prompt.data(), (int32_t)prompt.size(), &sampling, &kv, &id));
    return id;
  }
  int32_t prefill(int32_t id, hkv_progress_fn progress = nullptr, void *user = nullptr) {
    int32_t token = -1;
    check(hkv_seq_prefill(handle_.get(), id, progress, user, &token));
    return token;
  }
  int32_t fork(int32_t id, const hkv_sampling_params &sampling) {
    int32_t forked = -1;
    check(hkv_seq_fork(handle_.get(), id, &sampling, &forked));
    return forked;
  }
  // One decode step of every decoding sequence; `out` is resized to the sequences stepped.
  void step(std::vector<hkv_step_token> &out, int32_t max_sequences) {
    out.resize(max_sequences);
    int32_t n = 0;
    check(hkv_step(handle_.get(), out.data(), max_sequences, &n));
    out.resize(n);
  }
  void cancel(int32_t id) { check(hkv_seq_cancel(handle_.get(), id)); }
  void remove(int32_t id) { check(hkv_seq_remove(handle_.get(), id)); }
  hkv_seq_info info(int32_t id) const {
    hkv_seq_info out;
    check(hkv_seq_get_info(handle_.get(), id, &out));
    return out;
  }
  hkv_context_stats stats() const {
    hkv_context_stats out;
    check(hkv_context_get_stats(handle_.get(), &out));
    return out;
  }

 private:
  std::unique_ptr<hkv_context, decltype(&hkv_context_free)> handle_{nullptr, hkv_context_free};
};

}  // namespace headkv

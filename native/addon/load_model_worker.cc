// load_model_worker.cc: hkv_model_load in a worker thread.
#include "load_model_worker.h"

#include <cmath>

#include "model.h"

namespace headkv_addon {

LoadModelWorker::LoadModelWorker(Napi::Env env, std::string dir, hkv_model_params params)
    : Napi::AsyncWorker(env, "headkv.loadModel"),
      deferred_(Napi::Promise::Deferred::New(env)),
      dir_(std::move(dir)),
      params_(params) {}

Napi::Value LoadModelWorker::Start(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(env, "loadModel(dir, options): dir must be a string");
  }
  hkv_model_params params = hkv_model_default_params();
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) {
    if (!info[1].IsObject()) throw Napi::TypeError::New(env, "loadModel(dir, options): options must be an object");
    Napi::Value threads = info[1].As<Napi::Object>().Get("threads");
    if (!threads.IsUndefined()) {
      double number = threads.IsNumber() ? threads.As<Napi::Number>().DoubleValue() : -1;
      if (number != std::floor(number) || number < 0 || number > 4096) {
        throw Napi::RangeError::New(env, "loadModel options.threads must be an integer in [0, 4096] (0 = all cores)");
      }
      params.n_threads = static_cast<int32_t>(number);
    }
    Napi::Value device = info[1].As<Napi::Object>().Get("device");
    if (!device.IsUndefined()) {
      const std::string name = device.IsString() ? device.As<Napi::String>().Utf8Value() : "";
      if (name == "cpu") params.device = HKV_DEVICE_CPU;
      else if (name == "cuda") params.device = HKV_DEVICE_CUDA;
      else throw Napi::TypeError::New(env, "loadModel options.device must be 'cpu' or 'cuda'");
    }
    Napi::Value gpu = info[1].As<Napi::Object>().Get("gpuIndex");
    if (!gpu.IsUndefined()) {
      double number = gpu.IsNumber() ? gpu.As<Napi::Number>().DoubleValue() : -1;
      if (number != std::floor(number) || number < 0 || number > 1024) {
        throw Napi::RangeError::New(env, "loadModel options.gpuIndex must be a non-negative integer");
      }
      params.gpu_index = static_cast<int32_t>(number);
    }
  }
  auto *worker = new LoadModelWorker(env, info[0].As<Napi::String>().Utf8Value(), params);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

void LoadModelWorker::Execute() {
  if (failure_.Capture(hkv_model_load(dir_.c_str(), &params_, &model_))) SetError(failure_.message);
}

void LoadModelWorker::OnOK() {
  try {
    deferred_.Resolve(Model::Wrap(Env(), model_));
  } catch (const Napi::Error &error) {
    deferred_.Reject(error.Value());
  }
}

void LoadModelWorker::OnError(const Napi::Error &) {
  deferred_.Reject(MakeEngineError(Env(), failure_.status, failure_.message).Value());
}

}  // namespace headkv_addon

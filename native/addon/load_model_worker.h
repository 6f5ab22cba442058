// load_model_worker.h: loadModel(dir, {threads}) -> Promise<Model>, reading weights off the JS thread.
#pragma once

#include <napi.h>

#include <string>

#include "engine_error.h"
#include "headkv.h"

namespace headkv_addon {

class LoadModelWorker : public Napi::AsyncWorker {
 public:
  LoadModelWorker(Napi::Env env, std::string dir, hkv_model_params params);
  Napi::Promise Promise() const { return deferred_.Promise(); }

  // The JavaScript entry point loadModel(dir, options).
  static Napi::Value Start(const Napi::CallbackInfo &info);

 protected:
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error &error) override;

 private:
  Napi::Promise::Deferred deferred_;
  std::string dir_;
  hkv_model_params params_;
  hkv_model *model_ = nullptr;
  EngineFailure failure_;
};

}  // namespace headkv_addon

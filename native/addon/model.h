// model.h: the JavaScript Model class wrapping one hkv_model (weights and config).
#pragma once

#include <napi.h>

#include <memory>

#include "headkv.h"

namespace headkv_addon {

class Model : public Napi::ObjectWrap<Model> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // Wraps an already loaded model; called from LoadModelWorker on the JavaScript thread.
  static Napi::Object Wrap(Napi::Env env, hkv_model *model);

  explicit Model(const Napi::CallbackInfo &info);
  ~Model() override;

 private:
  // Throws when the model was disposed; `operation` names the call in the message.
  const std::shared_ptr<hkv_model> &Handle(Napi::Env env, const char *operation) const;

  Napi::Value GetInfo(const Napi::CallbackInfo &info);
  Napi::Value CreateContext(const Napi::CallbackInfo &info);
  Napi::Value Dispose(const Napi::CallbackInfo &info);
  Napi::Value IsDisposed(const Napi::CallbackInfo &info);
  // Shared with the model's contexts, which need the weights until they are freed themselves,
  // whatever order the garbage collector finalizes the JavaScript objects in.
  std::shared_ptr<hkv_model> model_;
  hkv_model_info info_{};
};

}  // namespace headkv_addon

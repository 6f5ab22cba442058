// addon_data.h: per-environment data of the addon (the constructors that native code calls).
#pragma once

#include <napi.h>

namespace headkv_addon {

struct AddonData {
  Napi::FunctionReference model_constructor;
  Napi::FunctionReference context_constructor;
};

inline AddonData &GetAddonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace headkv_addon

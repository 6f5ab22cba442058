// engine_error.cc: engine status -> JavaScript Error with a `code` property.
#include "engine_error.h"

namespace headkv_addon {

const char *StatusCodeName(hkv_status status) {
  switch (status) {
    case HKV_OK: return "HKV_OK";
    case HKV_ERR_INVALID_ARGUMENT: return "HKV_ERR_INVALID_ARGUMENT";
    case HKV_ERR_IO: return "HKV_ERR_IO";
    case HKV_ERR_FORMAT: return "HKV_ERR_FORMAT";
    case HKV_ERR_UNSUPPORTED: return "HKV_ERR_UNSUPPORTED";
    case HKV_ERR_OUT_OF_MEMORY: return "HKV_ERR_OUT_OF_MEMORY";
    case HKV_ERR_NOT_FOUND: return "HKV_ERR_NOT_FOUND";
    case HKV_ERR_CANCELLED: return "HKV_ERR_CANCELLED";
    case HKV_ERR_STATE: return "HKV_ERR_STATE";
    case HKV_ERR_INTERNAL: return "HKV_ERR_INTERNAL";
  }
  return "HKV_ERR_UNKNOWN";
}

Napi::Error MakeEngineError(Napi::Env env, hkv_status status, const std::string &message) {
  // An engine that fails without a message still yields a readable error.
  std::string text = message.empty() ? std::string("engine call failed with ") + StatusCodeName(status) : message;
  Napi::Error error = Napi::Error::New(env, text);
  error.Set("code", Napi::String::New(env, StatusCodeName(status)));
  return error;
}

bool EngineFailure::Capture(hkv_status result) {
  status = result;
  if (result == HKV_OK) return false;
  const char *last = hkv_last_error();
  message = last ? last : "";
  return true;
}

void ThrowIfFailed(Napi::Env env, hkv_status result) {
  EngineFailure failure;
  if (failure.Capture(result)) throw MakeEngineError(env, failure.status, failure.message);
}

}  // namespace headkv_addon

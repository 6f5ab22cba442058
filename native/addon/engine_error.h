// engine_error.h: turns an engine status and message into a JavaScript Error with a `code`.
#pragma once

#include <napi.h>

#include <string>

#include "headkv.h"

namespace headkv_addon {

// "HKV_ERR_FORMAT" for HKV_ERR_FORMAT, ...; "HKV_ERR_UNKNOWN" for values outside the enum.
const char *StatusCodeName(hkv_status status);

// Error whose message is the engine's message and whose `code` names the status.
Napi::Error MakeEngineError(Napi::Env env, hkv_status status, const std::string &message);

// A failed engine call as captured on the thread that made it (hkv_last_error is per thread).
struct EngineFailure {
  hkv_status status = HKV_OK;
  std::string message;

  // Records `status` with hkv_last_error() of the calling thread; returns true on failure.
  bool Capture(hkv_status result);
};

// Throws MakeEngineError for a failed call made on the JavaScript thread.
void ThrowIfFailed(Napi::Env env, hkv_status result);

}  // namespace headkv_addon

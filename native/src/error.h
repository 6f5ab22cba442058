// error.h: the engine's one exception type; the C ABI turns it into a status and a message.
#pragma once

#include <stdexcept>
#include <string>

#include "headkv.h"

namespace hkv {

class Error : public std::runtime_error {
 public:
  Error(hkv_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
  hkv_status status() const { return status_; }

 private:
  hkv_status status_;
};

}  // namespace hkv

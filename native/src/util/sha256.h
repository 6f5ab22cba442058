// sha256.h: SHA-256 (FIPS 180-4), used for the model fingerprint. Incremental: update() any
// number of times, then hex_digest() once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace hkv {

class Sha256 {
 public:
  Sha256();
  void update(const void *data, size_t size);
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();

 private:
  void compress(const uint8_t *block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// One-shot convenience: lowercase hex SHA-256 of a byte string.
std::string sha256_hex(const void *data, size_t size);

}  // namespace hkv

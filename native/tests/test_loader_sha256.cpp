// test_loader_sha256.cpp: SHA-256 against the FIPS 180-2 / NIST test vectors, including
// incremental updates that straddle block boundaries.
#include <string>

#include "test_loader_support.h"
#include "util/sha256.h"

int main() {
  const std::string abc = "abc";
  CHECK_EQ_STR(hkv::sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK_EQ_STR(hkv::sha256_hex(abc.data(), abc.size()),
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK_EQ_STR(hkv::sha256_hex(two_blocks.data(), two_blocks.size()),
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  const std::string long_vector =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  CHECK_EQ_STR(hkv::sha256_hex(long_vector.data(), long_vector.size()),
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");

  // One million 'a', fed in uneven pieces.
  hkv::Sha256 h;
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    size_t n = left < chunk.size() ? left : chunk.size();
    h.update(chunk.data(), n);
    left -= n;
  }
  CHECK_EQ_STR(h.hex_digest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  // Byte-at-a-time must equal one-shot.
  hkv::Sha256 bytewise;
  for (char c : two_blocks) bytewise.update(&c, 1);
  CHECK_EQ_STR(bytewise.hex_digest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  return hkv_test::finish("test_loader_sha256");
}

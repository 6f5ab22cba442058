// test_loader_support.h: the loader tests' checks (llm.c style: print what failed, with the
// values, keep going, exit non-zero at the end) and a scratch directory helper.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>

#include "error.h"

namespace hkv_test {

inline int &failures() {
  static int count = 0;
  return count;
}

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) {                                                        \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++hkv_test::failures();                                             \
    }                                                                     \
  } while (0)

#define CHECK_EQ_STR(actual, expected)                                                           \
  do {                                                                                           \
    const std::string a_ = (actual), e_ = (expected);                                             \
    if (a_ != e_) {                                                                              \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s == %s\n  actual:   \"%s\"\n  expected: \"%s\"\n", \
                   __FILE__, __LINE__, #actual, #expected, a_.c_str(), e_.c_str());               \
      ++hkv_test::failures();                                                                    \
    }                                                                                            \
  } while (0)

#define CHECK_EQ_NUM(actual, expected)                                                              \
  do {                                                                                              \
    const double a_ = static_cast<double>(actual), e_ = static_cast<double>(expected);              \
    if (!(a_ == e_)) {                                                                              \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s == %s (actual %.17g, expected %.17g)\n", __FILE__, \
                   __LINE__, #actual, #expected, a_, e_);                                           \
      ++hkv_test::failures();                                                                       \
    }                                                                                               \
  } while (0)

// Runs `fn`, which must throw hkv::Error with `status` and a message containing every string
// of `needles`. `what` names the case in failure output.
inline void expect_error(const std::string &what, const std::function<void()> &fn, hkv_status status,
                         std::initializer_list<std::string> needles) {
  try {
    fn();
  } catch (const hkv::Error &e) {
    if (e.status() != status) {
      std::fprintf(stderr, "FAIL %s: status %d, expected %d (message: %s)\n", what.c_str(), int(e.status()),
                   int(status), e.what());
      ++failures();
      return;
    }
    const std::string message = e.what();
    for (const std::string &needle : needles) {
      if (message.find(needle) == std::string::npos) {
        std::fprintf(stderr, "FAIL %s: message lacks \"%s\": %s\n", what.c_str(), needle.c_str(), message.c_str());
        ++failures();
      }
    }
    return;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "FAIL %s: threw a non-hkv exception: %s\n", what.c_str(), e.what());
    ++failures();
    return;
  }
  std::fprintf(stderr, "FAIL %s: no error thrown, expected status %d\n", what.c_str(), int(status));
  ++failures();
}

// A fresh directory under the system temp dir, removed with its content on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string &tag) {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("hkv-" + tag + "-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir &) = delete;
  ScratchDir &operator=(const ScratchDir &) = delete;
  const std::filesystem::path &path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline int finish(const char *suite) {
  if (failures() == 0) {
    std::printf("%s: all checks passed\n", suite);
    return 0;
  }
  std::fprintf(stderr, "%s: %d check(s) failed\n", suite, failures());
  return 1;
}

}  // namespace hkv_test

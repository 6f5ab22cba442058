#include "rope.h"

#include <cmath>

namespace hkv {

Rope::Rope(const RopeConfig &cfg, int head_dim) : head_dim_(head_dim), inv_freq_(head_dim / 2) {
  const int half = head_dim / 2;
  for (int i = 0; i < half; i++) {
    // transformers computes these in float32: 1 / base ** (arange(0, d, 2).float() / d)
    float f = static_cast<float>(1.0 / std::pow(cfg.theta, static_cast<double>(static_cast<float>(2 * i) / head_dim)));
    if (cfg.type == RopeType::Linear) {
      f = static_cast<float>(f / cfg.factor);
    } else if (cfg.type == RopeType::Llama3) {
      // Llama 3.1: long wavelengths are divided by `factor`, short ones kept, a smooth blend between.
      const double low_wavelen = cfg.original_max_position / cfg.low_freq_factor;
      const double high_wavelen = cfg.original_max_position / cfg.high_freq_factor;
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f = static_cast<float>(f / cfg.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (cfg.original_max_position / wavelen - cfg.low_freq_factor) /
                              (cfg.high_freq_factor - cfg.low_freq_factor);
        f = static_cast<float>((1.0 - smooth) * f / cfg.factor + smooth * f);
      }
    }
    inv_freq_[i] = f;
  }
}

void Rope::apply(float *x, int n_heads, int pos) const {
  const int half = head_dim_ / 2;
  for (int i = 0; i < half; i++) {
    const float angle = static_cast<float>(pos) * inv_freq_[i];  // float32 product, as transformers
    const float c = std::cos(angle), s = std::sin(angle);
    for (int h = 0; h < n_heads; h++) {
      float *v = x + (int64_t)h * head_dim_;
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }
}

}  // namespace hkv

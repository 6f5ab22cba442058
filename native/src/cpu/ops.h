// ops.h: fp32 CPU kernels of the forward pass. Shapes are given per argument; all matrices are
// row-major and dense unless a stride is passed.
#pragma once

#include <cstdint>

#include "thread_pool.h"

namespace hkv::cpu {

float dot(const float *a, const float *b, int n);
// y[n] += a * x[n]
void axpy(float a, const float *x, float *y, int n);

// out[m][n] = x[m][k] . w[n][k]^T (+ bias[n]); threads split the n output columns so that each
// weight row is read once for all m inputs (decode is bandwidth-bound on the weights).
void matmul(ThreadPool &pool, float *out, const float *x, const float *w, const float *bias, int m, int n, int k);

// out[m][d] = x[m][d] / rms(x) * weight[d]
void rmsnorm(ThreadPool &pool, float *out, const float *x, const float *weight, int m, int d, float eps);

// gate[m][n] = silu(gate) * up, in place
void silu_mul(ThreadPool &pool, float *gate, const float *up, int64_t count);

// x[n] <- softmax(x[n]) in place (max-subtracted); returns nothing
void softmax(float *x, int n);
// x[n] <- exp(x[n] - shift) in place; returns their sum. Softmax without the max pass and the
// normalisation, for callers that know the max and can divide later (attention divides its
// head_dim outputs instead of its n weights).
float exp_sum(float *x, int n, float shift);

}  // namespace hkv::cpu

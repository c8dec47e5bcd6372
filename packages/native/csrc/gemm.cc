#include <algorithm>
#include <cmath>

#include "blas.h"
#include "kernels.h"
#include "parallel.h"

namespace iv2 {

namespace {

void epilogue(float* c, int m, int n, const float* bias, int bias_len, int act, float alpha) {
  const int64_t size = int64_t(m) * n;
  if (bias_len == 1) {
    const float b0 = bias[0];
    for (int64_t i = 0; i < size; i++) c[i] += b0;
  } else if (bias_len == n) {
    for (int i = 0; i < m; i++) {
      float* row = c + int64_t(i) * n;
      for (int j = 0; j < n; j++) row[j] += bias[j];
    }
  }
  switch (act) {
    case kRelu:
      for (int64_t i = 0; i < size; i++) c[i] = c[i] < 0.f ? 0.f : c[i];
      break;
    case kRelu6:
      for (int64_t i = 0; i < size; i++) c[i] = std::min(std::max(c[i], 0.f), 6.f);
      break;
    case kLeakyRelu:
      for (int64_t i = 0; i < size; i++) c[i] = c[i] < 0.f ? alpha * c[i] : c[i];
      break;
    case kElu:
      for (int64_t i = 0; i < size; i++) c[i] = c[i] < 0.f ? std::expm1(c[i]) : c[i];
      break;
    case kSigmoid:
      for (int64_t i = 0; i < size; i++) c[i] = 1.f / (1.f + std::exp(-c[i]));
      break;
    default:
      break;
  }
}

void one(bool ta, bool tb, int m, int n, int k, const float* a, const float* b, float* c, const float* bias,
         int bias_len, int act, float alpha) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    std::fill(c, c + int64_t(m) * n, 0.f);
  } else {
    sgemm(ta, tb, m, n, k, 1.f, a, ta ? m : k, b, tb ? k : n, 0.f, c, n);
  }
  if (bias_len > 0 || act != kLinear) epilogue(c, m, n, bias, bias_len, act, alpha);
}

}  // namespace

void gemm_batched(bool ta, bool tb, int m, int n, int k, const float* const* a, const float* const* b, float* const* c,
                  int batch, const float* bias, int bias_len, int act, float alpha) {
  // Many products: one per task, each on a single BLAS thread. Few: BLAS threads each product.
  if (batch >= 2 && batch >= threads()) {
    BlasThreads serial(1);
    parallel_for(batch, [&](int i) { one(ta, tb, m, n, k, a[i], b[i], c[i], bias, bias_len, act, alpha); });
  } else {
    for (int i = 0; i < batch; i++) one(ta, tb, m, n, k, a[i], b[i], c[i], bias, bias_len, act, alpha);
  }
}

}  // namespace iv2

// Row normalisations and GELU, split over the machine's threads in chunks of rows / elements.
#include <cmath>

#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

namespace iv2 {

namespace {
constexpr int64_t kChunk = 1 << 18;  // elements per task: smaller ops stay on the calling thread

template <typename F>
void over_rows(int64_t rows, int64_t cols, F f) {
  const int64_t per = std::max<int64_t>(1, kChunk / std::max<int64_t>(cols, 1));
  const int64_t tasks = (rows + per - 1) / per;
  parallel_for(int(tasks), [&](int t) {
    const int64_t r1 = std::min(rows, (t + 1) * per);
    for (int64_t r = t * per; r < r1; r++) f(r);
  });
}
}  // namespace

void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t cols, float eps) {
  over_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float ss = 0.f;
#pragma omp simd reduction(+ : ss)
    for (int64_t j = 0; j < cols; j++) ss += xr[j] * xr[j];
    const float inv = 1.f / std::sqrt(ss / float(cols) + eps);
    for (int64_t j = 0; j < cols; j++) yr[j] = xr[j] * inv * w[j];
  });
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t cols, float eps) {
  over_rows(rows, cols, [&](int64_t r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < cols; j++) sum += xr[j];
    const float mean = sum / float(cols);
    float var = 0.f;  // two passes: rows far from zero keep their precision
#pragma omp simd reduction(+ : var)
    for (int64_t j = 0; j < cols; j++) var += (xr[j] - mean) * (xr[j] - mean);
    const float inv = 1.f / std::sqrt(var / float(cols) + eps);
    for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - mean) * inv * w[j] + b[j];
  });
}

void gelu(const float* x, float* y, int64_t n, bool tanh_form) {
  const int64_t tasks = (n + kChunk - 1) / kChunk;
  parallel_for(int(tasks), [&](int t) {
    const int64_t i1 = std::min(n, (t + 1) * kChunk);
    if (tanh_form) {
      for (int64_t i = t * kChunk; i < i1; i++) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.f + tanh_approx(0.7978845608028654f * (v + 0.044715f * v * v * v)));
      }
    } else {
      for (int64_t i = t * kChunk; i < i1; i++) y[i] = 0.5f * x[i] * (1.f + erf_approx(x[i] * 0.7071067811865476f));
    }
  });
}

}  // namespace iv2

// Scalar math written so that the compiler vectorises loops over it (no libm calls in the loop body).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace iv2 {

// exp for x ≤ 88 (Cephes' polynomial on the reduced argument, ~1 ulp); 0 below −87.3.
inline float exp_approx(float x) {
  const float cx = std::min(std::max(x, -87.33f), 88.0f);
  const float fn = std::floor(cx * 1.44269504088896341f + 0.5f);
  const float r = cx - fn * 0.693359375f + fn * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (int32_t(fn) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return x < -87.33f ? 0.f : p * two_n;
}

// erf by Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), as the WGSL kernel computes it.
inline float erf_approx(float x) {
  const float ax = std::fabs(x);
  const float t = 1.f / (1.f + 0.3275911f * ax);
  const float poly = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) * t;
  const float y = 1.f - poly * exp_approx(-ax * ax);
  return x < 0.f ? -y : y;
}

inline float tanh_approx(float u) {
  const float c = std::min(std::max(u, -9.f), 9.f);
  return 1.f - 2.f / (exp_approx(2.f * c) + 1.f);
}

}  // namespace iv2

// Element-wise arithmetic, unary math and axis reductions on float32, split over the threads in chunks. tfjs-wasm
// runs these on one thread and, when an operand broadcasts, through a per-element index computation; in a training
// step (norm and GELU gradients, AdamW over every parameter) they took as long as the matrix products.
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "parallel.h"
#include "vmath.h"

namespace iv2 {

namespace {
constexpr int64_t kChunk = 1 << 16;  // elements per task; smaller ops stay on the calling thread

template <int Op>
inline float apply(float x, float y) {
  if constexpr (Op == kAdd) return x + y;
  if constexpr (Op == kSub) return x - y;
  if constexpr (Op == kMul) return x * y;
  if constexpr (Op == kDiv) return x / y;
  if constexpr (Op == kSquaredDifference) return (x - y) * (x - y);
  if constexpr (Op == kMaximum) return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y);
  if constexpr (Op == kMinimum) return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y);
  return 0.f;
}

// One contiguous run of the output: a and b step by 1 (0: the operand repeats one value along the run).
template <int Op>
void run(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n) {
  if (sa && sb) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) o[i] = apply<Op>(a[i], b[i]);
  } else if (sb) {
    const float x = a[0];
#pragma omp simd
    for (int64_t i = 0; i < n; i++) o[i] = apply<Op>(x, b[i]);
  } else if (sa) {
    const float y = b[0];
#pragma omp simd
    for (int64_t i = 0; i < n; i++) o[i] = apply<Op>(a[i], y);
  } else {
    const float v = apply<Op>(a[0], b[0]);
    for (int64_t i = 0; i < n; i++) o[i] = v;
  }
}

template <int Op>
void binary_op(const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* sa, const int64_t* sb) {
  const int64_t inner = shape[rank - 1];
  int64_t rows = 1;
  for (int d = 0; d < rank - 1; d++) rows *= shape[d];
  // Tasks of whole rows; a single long row is cut into pieces.
  const int64_t pieces = inner > kChunk ? (inner + kChunk - 1) / kChunk : 1;
  const int64_t rows_per = inner > kChunk ? 1 : std::max<int64_t>(1, kChunk / std::max<int64_t>(inner, 1));
  const int64_t tasks = pieces > 1 ? rows * pieces : (rows + rows_per - 1) / rows_per;
  parallel_for(int(tasks), [&](int t) {
    int64_t r0, r1, j0 = 0, j1 = inner;
    if (pieces > 1) {
      r0 = t / pieces;
      r1 = r0 + 1;
      j0 = (t % pieces) * kChunk;
      j1 = std::min(inner, j0 + kChunk);
    } else {
      r0 = t * rows_per;
      r1 = std::min(rows, r0 + rows_per);
    }
    for (int64_t r = r0; r < r1; r++) {
      int64_t oa = 0, ob = 0, rem = r;
      for (int d = rank - 2; d >= 0; d--) {
        const int64_t i = rem % shape[d];
        rem /= shape[d];
        oa += i * sa[d];
        ob += i * sb[d];
      }
      const int64_t la = sa[rank - 1], lb = sb[rank - 1];
      run<Op>(a + oa + j0 * la, la, b + ob + j0 * lb, lb, out + r * inner + j0, j1 - j0);
    }
  });
}

template <typename F>
void over_chunks(int64_t n, F f) {
  const int64_t tasks = (n + kChunk - 1) / kChunk;
  parallel_for(int(tasks), [&](int t) { f(t * kChunk, std::min(n, (t + 1) * kChunk)); });
}
}  // namespace

void binary(int op, const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* sa,
            const int64_t* sb) {
  switch (op) {
    case kAdd: return binary_op<kAdd>(a, b, out, rank, shape, sa, sb);
    case kSub: return binary_op<kSub>(a, b, out, rank, shape, sa, sb);
    case kMul: return binary_op<kMul>(a, b, out, rank, shape, sa, sb);
    case kDiv: return binary_op<kDiv>(a, b, out, rank, shape, sa, sb);
    case kSquaredDifference: return binary_op<kSquaredDifference>(a, b, out, rank, shape, sa, sb);
    case kMaximum: return binary_op<kMaximum>(a, b, out, rank, shape, sa, sb);
    case kMinimum: return binary_op<kMinimum>(a, b, out, rank, shape, sa, sb);
  }
}

void unary(int op, const float* x, float* y, int64_t n) {
  over_chunks(n, [&](int64_t i0, int64_t i1) {
    switch (op) {
      case kExp:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) {
          const float h = exp_approx(0.5f * x[i]);  // past exp_approx's clamp: e^x = (e^(x/2))², inf beyond FLT_MAX
          y[i] = x[i] > 87.f ? h * h : exp_approx(x[i]);
        }
        break;
      case kErf:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = erf_approx(x[i]);
        break;
      case kSquare:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = x[i] * x[i];
        break;
      case kSqrt:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = std::sqrt(x[i]);
        break;
      case kRsqrt:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = 1.f / std::sqrt(x[i]);
        break;
      case kNeg:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = -x[i];
        break;
      case kAbs:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = std::fabs(x[i]);
        break;
      case kReciprocal:
#pragma omp simd
        for (int64_t i = i0; i < i1; i++) y[i] = 1.f / x[i];
        break;
      case kCopy:
        std::copy(x + i0, x + i1, y + i0);
        break;
    }
  });
}

void reduce(int op, const float* x, float* y, int64_t outer, int64_t red, int64_t inner) {
  const float scale = op == kMean ? 1.f / float(std::max<int64_t>(red, 1)) : 1.f;
  if (inner == 1) {
    // Rows of `red` contiguous values: a vectorised sum per row.
    const int64_t per = std::max<int64_t>(1, kChunk / std::max<int64_t>(red, 1));
    parallel_for(int((outer + per - 1) / per), [&](int t) {
      const int64_t o1 = std::min(outer, (t + 1) * per);
      for (int64_t o = t * per; o < o1; o++) {
        const float* xr = x + o * red;
        float s = 0.f;
#pragma omp simd reduction(+ : s)
        for (int64_t r = 0; r < red; r++) s += xr[r];
        y[o] = s * scale;
      }
    });
    return;
  }
  // Sum over a middle axis: each task owns a slab of output columns and adds rows into it (vectorised along inner).
  const int64_t cols = std::min<int64_t>(inner, std::max<int64_t>(256, ((inner + 7) / 8 + 15) / 16 * 16));
  const int64_t col_tasks = (inner + cols - 1) / cols;
  parallel_for(int(outer * col_tasks), [&](int t) {
    const int64_t o = t / col_tasks, j0 = (t % col_tasks) * cols, j1 = std::min(inner, j0 + cols);
    float* yr = y + o * inner;
    const float* xo = x + o * red * inner;
    for (int64_t j = j0; j < j1; j++) yr[j] = 0.f;
    for (int64_t r = 0; r < red; r++) {
      const float* xr = xo + r * inner;
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) yr[j] += xr[j];
    }
    if (scale != 1.f)
      for (int64_t j = j0; j < j1; j++) yr[j] *= scale;
  });
}

}  // namespace iv2

// Fused attention: scores for a block of query rows at a time (never the whole N×N matrix), softmax in place, then
// the products with v. The backward recomputes the probabilities block by block (as flash attention does) and
// produces dq, dk, dv (and the mask's gradient) in one pass.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "blas.h"
#include "vmath.h"
#include "kernels.h"
#include "parallel.h"

namespace iv2 {

namespace {

// Query rows per block: 512 × Nk floats of scores per thread. Smaller blocks pay OpenBLAS's packing of k and v
// once per block too often (128 rows ran at about 60 % of the rate of 512 here).
constexpr int kBlock = 512;

// Row-wise softmax in place. A row whose scores are all −∞ becomes NaN, as in PyTorch. With `inv` given, rows are
// left unnormalised and 1/sum is written there (the forward scales the 64-wide output rows instead: one pass less
// over the scores).
void softmax_rows(float* s, int rows, int n, float* inv = nullptr) {
  for (int r = 0; r < rows; r++) {
    float* row = s + int64_t(r) * n;
    // Reductions carry `omp simd` so that they vectorise without -ffast-math (which would drop −∞ handling).
    float mx = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : mx)
    for (int j = 0; j < n; j++) mx = std::max(mx, row[j]);
    if (mx == -std::numeric_limits<float>::infinity()) {
      for (int j = 0; j < n; j++) row[j] = std::numeric_limits<float>::quiet_NaN();
      if (inv) inv[r] = 1.f;
      continue;
    }
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; j++) {
      row[j] = exp_approx(row[j] - mx);
      sum += row[j];
    }
    if (inv) {
      inv[r] = 1.f / sum;
      continue;
    }
    const float k = 1.f / sum;
    for (int j = 0; j < n; j++) row[j] *= k;
  }
}

// scale·q_blk·kᵀ + mask for query rows [i0, i0 + rows) of head (b, h), then softmax: the probabilities.
void probabilities(const AttentionShape& s, int b, int h, int i0, int rows, const float* q_bh, const float* k_bh,
                   float* p, float* inv = nullptr) {
  sgemm(false, true, rows, s.Nk, s.D, s.scale, q_bh + int64_t(i0) * s.D, s.D, k_bh, s.D, 0.f, p, s.Nk);
  if (s.mask) {
    const float* m0 = s.mask + b * s.ms[0] + h * s.ms[1];
    for (int r = 0; r < rows; r++) {
      const float* mr = m0 + (i0 + r) * s.ms[2];
      float* pr = p + int64_t(r) * s.Nk;
      if (s.ms[3] == 1) {
        for (int j = 0; j < s.Nk; j++) pr[j] += mr[j];
      } else {
        for (int j = 0; j < s.Nk; j++) pr[j] += mr[j * s.ms[3]];
      }
    }
  }
  softmax_rows(p, rows, s.Nk, inv);
}

std::vector<float>& scratch(int which, size_t n) {
  thread_local std::vector<float> bufs[2];
  if (bufs[which].size() < n) bufs[which].resize(n);
  return bufs[which];
}

}  // namespace

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, float* o) {
  const int bh = s.B * s.H;
  int block = kBlock;  // smaller when there are too few blocks to keep every thread busy
  while (block > 32 && int64_t(bh) * ((s.Nq + block - 1) / block) < 2 * threads()) block /= 2;
  const int blocks = (s.Nq + block - 1) / block;
  if (s.Nk == 0) {
    std::fill(o, o + int64_t(bh) * s.Nq * s.Dv, 0.f);
    return;
  }
  BlasThreads serial(1);
  parallel_for(bh * blocks, [&](int t) {
    const int head = t / blocks, i0 = (t % blocks) * block;
    const int rows = std::min(block, s.Nq - i0);
    const int b = head / s.H, h = head % s.H;
    float* p = scratch(0, size_t(rows) * s.Nk).data();
    float* inv = scratch(1, size_t(rows)).data();
    const float* q_bh = q + int64_t(head) * s.Nq * s.D;
    const float* k_bh = k + int64_t(head) * s.Nk * s.D;
    const float* v_bh = v + int64_t(head) * s.Nk * s.Dv;
    probabilities(s, b, h, i0, rows, q_bh, k_bh, p, inv);
    float* o_blk = o + (int64_t(head) * s.Nq + i0) * s.Dv;
    sgemm(false, false, rows, s.Dv, s.Nk, 1.f, p, s.Nk, v_bh, s.Dv, 0.f, o_blk, s.Dv);
    for (int r = 0; r < rows; r++) {
      for (int d = 0; d < s.Dv; d++) o_blk[int64_t(r) * s.Dv + d] *= inv[r];
    }
  });
}

void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* dy,
                        float* dq, float* dk, float* dv, float* dmask, int64_t mask_size) {
  const int bh = s.B * s.H;
  if (dmask) std::fill(dmask, dmask + mask_size, 0.f);
  if (s.Nq == 0 || s.Nk == 0) {
    if (dk) std::fill(dk, dk + int64_t(bh) * s.Nk * s.D, 0.f);
    if (dv) std::fill(dv, dv + int64_t(bh) * s.Nk * s.Dv, 0.f);
    if (dq) std::fill(dq, dq + int64_t(bh) * s.Nq * s.D, 0.f);
    return;
  }
  const bool need_ds = dq || dk || dmask;
  auto head_task = [&](int head) {
    const int b = head / s.H, h = head % s.H;
    const float* q_bh = q + int64_t(head) * s.Nq * s.D;
    const float* k_bh = k + int64_t(head) * s.Nk * s.D;
    const float* v_bh = v + int64_t(head) * s.Nk * s.Dv;
    const float* dy_bh = dy + int64_t(head) * s.Nq * s.Dv;
    for (int i0 = 0; i0 < s.Nq; i0 += kBlock) {
      const int rows = std::min(kBlock, s.Nq - i0);
      const float beta = i0 == 0 ? 0.f : 1.f;  // dk and dv sum over query blocks
      float* p = scratch(0, size_t(rows) * s.Nk).data();
      probabilities(s, b, h, i0, rows, q_bh, k_bh, p);
      const float* dy_blk = dy_bh + int64_t(i0) * s.Dv;
      if (dv) sgemm(true, false, s.Nk, s.Dv, rows, 1.f, p, s.Nk, dy_blk, s.Dv, beta, dv + int64_t(head) * s.Nk * s.Dv, s.Dv);
      if (!need_ds) continue;
      float* ds = scratch(1, size_t(rows) * s.Nk).data();
      sgemm(false, true, rows, s.Nk, s.Dv, 1.f, dy_blk, s.Dv, v_bh, s.Dv, 0.f, ds, s.Nk);
      for (int r = 0; r < rows; r++) {
        float* dr = ds + int64_t(r) * s.Nk;
        const float* pr = p + int64_t(r) * s.Nk;
        float delta = 0.f;
#pragma omp simd reduction(+ : delta)
        for (int j = 0; j < s.Nk; j++) delta += dr[j] * pr[j];
        for (int j = 0; j < s.Nk; j++) dr[j] = pr[j] * (dr[j] - delta);
      }
      if (dq) sgemm(false, false, rows, s.D, s.Nk, s.scale, ds, s.Nk, k_bh, s.D, 0.f, dq + (int64_t(head) * s.Nq + i0) * s.D, s.D);
      if (dk) sgemm(true, false, s.Nk, s.D, rows, s.scale, ds, s.Nk, q_bh + int64_t(i0) * s.D, s.D, beta, dk + int64_t(head) * s.Nk * s.D, s.D);
      if (dmask) {
        float* m0 = dmask + b * s.ms[0] + h * s.ms[1];
        for (int r = 0; r < rows; r++) {
          float* mr = m0 + (i0 + r) * s.ms[2];
          const float* dr = ds + int64_t(r) * s.Nk;
          for (int j = 0; j < s.Nk; j++) mr[j * s.ms[3]] += dr[j];
        }
      }
    }
  };
  // Heads write disjoint dq/dk/dv; a mask shared across batch or heads is summed into by several heads.
  const bool shared_dmask = dmask && ((s.B > 1 && s.ms[0] == 0) || (s.H > 1 && s.ms[1] == 0));
  BlasThreads serial(1);
  if (shared_dmask) {
    for (int head = 0; head < bh; head++) head_task(head);
  } else {
    parallel_for(bh, head_task);
  }
}

}  // namespace iv2

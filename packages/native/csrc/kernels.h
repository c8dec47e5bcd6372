// The kernels, on plain pointers; addon.cc checks every pointer against the buffer it came from.
#pragma once
#include <cstdint>

namespace iv2 {

/** tfjs's fused activations (backend_util.Activation) that the epilogue applies; prelu is left to tfjs. */
enum Activation { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeakyRelu = 3, kElu = 4, kSigmoid = 5 };

/**
 * c[i] = op(a[i]) · op(b[i]) for each of `batch` products (m×k times k×n, row-major, dense), then
 * c += bias (bias_len 0: none, 1: a scalar, n: one per column) and the activation.
 */
void gemm_batched(bool ta, bool tb, int m, int n, int k, const float* const* a, const float* const* b, float* const* c,
                  int batch, const float* bias, int bias_len, int act, float alpha);

/** Shapes of softmax(scale·q·kᵀ + mask)·v with q [B,H,Nq,D], k [B,H,Nk,D], v [B,H,Nk,Dv]. */
struct AttentionShape {
  int B, H, Nq, Nk, D, Dv;
  float scale;
  const float* mask;  // null: no mask
  int64_t ms[4];      // mask element strides over (b, h, i, j); 0 where the mask broadcasts
};

void attention_forward(const AttentionShape& s, const float* q, const float* k, const float* v, float* o);

/** Each of dq, dk, dv, dmask may be null (not wanted); dmask has mask_size elements (the mask's own shape). */
void attention_backward(const AttentionShape& s, const float* q, const float* k, const float* v, const float* dy,
                        float* dq, float* dk, float* dv, float* dmask, int64_t mask_size);

/** tfjs's element-wise kernels the addon runs (float32 only). */
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kSquaredDifference = 4, kMaximum = 5, kMinimum = 6 };
enum UnaryOp { kExp = 0, kErf = 1, kSquare = 2, kSqrt = 3, kRsqrt = 4, kNeg = 5, kAbs = 6, kReciprocal = 7, kCopy = 8 };
enum ReduceOp { kSum = 0, kMean = 1 };

/**
 * out = a op b over an output of `rank` ≥ 1 dims; sa and sb are the operands' element strides per output axis
 * (0 where it broadcasts). The output is dense.
 */
void binary(int op, const float* a, const float* b, float* out, int rank, const int64_t* shape, const int64_t* sa,
            const int64_t* sb);
void unary(int op, const float* x, float* y, int64_t n);
/** y[o, i] = Σ_r x[o, r, i] (kMean: divided by red) for x [outer, red, inner]. */
void reduce(int op, const float* x, float* y, int64_t outer, int64_t red, int64_t inner);

}  // namespace iv2

namespace iv2 {
/** y = x · rsqrt(mean(x²) + eps) · w over rows of `cols`. */
void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t cols, float eps);
/** y = (x − mean) · rsqrt(var + eps) · w + b over rows of `cols` (biased variance, as PyTorch). */
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t cols, float eps);
/** GELU, exact (erf) or the tanh form. */
void gelu(const float* x, float* y, int64_t n, bool tanh_form);
}  // namespace iv2

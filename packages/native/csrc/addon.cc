// Node-API surface. Every function takes the ArrayBuffer that holds the tensors (the wasm backend's
// WebAssembly.Memory buffer, or a Uint8Array over it) and byte offsets into it; each region is checked against the buffer before use.
#include <napi.h>

#include <string>
#include <vector>

#include "kernels.h"
#include "parallel.h"

#ifndef IV2_ACCELERATE
extern "C" char* openblas_get_config(void);
#endif

namespace {

using iv2::AttentionShape;

struct Buffer {
  uint8_t* data = nullptr;
  size_t size = 0;
};

bool fail(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, "iv2-native: " + msg).ThrowAsJavaScriptException();
  return false;
}

// An ArrayBuffer, or a Uint8Array over the whole heap: a threaded wasm build's memory is a SharedArrayBuffer, which
// Node-API reaches only through a view.
bool get_buffer(const Napi::CallbackInfo& info, int i, Buffer* out) {
  if (info[i].IsArrayBuffer()) {
    auto ab = info[i].As<Napi::ArrayBuffer>();
    out->data = static_cast<uint8_t*>(ab.Data());
    out->size = ab.ByteLength();
    return true;
  }
  if (info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto view = info[i].As<Napi::Uint8Array>();
    out->data = view.Data();
    out->size = view.ByteLength();
    return true;
  }
  return fail(info.Env(), "argument " + std::to_string(i) + " must be an ArrayBuffer or a Uint8Array");
}

double num(const Napi::CallbackInfo& info, int i) { return info[i].ToNumber().DoubleValue(); }
int integer(const Napi::CallbackInfo& info, int i) { return info[i].ToNumber().Int32Value(); }

// A float32 region of `count` elements at byte offset `off`; null when off < 0 (absent) or out of bounds (throws).
bool region(Napi::Env env, const Buffer& buf, double off, double count, const char* what, float** out) {
  *out = nullptr;
  if (off < 0) return true;
  if (off != static_cast<double>(static_cast<int64_t>(off)) || static_cast<int64_t>(off) % 4 != 0 ||
      off + count * 4 > static_cast<double>(buf.size)) {
    return fail(env, std::string(what) + " lies outside the buffer or is misaligned");
  }
  *out = reinterpret_cast<float*>(buf.data + static_cast<int64_t>(off));
  return true;
}

// gemm(buffer, transA, transB, m, n, k, offsets: Float64Array [a0, b0, c0, a1, b1, c1, …], biasOffset, biasLen,
//      activation, alpha)
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  if (info.Length() < 11 || !get_buffer(info, 0, &buf)) return env.Undefined();
  const bool ta = info[1].ToBoolean(), tb = info[2].ToBoolean();
  const int m = integer(info, 3), n = integer(info, 4), k = integer(info, 5);
  if (m < 0 || n < 0 || k < 0) return fail(env, "negative matrix size"), env.Undefined();
  if (!info[6].IsTypedArray() || info[6].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return fail(env, "offsets must be a Float64Array"), env.Undefined();
  }
  auto offs = info[6].As<Napi::Float64Array>();
  if (offs.ElementLength() % 3 != 0) return fail(env, "offsets come in triples (a, b, c)"), env.Undefined();
  const int batch = static_cast<int>(offs.ElementLength() / 3);
  std::vector<const float*> a(batch), b(batch);
  std::vector<float*> c(batch);
  for (int i = 0; i < batch; i++) {
    float* p;
    if (!region(env, buf, offs[3 * i], double(m) * k, "a", &p)) return env.Undefined();
    a[i] = p;
    if (!region(env, buf, offs[3 * i + 1], double(k) * n, "b", &p)) return env.Undefined();
    b[i] = p;
    if (!region(env, buf, offs[3 * i + 2], double(m) * n, "c", &p)) return env.Undefined();
    c[i] = p;
    if (!a[i] || !b[i] || !c[i]) return fail(env, "missing operand"), env.Undefined();
  }
  const int bias_len = integer(info, 8);
  if (bias_len != 0 && bias_len != 1 && bias_len != n) return fail(env, "bias length must be 0, 1 or n"), env.Undefined();
  float* bias;
  if (!region(env, buf, bias_len ? num(info, 7) : -1, bias_len, "bias", &bias)) return env.Undefined();
  const int act = integer(info, 9);
  if (act < iv2::kLinear || act > iv2::kSigmoid) return fail(env, "unknown activation"), env.Undefined();
  iv2::gemm_batched(ta, tb, m, n, k, a.data(), b.data(), c.data(), batch, bias, bias_len, act,
                    static_cast<float>(num(info, 10)));
  return env.Undefined();
}

// Reads (B, H, Nq, Nk, D, Dv, scale, maskOffset, maskStrides: Float64Array[4], maskSize) starting at argument i.
bool attention_shape(const Napi::CallbackInfo& info, int i, const Buffer& buf, AttentionShape* s, int64_t* mask_size) {
  Napi::Env env = info.Env();
  s->B = integer(info, i);
  s->H = integer(info, i + 1);
  s->Nq = integer(info, i + 2);
  s->Nk = integer(info, i + 3);
  s->D = integer(info, i + 4);
  s->Dv = integer(info, i + 5);
  s->scale = static_cast<float>(num(info, i + 6));
  if (s->B < 0 || s->H < 0 || s->Nq < 0 || s->Nk < 0 || s->D < 0 || s->Dv < 0) return fail(env, "negative size");
  const double mask_off = num(info, i + 7);
  if (!info[i + 8].IsTypedArray()) return fail(env, "mask strides must be a Float64Array");
  auto st = info[i + 8].As<Napi::Float64Array>();
  if (st.ElementLength() != 4) return fail(env, "mask strides: 4 numbers (b, h, i, j)");
  *mask_size = static_cast<int64_t>(num(info, i + 9));
  double last = 0;
  const int dims[4] = {s->B, s->H, s->Nq, s->Nk};
  for (int d = 0; d < 4; d++) {
    s->ms[d] = static_cast<int64_t>(st[d]);
    if (s->ms[d] < 0) return fail(env, "negative mask stride");
    if (dims[d] > 0) last += double(dims[d] - 1) * s->ms[d];
  }
  float* mask;
  if (mask_off >= 0 && last >= double(*mask_size)) return fail(env, "mask strides reach past the mask");
  if (!region(env, buf, mask_off, double(*mask_size), "mask", &mask)) return false;
  s->mask = mask;
  return true;
}

// attentionForward(buffer, q, k, v, out, B, H, Nq, Nk, D, Dv, scale, mask, maskStrides, maskSize)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  AttentionShape s;
  int64_t mask_size;
  if (info.Length() < 15 || !get_buffer(info, 0, &buf) || !attention_shape(info, 5, buf, &s, &mask_size)) return env.Undefined();
  const double bh = double(s.B) * s.H;
  float *q, *k, *v, *o;
  if (!region(env, buf, num(info, 1), bh * s.Nq * s.D, "q", &q) || !region(env, buf, num(info, 2), bh * s.Nk * s.D, "k", &k) ||
      !region(env, buf, num(info, 3), bh * s.Nk * s.Dv, "v", &v) || !region(env, buf, num(info, 4), bh * s.Nq * s.Dv, "out", &o)) {
    return env.Undefined();
  }
  if (!q || !k || !v || !o) return fail(env, "missing operand"), env.Undefined();
  iv2::attention_forward(s, q, k, v, o);
  return env.Undefined();
}

// attentionBackward(buffer, q, k, v, dy, dq, dk, dv, dmask, B, H, Nq, Nk, D, Dv, scale, mask, maskStrides, maskSize);
// an output offset of −1 means that gradient is not wanted.
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  AttentionShape s;
  int64_t mask_size;
  if (info.Length() < 19 || !get_buffer(info, 0, &buf) || !attention_shape(info, 9, buf, &s, &mask_size)) return env.Undefined();
  const double bh = double(s.B) * s.H;
  float *q, *k, *v, *dy, *dq, *dk, *dv, *dmask;
  if (!region(env, buf, num(info, 1), bh * s.Nq * s.D, "q", &q) || !region(env, buf, num(info, 2), bh * s.Nk * s.D, "k", &k) ||
      !region(env, buf, num(info, 3), bh * s.Nk * s.Dv, "v", &v) || !region(env, buf, num(info, 4), bh * s.Nq * s.Dv, "dy", &dy) ||
      !region(env, buf, num(info, 5), bh * s.Nq * s.D, "dq", &dq) || !region(env, buf, num(info, 6), bh * s.Nk * s.D, "dk", &dk) ||
      !region(env, buf, num(info, 7), bh * s.Nk * s.Dv, "dv", &dv) || !region(env, buf, num(info, 8), double(mask_size), "dmask", &dmask)) {
    return env.Undefined();
  }
  if (!q || !k || !v || !dy) return fail(env, "missing operand"), env.Undefined();
  if (dmask && !s.mask) return fail(env, "dmask needs a mask"), env.Undefined();
  iv2::attention_backward(s, q, k, v, dy, dq, dk, dv, dmask, mask_size);
  return env.Undefined();
}

// norm(buffer, kind (0: RMSNorm, 1: LayerNorm), x, weight, bias (−1 for RMSNorm), y, rows, cols, eps)
Napi::Value Norm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  if (info.Length() < 9 || !get_buffer(info, 0, &buf)) return env.Undefined();
  const int kind = integer(info, 1);
  const double rows = num(info, 6), cols = num(info, 7);
  if (rows < 0 || cols < 0 || (kind != 0 && kind != 1)) return fail(env, "bad norm arguments"), env.Undefined();
  float *x, *w, *b, *y;
  if (!region(env, buf, num(info, 2), rows * cols, "x", &x) || !region(env, buf, num(info, 3), cols, "weight", &w) ||
      !region(env, buf, kind == 1 ? num(info, 4) : -1, cols, "bias", &b) || !region(env, buf, num(info, 5), rows * cols, "y", &y)) {
    return env.Undefined();
  }
  if (!x || !w || !y || (kind == 1 && !b)) return fail(env, "missing operand"), env.Undefined();
  const float eps = static_cast<float>(num(info, 8));
  if (kind == 0) iv2::rms_norm(x, w, y, int64_t(rows), int64_t(cols), eps);
  else iv2::layer_norm(x, w, b, y, int64_t(rows), int64_t(cols), eps);
  return env.Undefined();
}

// gelu(buffer, x, y, n, tanhForm)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  if (info.Length() < 5 || !get_buffer(info, 0, &buf)) return env.Undefined();
  const double n = num(info, 3);
  float *x, *y;
  if (n < 0 || !region(env, buf, num(info, 1), n, "x", &x) || !region(env, buf, num(info, 2), n, "y", &y)) return env.Undefined();
  if (!x || !y) return fail(env, "missing operand"), env.Undefined();
  iv2::gelu(x, y, int64_t(n), info[4].ToBoolean());
  return env.Undefined();
}

bool float64s(const Napi::CallbackInfo& info, int i, const char* what, std::vector<int64_t>* out) {
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    return fail(info.Env(), std::string(what) + " must be a Float64Array");
  }
  auto a = info[i].As<Napi::Float64Array>();
  out->resize(a.ElementLength());
  for (size_t j = 0; j < a.ElementLength(); j++) (*out)[j] = static_cast<int64_t>(a[j]);
  return true;
}

// binary(buffer, op, a, b, out, shape: Float64Array, aStrides: Float64Array, bStrides: Float64Array, aSize, bSize)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  if (info.Length() < 10 || !get_buffer(info, 0, &buf)) return env.Undefined();
  const int op = integer(info, 1);
  if (op < iv2::kAdd || op > iv2::kMinimum) return fail(env, "unknown binary op"), env.Undefined();
  std::vector<int64_t> shape, sa, sb;
  if (!float64s(info, 5, "shape", &shape) || !float64s(info, 6, "a strides", &sa) || !float64s(info, 7, "b strides", &sb)) {
    return env.Undefined();
  }
  const size_t rank = shape.size();
  if (rank < 1 || sa.size() != rank || sb.size() != rank) return fail(env, "shape and strides differ in rank"), env.Undefined();
  double n = 1, last_a = 0, last_b = 0;
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 0 || sa[d] < 0 || sb[d] < 0) return fail(env, "negative size or stride"), env.Undefined();
    n *= double(shape[d]);
    if (shape[d] > 0) {
      last_a += double(shape[d] - 1) * sa[d];
      last_b += double(shape[d] - 1) * sb[d];
    }
  }
  const double na = num(info, 8), nb = num(info, 9);
  if (n > 0 && (last_a >= na || last_b >= nb)) return fail(env, "strides reach past an operand"), env.Undefined();
  float *a, *b, *o;
  if (!region(env, buf, num(info, 2), na, "a", &a) || !region(env, buf, num(info, 3), nb, "b", &b) ||
      !region(env, buf, num(info, 4), n, "out", &o)) {
    return env.Undefined();
  }
  if (!a || !b || !o) return fail(env, "missing operand"), env.Undefined();
  if (n > 0) iv2::binary(op, a, b, o, int(rank), shape.data(), sa.data(), sb.data());
  return env.Undefined();
}

// unary(buffer, op, x, y, n)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  if (info.Length() < 5 || !get_buffer(info, 0, &buf)) return env.Undefined();
  const int op = integer(info, 1);
  if (op < iv2::kExp || op > iv2::kCopy) return fail(env, "unknown unary op"), env.Undefined();
  const double n = num(info, 4);
  float *x, *y;
  if (n < 0 || !region(env, buf, num(info, 2), n, "x", &x) || !region(env, buf, num(info, 3), n, "y", &y)) return env.Undefined();
  if (!x || !y) return fail(env, "missing operand"), env.Undefined();
  iv2::unary(op, x, y, int64_t(n));
  return env.Undefined();
}

// reduce(buffer, op, x, y, outer, red, inner): y [outer, inner] = sum (or mean) of x [outer, red, inner] over red
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Buffer buf;
  if (info.Length() < 7 || !get_buffer(info, 0, &buf)) return env.Undefined();
  const int op = integer(info, 1);
  if (op != iv2::kSum && op != iv2::kMean) return fail(env, "unknown reduction"), env.Undefined();
  const double outer = num(info, 4), red = num(info, 5), inner = num(info, 6);
  if (outer < 0 || red < 0 || inner < 0) return fail(env, "negative size"), env.Undefined();
  float *x, *y;
  if (!region(env, buf, num(info, 2), outer * red * inner, "x", &x) || !region(env, buf, num(info, 3), outer * inner, "y", &y)) {
    return env.Undefined();
  }
  if (!x || !y) return fail(env, "missing operand"), env.Undefined();
  iv2::reduce(op, x, y, int64_t(outer), int64_t(red), int64_t(inner));
  return env.Undefined();
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  iv2::set_threads(info.Length() > 0 ? integer(info, 0) : 0);
  return Napi::Number::New(info.Env(), iv2::threads());
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
#ifdef IV2_ACCELERATE
  o.Set("blas", "Accelerate");
#else
  o.Set("blas", std::string(openblas_get_config()));
#endif
  o.Set("threads", iv2::threads());
  o.Set("defaultThreads", iv2::default_threads());
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  iv2::set_threads(0);
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward));
  exports.Set("norm", Napi::Function::New(env, Norm));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("unary", Napi::Function::New(env, Unary));
  exports.Set("reduce", Napi::Function::New(env, Reduce));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(iv2_native, Init)

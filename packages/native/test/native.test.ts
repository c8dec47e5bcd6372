import { describe, expect, test } from 'vitest';
import { Activation, BinaryOp, loadNative, nativeStatus, ReduceOp, UnaryOp } from '../src/index.js';
// @ts-expect-error plain JavaScript build helper
import { missingBuildTools } from '../scripts/build_addon.mjs';

// The addon is optional, but where the build tools exist (CI installs them through the bootstrap) it must be
// built and load: only a machine that genuinely lacks them may report it absent.
const missing: string[] = missingBuildTools();
const nb = loadNative();

test('the addon is built and loads wherever the build tools exist', () => {
  const s = nativeStatus();
  if (missing.length) {
    console.warn(`@iv2/native absent: this machine lacks ${missing.join(', ')}`);
    expect(s.available).toBe(false);
    expect(s.reason).toBeTruthy();
    return;
  }
  expect(s.reason).toBeUndefined();
  expect(s.available).toBe(true);
  expect(s.threads).toBeGreaterThanOrEqual(1);
  expect(s.blas).toMatch(/OpenBLAS|Accelerate/);
});

/** A heap of float32 regions, as the wasm backend's memory holds tensors. */
function heap(...sizes: number[]) {
  const offsets: number[] = [];
  let total = 16; // nothing starts at 0
  for (const s of sizes) {
    offsets.push(total * 4);
    total += s + 3;
  }
  const buffer = new ArrayBuffer(total * 4);
  const f32 = new Float32Array(buffer);
  const view = (i: number) => f32.subarray(offsets[i] / 4, offsets[i] / 4 + sizes[i]);
  return { buffer, offsets, view };
}
const rand = (a: Float32Array, seed: number) => {
  let s = seed;
  for (let i = 0; i < a.length; i++) a[i] = ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
};
const maxErr = (got: Float32Array, ref: Float64Array) => ref.reduce((m, r, i) => Math.max(m, Math.abs(got[i] - r) / Math.max(1, Math.abs(r))), 0);

describe.skipIf(!nb)('gemm', () => {
  test.each([[false, false], [false, true], [true, false], [true, true]])('transA %s transB %s, batched, bias and activations', (ta, tb) => {
    const [m, n, k, batch] = [7, 5, 9, 3];
    const h = heap(...Array(batch).fill(m * k), ...Array(batch).fill(k * n), ...Array(batch).fill(m * n), n);
    for (let i = 0; i < 2 * batch + 1; i++) rand(h.view(i < 2 * batch ? i : 3 * batch), 17 + i);
    const offs = new Float64Array(Array.from({ length: batch }, (_, i) => [h.offsets[i], h.offsets[batch + i], h.offsets[2 * batch + i]]).flat());
    for (const [act, fn] of [
      ['linear', (x: number) => x], ['relu', (x: number) => Math.max(x, 0)], ['relu6', (x: number) => Math.min(Math.max(x, 0), 6)],
      ['leakyrelu', (x: number) => (x < 0 ? 0.2 * x : x)], ['elu', (x: number) => (x < 0 ? Math.expm1(x) : x)], ['sigmoid', (x: number) => 1 / (1 + Math.exp(-x))],
    ] as const) {
      nb!.gemm(h.buffer, ta, tb, m, n, k, offs, h.offsets[3 * batch], n, Activation[act], 0.2);
      for (let bi = 0; bi < batch; bi++) {
        const a = h.view(bi), b = h.view(batch + bi), bias = h.view(3 * batch);
        const ref = new Float64Array(m * n);
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
          let s = bias[j];
          for (let p = 0; p < k; p++) s += a[ta ? p * m + i : i * k + p] * b[tb ? j * k + p : p * n + j];
          ref[i * n + j] = fn(s);
        }
        expect(maxErr(h.view(2 * batch + bi), ref), `${act} batch ${bi}`).toBeLessThan(1e-5);
      }
    }
  });

  test('regions outside the buffer are refused', () => {
    const h = heap(4, 4, 4);
    expect(() => nb!.gemm(h.buffer, false, false, 2, 2, 2, new Float64Array([h.offsets[0], h.offsets[1], h.buffer.byteLength - 8]), -1, 0, 0, 0)).toThrow(RangeError);
    expect(() => nb!.gemm(h.buffer, false, false, 2, 2, 2, new Float64Array([2, h.offsets[1], h.offsets[2]]), -1, 0, 0, 0)).toThrow(/misaligned/);
  });

  test('threads can be set and follow the cores by default', () => {
    const def = nb!.info().defaultThreads;
    expect(nb!.setThreads(1)).toBe(1);
    expect(nb!.setThreads()).toBe(def);
  });
});

describe.skipIf(!nb)('attention', () => {
  // Float64 reference: p = softmax(scale·q·kᵀ + mask), o = p·v, and the vector-Jacobian products for dy.
  function reference(B: number, H: number, Nq: number, Nk: number, D: number, Dv: number, scale: number, q: Float32Array, k: Float32Array, v: Float32Array, dy: Float32Array, mask: Float32Array | null, ms: number[]) {
    const o = new Float64Array(B * H * Nq * Dv), dq = new Float64Array(B * H * Nq * D), dk = new Float64Array(B * H * Nk * D), dv = new Float64Array(B * H * Nk * Dv);
    const dmask = new Float64Array(mask ? mask.length : 0);
    for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) {
      const hd = b * H + h;
      for (let i = 0; i < Nq; i++) {
        const s = new Float64Array(Nk);
        for (let j = 0; j < Nk; j++) {
          let x = 0;
          for (let d = 0; d < D; d++) x += q[(hd * Nq + i) * D + d] * k[(hd * Nk + j) * D + d];
          s[j] = scale * x + (mask ? mask[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]] : 0);
        }
        const mx = Math.max(...s);
        const e = s.map((x) => Math.exp(x - mx));
        const sum = e.reduce((a, x) => a + x, 0);
        const p = e.map((x) => x / sum);
        const dp = new Float64Array(Nk);
        for (let j = 0; j < Nk; j++) for (let d = 0; d < Dv; d++) {
          o[(hd * Nq + i) * Dv + d] += p[j] * v[(hd * Nk + j) * Dv + d];
          dv[(hd * Nk + j) * Dv + d] += p[j] * dy[(hd * Nq + i) * Dv + d];
          dp[j] += dy[(hd * Nq + i) * Dv + d] * v[(hd * Nk + j) * Dv + d];
        }
        const delta = dp.reduce((a, x, j) => a + x * p[j], 0);
        for (let j = 0; j < Nk; j++) {
          const ds = p[j] * (dp[j] - delta);
          if (mask) dmask[b * ms[0] + h * ms[1] + i * ms[2] + j * ms[3]] += ds;
          for (let d = 0; d < D; d++) {
            dq[(hd * Nq + i) * D + d] += scale * ds * k[(hd * Nk + j) * D + d];
            dk[(hd * Nk + j) * D + d] += scale * ds * q[(hd * Nq + i) * D + d];
          }
        }
      }
    }
    return { o, dq, dk, dv, dmask };
  }

  // Enough query rows for several blocks of 512, a mask broadcast over heads and query rows (key padding), and none.
  test.each([
    { B: 2, H: 3, Nq: 1100, Nk: 37, D: 8, Dv: 5, mask: [2, 1, 1, 37] },
    { B: 1, H: 2, Nq: 5, Nk: 260, D: 4, Dv: 4, mask: [1, 2, 5, 260] },
    { B: 2, H: 2, Nq: 3, Nk: 6, D: 4, Dv: 3, mask: null },
  ])('forward and backward match float64 ($B×$H, $Nq×$Nk, mask $mask)', ({ B, H, Nq, Nk, D, Dv, mask }) => {
    const msize = mask ? mask.reduce((a, x) => a * x, 1) : 1;
    const h = heap(B * H * Nq * D, B * H * Nk * D, B * H * Nk * Dv, B * H * Nq * Dv, msize, B * H * Nq * Dv, B * H * Nq * D, B * H * Nk * D, B * H * Nk * Dv, msize);
    [0, 1, 2, 3, 4].forEach((i) => rand(h.view(i), 101 + i));
    const ms = mask ? [mask[0] > 1 ? mask[1] * mask[2] * mask[3] : 0, mask[1] > 1 ? mask[2] * mask[3] : 0, mask[2] > 1 ? mask[3] : 0, 1] : [0, 0, 0, 0];
    if (mask) h.view(4).forEach((x, i, a) => (a[i] = x < -0.8 ? -Infinity : x)); // some keys hidden
    const scale = 0.7;
    const maskOff = mask ? h.offsets[4] : -1;
    nb!.attentionForward(h.buffer, h.offsets[0], h.offsets[1], h.offsets[2], h.offsets[5], B, H, Nq, Nk, D, Dv, scale, maskOff, new Float64Array(ms), msize);
    nb!.attentionBackward(h.buffer, h.offsets[0], h.offsets[1], h.offsets[2], h.offsets[3], h.offsets[6], h.offsets[7], h.offsets[8], mask ? h.offsets[9] : -1, B, H, Nq, Nk, D, Dv, scale, maskOff, new Float64Array(ms), msize);
    const ref = reference(B, H, Nq, Nk, D, Dv, scale, h.view(0), h.view(1), h.view(2), h.view(3), mask ? h.view(4) : null, ms);
    expect(maxErr(h.view(5), ref.o)).toBeLessThan(2e-6);
    expect(maxErr(h.view(6), ref.dq), 'dq').toBeLessThan(1e-5); // sums over up to 1100 rows in float32
    expect(maxErr(h.view(7), ref.dk), 'dk').toBeLessThan(1e-5); // sums over up to 1100 rows in float32
    expect(maxErr(h.view(8), ref.dv), 'dv').toBeLessThan(1e-5); // sums over up to 1100 rows in float32
    if (mask) expect(maxErr(h.view(9), ref.dmask), 'dmask').toBeLessThan(1e-5);
  });

  test('a row whose keys are all masked is NaN, as in PyTorch', () => {
    const h = heap(4, 8, 8, 4, 2);
    [0, 1, 2].forEach((i) => rand(h.view(i), 7 + i));
    h.view(4).set([-Infinity, -Infinity]);
    nb!.attentionForward(h.buffer, h.offsets[0], h.offsets[1], h.offsets[2], h.offsets[3], 1, 1, 1, 2, 4, 4, 0.5, h.offsets[4], new Float64Array([0, 0, 0, 1]), 2);
    expect([...h.view(3)].every(Number.isNaN)).toBe(true);
  });

  test('a mask stride that reaches past the mask is refused', () => {
    const h = heap(4, 8, 8, 4, 2);
    expect(() => nb!.attentionForward(h.buffer, h.offsets[0], h.offsets[1], h.offsets[2], h.offsets[3], 1, 1, 1, 2, 4, 4, 0.5, h.offsets[4], new Float64Array([0, 0, 0, 2]), 2)).toThrow(RangeError);
  });
});

describe.skipIf(!nb)('rows', () => {
  test('RMSNorm and LayerNorm match float64, rows far from zero included', () => {
    const [rows, cols] = [300, 48]; // several tasks of rows
    const h = heap(rows * cols, cols, cols, rows * cols, rows * cols);
    [0, 1, 2].forEach((i) => rand(h.view(i), 31 + i));
    h.view(0).forEach((x, i, a) => (a[i] = x + (Math.floor(i / cols) % 3 === 0 ? 10 : 0)));
    nb!.norm(h.buffer, 0, h.offsets[0], h.offsets[1], -1, h.offsets[3], rows, cols, 1e-6);
    nb!.norm(h.buffer, 1, h.offsets[0], h.offsets[1], h.offsets[2], h.offsets[4], rows, cols, 1e-5);
    const [x, w, b] = [h.view(0), h.view(1), h.view(2)];
    const rms = new Float64Array(rows * cols), ln = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
      const ms = row.reduce((a, v) => a + v * v, 0) / cols;
      const mean = row.reduce((a, v) => a + v, 0) / cols;
      const vr = row.reduce((a, v) => a + (v - mean) ** 2, 0) / cols;
      row.forEach((v, j) => {
        rms[r * cols + j] = (v / Math.sqrt(ms + 1e-6)) * w[j];
        ln[r * cols + j] = ((v - mean) / Math.sqrt(vr + 1e-5)) * w[j] + b[j];
      });
    }
    expect(maxErr(h.view(3), rms)).toBeLessThan(2e-6);
    expect(maxErr(h.view(4), ln)).toBeLessThan(2e-5);
  });

  test('GELU, exact and tanh, matches float64 over [−10, 10]', () => {
    const n = 70_001; // two tasks
    const h = heap(n, n, n);
    h.view(0).forEach((_, i, a) => (a[i] = -10 + (20 * i) / (n - 1)));
    nb!.gelu(h.buffer, h.offsets[0], h.offsets[1], n, false);
    nb!.gelu(h.buffer, h.offsets[0], h.offsets[2], n, true);
    // JavaScript has no erf: Simpson's rule on 2/√π·∫₀ᶻ exp(−t²) dt, far finer than the 1e-6 checked here.
    const erf = (z: number) => {
      const steps = 2000, hh = z / steps;
      let s = 1 + Math.exp(-z * z);
      for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * Math.exp(-((i * hh) ** 2));
      return ((s * hh) / 3) * (2 / Math.sqrt(Math.PI));
    };
    const x = h.view(0);
    const exact = Float64Array.from(x, (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
    const tanh = Float64Array.from(x, (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    expect(maxErr(h.view(1), exact)).toBeLessThan(2e-6);
    expect(maxErr(h.view(2), tanh)).toBeLessThan(2e-6);
  });
});

describe.skipIf(!nb)('element-wise', () => {
  test('binary ops broadcast through strides, long rows in pieces, against float64', () => {
    const [rows, cols] = [3, 70_000]; // a row longer than one task
    const h = heap(rows * cols, cols, rows, rows * cols);
    [0, 1, 2].forEach((i) => rand(h.view(i), 41 + i));
    const [a, row, col] = [h.view(0), h.view(1), h.view(2)];
    const ops: Array<[number, (x: number, y: number) => number]> = [
      [BinaryOp.add, (x, y) => x + y], [BinaryOp.sub, (x, y) => x - y], [BinaryOp.mul, (x, y) => x * y], [BinaryOp.div, (x, y) => x / y],
      [BinaryOp.squaredDifference, (x, y) => (x - y) ** 2], [BinaryOp.maximum, Math.max], [BinaryOp.minimum, Math.min],
    ];
    for (const [op, fn] of ops) {
      // a [rows, cols] with a row vector, then a column vector [rows, 1] with a row vector (both broadcast)
      nb!.binary(h.buffer, op, h.offsets[0], h.offsets[1], h.offsets[3], new Float64Array([rows, cols]), new Float64Array([cols, 1]), new Float64Array([0, 1]), rows * cols, cols);
      expect(maxErr(h.view(3), Float64Array.from(a, (x, i) => fn(x, row[i % cols]))), `op ${op} row`).toBeLessThan(1e-6);
      nb!.binary(h.buffer, op, h.offsets[2], h.offsets[1], h.offsets[3], new Float64Array([rows, cols]), new Float64Array([1, 0]), new Float64Array([0, 1]), rows, cols);
      expect(maxErr(h.view(3), Float64Array.from(a, (_, i) => fn(col[Math.floor(i / cols)], row[i % cols]))), `op ${op} outer`).toBeLessThan(1e-6);
    }
  });

  test('unary math and reductions against float64', () => {
    const n = 70_001;
    const h = heap(n, n, 7 * 3);
    h.view(0).forEach((_, i, a) => (a[i] = -20 + (40 * i) / (n - 1)));
    const x = h.view(0);
    nb!.unary(h.buffer, UnaryOp.exp, h.offsets[0], h.offsets[1], n);
    expect(maxErr(h.view(1), Float64Array.from(x, Math.exp))).toBeLessThan(2e-6);
    nb!.unary(h.buffer, UnaryOp.square, h.offsets[0], h.offsets[1], n);
    expect(maxErr(h.view(1), Float64Array.from(x, (v) => v * v))).toBeLessThan(1e-6);
    nb!.unary(h.buffer, UnaryOp.copy, h.offsets[0], h.offsets[1], n);
    expect(Array.from(h.view(1))).toEqual(Array.from(x));
    // x [outer 7, red 10000, inner 1] and [outer 1, red 10000, inner 7]
    nb!.reduce(h.buffer, ReduceOp.sum, h.offsets[0], h.offsets[2], 7, 10_000, 1);
    const rowSums = Float64Array.from({ length: 7 }, (_, o) => x.subarray(o * 10_000, (o + 1) * 10_000).reduce((s, v) => s + v, 0));
    // float32 accumulation: the error is relative to the sum of magnitudes (row 3 cancels to almost 0)
    const absSums = Float64Array.from({ length: 7 }, (_, o) => x.subarray(o * 10_000, (o + 1) * 10_000).reduce((s, v) => s + Math.abs(v), 0));
    h.view(2).subarray(0, 7).forEach((s, o) => expect(Math.abs(s - rowSums[o]) / absSums[o], `row ${o}`).toBeLessThan(1e-6));
    nb!.reduce(h.buffer, ReduceOp.mean, h.offsets[0], h.offsets[2], 1, 10_000, 7);
    const colMeans = Float64Array.from({ length: 7 }, (_, j) => Array.from({ length: 10_000 }, (_, r) => x[r * 7 + j]).reduce((s, v) => s + v, 0) / 1e4);
    expect(maxErr(h.view(2).subarray(0, 7), colMeans)).toBeLessThan(1e-5);
  });

  test('results do not depend on the thread count, which can change between calls', () => {
    const n = 300_000; // several tasks
    const h = heap(n, n, n, 300);
    rand(h.view(0), 5);
    const def = nb!.info().defaultThreads;
    const runs = [1, def + 2, def].map((t) => {
      nb!.setThreads(t);
      nb!.unary(h.buffer, UnaryOp.erf, h.offsets[0], h.offsets[1], n);
      nb!.binary(h.buffer, BinaryOp.mul, h.offsets[1], h.offsets[0], h.offsets[2], new Float64Array([n]), new Float64Array([1]), new Float64Array([1]), n, n);
      nb!.reduce(h.buffer, ReduceOp.sum, h.offsets[2], h.offsets[3], 300, 1000, 1);
      return Array.from(h.view(3));
    });
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    expect(nb!.info().threads).toBe(def);
  });

  test('strides that reach past an operand, and regions outside the buffer, are refused', () => {
    const h = heap(6, 3, 6);
    expect(() => nb!.binary(h.buffer, BinaryOp.add, h.offsets[0], h.offsets[1], h.offsets[2], new Float64Array([2, 3]), new Float64Array([3, 1]), new Float64Array([3, 1]), 6, 3)).toThrow(/reach past/);
    expect(() => nb!.unary(h.buffer, UnaryOp.exp, h.offsets[0], h.buffer.byteLength - 8, 6)).toThrow(RangeError);
    expect(() => nb!.reduce(h.buffer, ReduceOp.sum, h.offsets[0], h.offsets[2], 1, 1e6, 1)).toThrow(RangeError);
  });

  test('a shared heap (threaded wasm) is reached through a Uint8Array view, never as a bare SharedArrayBuffer', () => {
    const sab = new SharedArrayBuffer(64);
    const f = new Float32Array(sab);
    f.set([-3, -2, -1, 0, 1, 2, 3, 4]);
    nb!.unary(new Uint8Array(sab), UnaryOp.abs, 0, 32, 8);
    expect(Array.from(f.subarray(8))).toEqual([3, 2, 1, 0, 1, 2, 3, 4]);
    expect(() => nb!.unary(sab as unknown as ArrayBuffer, UnaryOp.abs, 0, 32, 8)).toThrow(/ArrayBuffer or a Uint8Array/);
    expect(() => nb!.unary(new Float32Array(sab) as unknown as Uint8Array, UnaryOp.abs, 0, 32, 8)).toThrow(/ArrayBuffer or a Uint8Array/);
    expect(() => nb!.unary(new Uint8Array(sab, 0, 16), UnaryOp.abs, 0, 32, 8)).toThrow(RangeError);
  });
});

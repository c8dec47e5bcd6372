import { type MaskLayout, maskKey, maskSnippet } from './attention_mask.js';
import { reduceSnippet, rowDispatch, rowPrologue, type WebGPUProgram } from './program.js';

const THREADS = 64;

/**
 * Backward of fused attention (with the additive mask, if any) without an N×N buffer (the FlashAttention-2 scheme), in three passes over `[BH, N, D]`:
 * 1. per query row, with s_ij = scale·q_i·k_j + mask_ij: L_i = max_j s_ij + log Σ_j exp(s_ij − max) and Δ_i = dO_i · O_i;
 * 2. per query row: dQ_i = scale Σ_j p_ij (dO_i·v_j − Δ_i) k_j, with p_ij = exp(s_ij − L_i);
 * 3. per key row: dV_j = Σ_i p_ij dO_i and dK_j = scale Σ_i p_ij (dO_i·v_j − Δ_i) q_i.
 * Each workgroup keeps one row's N weights in workgroup memory (N ≤ 4096).
 */
export function attentionStatsProgram(bh: number, nq: number, nk: number, d: number, mask: MaskLayout | null = null): WebGPUProgram {
  return {
    variableNames: ['q', 'k', 'o', 'dy', ...(mask ? ['mask'] : [])],
    outputShape: [bh, nq, 2],
    shaderKey: `iv2_attention_stats_${nq}_${nk}_${d}_${maskKey(mask)}`,
    uniforms: 'scale : f32,',
    ...rowDispatch(bh * nq, THREADS),
    getUserCode: () => `
    var<workgroup> buf : array<f32, ${THREADS}>;
    ${maskSnippet(mask)}
    fn main(index : i32) {
      ${rowPrologue(THREADS, nq)}
      var m = -3.402823e+38;
      for (var j = tid; j < ${nk}; j += ${THREADS}) {
        var s = 0.0;
        for (var c = 0; c < ${d}; c++) { s += getQ(b, i, c) * getK(b, j, c); }
        m = max(m, s * uniforms.scale + maskAt(b, i, j));
      }
      buf[tid] = m;
      ${reduceSnippet(THREADS, (a, c) => `max(${a}, ${c})`)}
      let rowMax = buf[0];
      workgroupBarrier();
      var sum = 0.0;
      for (var j = tid; j < ${nk}; j += ${THREADS}) {
        var s = 0.0;
        for (var c = 0; c < ${d}; c++) { s += getQ(b, i, c) * getK(b, j, c); }
        sum += exp(s * uniforms.scale + maskAt(b, i, j) - rowMax);
      }
      buf[tid] = sum;
      ${reduceSnippet(THREADS, (a, c) => `${a} + ${c}`)}
      let lse = rowMax + log(buf[0]);
      workgroupBarrier();
      var dot = 0.0;
      for (var c = tid; c < ${d}; c += ${THREADS}) { dot += getDy(b, i, c) * getO(b, i, c); }
      buf[tid] = dot;
      ${reduceSnippet(THREADS, (a, c) => `${a} + ${c}`)}
      if (tid == 0) {
        setOutputAtCoords(b, i, 0, lse);
        setOutputAtCoords(b, i, 1, buf[0]);
      }
    }`,
  };
}

/** Pass 2: dQ, one workgroup per query row. */
export function attentionDqProgram(bh: number, nq: number, nk: number, d: number, mask: MaskLayout | null = null): WebGPUProgram {
  return {
    variableNames: ['q', 'k', 'v', 'dy', 'stats', ...(mask ? ['mask'] : [])],
    outputShape: [bh, nq, d],
    shaderKey: `iv2_attention_dq_${nq}_${nk}_${d}_${maskKey(mask)}`,
    uniforms: 'scale : f32,',
    ...rowDispatch(bh * nq, THREADS),
    getUserCode: () => `
    var<workgroup> ds : array<f32, ${nk}>;
    ${maskSnippet(mask)}
    fn main(index : i32) {
      ${rowPrologue(THREADS, nq)}
      let lse = getStats(b, i, 0);
      let delta = getStats(b, i, 1);
      for (var j = tid; j < ${nk}; j += ${THREADS}) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0; c < ${d}; c++) { s += getQ(b, i, c) * getK(b, j, c); dp += getDy(b, i, c) * getV(b, j, c); }
        ds[j] = exp(s * uniforms.scale + maskAt(b, i, j) - lse) * (dp - delta);
      }
      workgroupBarrier();
      for (var c = tid; c < ${d}; c += ${THREADS}) {
        var acc = 0.0;
        for (var j = 0; j < ${nk}; j++) { acc += ds[j] * getK(b, j, c); }
        setOutputAtCoords(b, i, c, acc * uniforms.scale);
      }
    }`,
  };
}

/** Pass 3: dK and dV side by side (`[BH, Nk, 2D]`), one workgroup per key row. */
export function attentionDkvProgram(bh: number, nq: number, nk: number, d: number, mask: MaskLayout | null = null): WebGPUProgram {
  return {
    variableNames: ['q', 'k', 'v', 'dy', 'stats', ...(mask ? ['mask'] : [])],
    outputShape: [bh, nk, 2 * d],
    shaderKey: `iv2_attention_dkv_${nq}_${nk}_${d}_${maskKey(mask)}`,
    uniforms: 'scale : f32,',
    ...rowDispatch(bh * nk, THREADS),
    getUserCode: () => `
    var<workgroup> p : array<f32, ${nq}>;
    var<workgroup> ds : array<f32, ${nq}>;
    ${maskSnippet(mask)}
    fn main(index : i32) {
      ${rowPrologue(THREADS, nk)}
      let j = i;
      for (var i = tid; i < ${nq}; i += ${THREADS}) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0; c < ${d}; c++) { s += getQ(b, i, c) * getK(b, j, c); dp += getDy(b, i, c) * getV(b, j, c); }
        let pij = exp(s * uniforms.scale + maskAt(b, i, j) - getStats(b, i, 0));
        p[i] = pij;
        ds[i] = pij * (dp - getStats(b, i, 1));
      }
      workgroupBarrier();
      for (var c = tid; c < ${d}; c += ${THREADS}) {
        var dv = 0.0;
        var dk = 0.0;
        for (var i = 0; i < ${nq}; i++) { dv += p[i] * getDy(b, i, c); dk += ds[i] * getQ(b, i, c); }
        setOutputAtCoords(b, j, c, dk * uniforms.scale);
        setOutputAtCoords(b, j, ${d} + c, dv);
      }
    }`,
  };
}

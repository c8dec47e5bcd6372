import { type MaskLayout, maskKey, maskSnippet } from './attention_mask.js';
import { reduceSnippet, rowDispatch, rowPrologue, type WebGPUProgram } from './program.js';

const THREADS = 64;
/**
 * Scores of one query row are kept in workgroup memory: 4096 × 4 bytes is within every adapter's 16 KiB.
 * Sizes baked into the WGSL (rows per batch, keys, head dim) are part of every attention shaderKey: tfjs keys
 * its program cache on input ranks, not shapes.
 */
export const MAX_KEYS = 4096;

/**
 * Fused attention forward: one workgroup per query row of `[BH, Nq, D]`. The invocations compute the row's
 * scores (plus the additive mask, if any) into workgroup memory, reduce max and sum, then each output channel
 * sums p_j·v_j.
 */
export function attentionProgram(bh: number, nq: number, nk: number, d: number, mask: MaskLayout | null = null): WebGPUProgram {
  return {
    variableNames: mask ? ['q', 'k', 'v', 'mask'] : ['q', 'k', 'v'],
    outputShape: [bh, nq, d],
    shaderKey: `iv2_attention_${nq}_${nk}_${d}_${maskKey(mask)}`,
    uniforms: 'scale : f32,',
    ...rowDispatch(bh * nq, THREADS),
    getUserCode: () => `
    var<workgroup> scores : array<f32, ${nk}>;
    var<workgroup> buf : array<f32, ${THREADS}>;
    ${maskSnippet(mask)}
    fn main(index : i32) {
      ${rowPrologue(THREADS, nq)}
      var m = -3.402823e+38;
      for (var j = tid; j < ${nk}; j += ${THREADS}) {
        var s = 0.0;
        for (var c = 0; c < ${d}; c++) { s += getQ(b, i, c) * getK(b, j, c); }
        s = s * uniforms.scale + maskAt(b, i, j);
        scores[j] = s;
        m = max(m, s);
      }
      buf[tid] = m;
      ${reduceSnippet(THREADS, (a, c) => `max(${a}, ${c})`)}
      let rowMax = buf[0];
      workgroupBarrier();
      var sum = 0.0;
      for (var j = tid; j < ${nk}; j += ${THREADS}) { let e = exp(scores[j] - rowMax); scores[j] = e; sum += e; }
      buf[tid] = sum;
      ${reduceSnippet(THREADS, (a, c) => `${a} + ${c}`)}
      let inv = 1.0 / buf[0];
      for (var c = tid; c < ${d}; c += ${THREADS}) {
        var o = 0.0;
        for (var j = 0; j < ${nk}; j++) { o += scores[j] * getV(b, j, c); }
        setOutputAtCoords(b, i, c, o * inv);
      }
    }`,
  };
}

import { reduceSnippet, rowDispatch, rowPrologue, type WebGPUProgram } from './program.js';

const THREADS = 64;

/** RMSNorm over rows of `x` `[rows, C]`: one workgroup reduces a row's squares, then scales it by `w`. */
export function rmsNormProgram(rows: number, cols: number): WebGPUProgram {
  return {
    variableNames: ['x', 'w'],
    outputShape: [rows, cols],
    shaderKey: 'iv2_rms_norm',
    uniforms: 'eps : f32,',
    ...rowDispatch(rows, THREADS),
    getUserCode: () => `
    var<workgroup> buf : array<f32, ${THREADS}>;
    fn main(index : i32) {
      ${rowPrologue(THREADS, 1)}
      let cols = uniforms.outShape[1];
      var acc = 0.0;
      for (var c = tid; c < cols; c += ${THREADS}) { let v = getX(row, c); acc += v * v; }
      buf[tid] = acc;
      ${reduceSnippet(THREADS, (a, b) => `${a} + ${b}`)}
      let r = inverseSqrt(buf[0] / f32(cols) + uniforms.eps);
      for (var c = tid; c < cols; c += ${THREADS}) { setOutputAtCoords(row, c, getX(row, c) * r * getW(c)); }
    }`,
  };
}

/** LayerNorm over rows: mean, then the biased variance, then the affine map. */
export function layerNormProgram(rows: number, cols: number): WebGPUProgram {
  return {
    variableNames: ['x', 'w', 'b'],
    outputShape: [rows, cols],
    shaderKey: 'iv2_layer_norm',
    uniforms: 'eps : f32,',
    ...rowDispatch(rows, THREADS),
    getUserCode: () => `
    var<workgroup> buf : array<f32, ${THREADS}>;
    fn main(index : i32) {
      ${rowPrologue(THREADS, 1)}
      let cols = uniforms.outShape[1];
      var acc = 0.0;
      for (var c = tid; c < cols; c += ${THREADS}) { acc += getX(row, c); }
      buf[tid] = acc;
      ${reduceSnippet(THREADS, (a, b) => `${a} + ${b}`)}
      let mean = buf[0] / f32(cols);
      workgroupBarrier();
      acc = 0.0;
      for (var c = tid; c < cols; c += ${THREADS}) { let d = getX(row, c) - mean; acc += d * d; }
      buf[tid] = acc;
      ${reduceSnippet(THREADS, (a, b) => `${a} + ${b}`)}
      let r = inverseSqrt(buf[0] / f32(cols) + uniforms.eps);
      for (var c = tid; c < cols; c += ${THREADS}) { setOutputAtCoords(row, c, (getX(row, c) - mean) * r * getW(c) + getB(c)); }
    }`,
  };
}

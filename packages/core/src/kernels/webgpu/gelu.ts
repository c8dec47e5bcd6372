import { flatDispatch, type WebGPUProgram } from './program.js';

/** Elementwise GELU; WGSL has no erf, so the exact form uses Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7). */
export function geluProgram(size: number, approximate: 'none' | 'tanh'): WebGPUProgram {
  const body =
    approximate === 'tanh'
      ? 'let y = 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));'
      : `let z = abs(v) * 0.7071067811865476;
        let t = 1.0 / (1.0 + 0.3275911 * z);
        let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        let e = sign(v) * (1.0 - poly * exp(-z * z));
        let y = 0.5 * v * (1.0 + e);`;
  return {
    variableNames: ['x'],
    outputShape: [size],
    shaderKey: `iv2_gelu_${approximate}`,
    size: true,
    ...flatDispatch(size),
    getUserCode: () => `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let v = getX(index);
        ${body}
        setOutputAtIndex(index, y);
      }
    }`,
  };
}

import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random/rng.js';

/** timm's trunc_normal_: normal(0, std) redrawn outside the absolute bounds [a, b]. */
export function truncNormal(rng: Rng, shape: number[], std = 0.02, a = -2, b = 2): tf.Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal() * std;
    while (v < a || v > b);
    data[i] = v;
  }
  return tf.tensor(data, shape, 'float32');
}

/** Xavier/Glorot uniform for a weight with the given fan-in and fan-out. */
export function xavierUniform(rng: Rng, shape: number[], fanIn: number, fanOut: number): tf.Tensor {
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return rng.uniformTensor(shape, -bound, bound);
}

/** PyTorch's default Linear/Conv init: kaiming_uniform(a=√5) = U(±1/√fan_in). */
export function torchDefaultUniform(rng: Rng, shape: number[], fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return rng.uniformTensor(shape, -bound, bound);
}

let shared = new Rng(0);

/** The generator modules use when none is passed: seed it once for a reproducible model. */
export function defaultRng(): Rng {
  return shared;
}

export function seedDefaultRng(seed: number): void {
  shared = new Rng(seed);
}

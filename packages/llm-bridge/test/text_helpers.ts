import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader } from '@iv2/core';

/** Every tensor of a safetensors file as tfjs tensors (integers as int32). */
export async function readTensors(path: string): Promise<Map<string, tf.Tensor>> {
  const r = await SafetensorsReader.open(path);
  const out = new Map<string, tf.Tensor>();
  try {
    for (const k of r.keys()) {
      const t = await r.get(k);
      out.set(k, tf.tensor(t.data, t.shape, t.dtype));
    }
  } finally {
    await r.close();
  }
  return out;
}

export function readJson(dir: string, file = 'config.json'): Record<string, any> {
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}

/** max |a − b| / max(1, |b|) over all elements; shapes must agree. */
export async function maxRelErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] vs reference [${b.shape}]`);
  const x = await a.data();
  const y = await b.data();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i]));
    if (!(e <= m)) m = Number.isNaN(e) ? Infinity : e;
  }
  return m;
}

/** The golden tolerance: max |Δ| ≤ 1e-4·max(1, |ref|). */
export const TOL = 1e-4;

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader } from '@iv2/core';

/** Every tensor of a safetensors file, as tfjs tensors (bool/int kept). */
export async function readTensors(file: string): Promise<Map<string, tf.Tensor>> {
  const r = await SafetensorsReader.open(file);
  const out = new Map<string, tf.Tensor>();
  for (const k of r.keys()) {
    const t = await r.get(k);
    out.set(k, tf.tensor(t.data as never, t.shape, t.dtype));
  }
  await r.close();
  return out;
}

export function readJson(dir: string, name = 'config.json'): any {
  return JSON.parse(readFileSync(join(dir, name), 'utf8'));
}

/** max |a − b| / max(1, |b|) elementwise. */
export async function maxRelErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  if (a.size !== b.size) throw new Error(`shape [${a.shape}] vs [${b.shape}]`);
  const x = await a.data();
  const y = await b.data();
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i]));
    m = Number.isNaN(e) ? Infinity : Math.max(m, e);
  }
  return m;
}


export async function sameValues(a: tf.Tensor, b: tf.Tensor): Promise<boolean> {
  if (a.size !== b.size) return false;
  const x = await a.data();
  const y = await b.data();
  return x.every((v, i) => Number(v) === Number(y[i]));
}

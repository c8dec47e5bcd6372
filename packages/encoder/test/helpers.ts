import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader } from '@iv2/core';

import { FIXTURES } from '../../../test-utils/fixtures.js';

export { FIXTURES };
export const TINY = resolve(FIXTURES, 'encoder/iv2-tiny');

/** The model arguments of a fixture folder's config.json (iv2-tiny unless told). */
export function tinyConfig(dir = TINY): Record<string, unknown> {
  const c = JSON.parse(readFileSync(resolve(dir, 'config.json'), 'utf8'));
  const { outputs, batch, mask_ratio, seed, checkpoint_num_frames, checkpoint_img_size, ...args } = c;
  void outputs; void batch; void mask_ratio; void seed; void checkpoint_num_frames; void checkpoint_img_size;
  return args;
}

/** A fixture folder's inputs and official outputs (iv2-tiny unless told). */
export async function readIO(dir = TINY): Promise<Map<string, tf.Tensor>> {
  const r = await SafetensorsReader.open(resolve(dir, 'io.safetensors'));
  const out = new Map<string, tf.Tensor>();
  for (const k of r.keys()) {
    const t = await r.get(k);
    out.set(k, tf.tensor(t.data, t.shape, t.dtype));
  }
  await r.close();
  return out;
}

/** max |a − b| / max(1, |b|) elementwise. */
export async function maxRelErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] vs [${b.shape}]`);
  const x = await a.data();
  const y = await b.data();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
  return m;
}

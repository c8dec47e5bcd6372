import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, test } from 'vitest';
import { gumbelTopK, initBackend, Rng } from '../../src/index.js';

beforeAll(() => initBackend('cpu'));

// torch.multinomial(w, k, replacement=False) semantics: distinct indices, never a zero-weight one, the first draw
// distributed as w / Σw, reproducible from the seed.
test('gumbelTopK samples without replacement with probability ∝ weights', async () => {
  const w = tf.tensor2d([[0.1, 0.2, 0.3, 0.4, 0]]);
  const firsts = [0, 0, 0, 0, 0];
  const rng = new Rng(42);
  const trials = 4000;
  for (let t = 0; t < trials; t++) {
    const idx = gumbelTopK(w, 3, rng);
    const v = Array.from(await idx.data());
    idx.dispose();
    expect(new Set(v).size).toBe(3);
    expect(v).not.toContain(4);
    firsts[v[0]] += 1;
  }
  [0.1, 0.2, 0.3, 0.4].forEach((p, i) => expect(Math.abs(firsts[i] / trials - p)).toBeLessThan(0.03));
  const a = await gumbelTopK(w, 2, new Rng(7)).data();
  const b = await gumbelTopK(w, 2, new Rng(7)).data();
  expect(Array.from(a)).toEqual(Array.from(b));
});

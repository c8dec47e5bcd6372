import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as core from '../../src/index.js';
import { initBackend, type BackendName } from '../../src/index.js';
// @ts-expect-error plain JavaScript shared with the browser run
import { runConformance } from './runner.mjs';

const { cases } = JSON.parse(readFileSync(new URL('./cases.json', import.meta.url), 'utf8'));

interface Result { name: string; tol: number; outErr: number; gradErr: Record<string, number>; leaked: number; error: string | null; failures: string[] }

// Every backend our machines can run. 'tensorflow' (tfjs-node) cannot be installed here: its install script
// downloads libtensorflow from outside the npm registry; the same table runs there when it is installed.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];

describe.each(BACKENDS)('op conformance on %s', (backend) => {
  let results: Result[] = [];
  beforeAll(async () => {
    await initBackend(backend);
    results = await runConformance(tf, core, cases);
  }, 300_000);
  afterAll(() => {
    const worst = results.map((r) => `${r.name}: out ${r.outErr.toExponential(1)} grad ${Object.values(r.gradErr).map((e) => e.toExponential(1)).join('/')}`);
    console.log(`${backend}\n  ${worst.join('\n  ')}`);
  });
  for (const c of cases as Array<{ name: string }>) {
    test(c.name, () => {
      const r = results.find((x) => x.name === c.name)!;
      expect(r.failures).toEqual([]);
    });
  }
});

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as core from '../../src/index.js';
import { describeNative, initBackend, releaseAttentionStash, type BackendName } from '../../src/index.js';
// @ts-expect-error plain JavaScript build helper of @iv2/native
import { missingBuildTools } from '../../../native/scripts/build_addon.mjs';
// @ts-expect-error plain JavaScript shared with the browser run
import { runConformance } from './runner.mjs';

const { cases } = JSON.parse(readFileSync(new URL('./cases.json', import.meta.url), 'utf8'));

interface Result { name: string; tol: number; outErr: number; gradErr: Record<string, number>; leaked: number; error: string | null; failures: string[] }

// Every backend our machines can run. 'tensorflow' (tfjs-node) cannot be installed here: its install script
// downloads libtensorflow from outside the npm registry; the same table runs there when it is installed.
// wasm runs twice: with its own kernels (XNNPACK, on tfjs-wasm's threaded build with a thread per core, as Node
// users without the addon get it) and with @iv2/native's (OpenBLAS GEMM, fused attention; here on that same shared
// heap). The native run may be absent only on a machine that lacks the tools to build the addon.
const BACKENDS: Array<[string, BackendName, boolean]> = [['cpu', 'cpu', false], ['wasm', 'wasm', false], ['wasm+native', 'wasm', true], ['webgpu', 'webgpu', false]];
const noBuildTools: string[] = missingBuildTools();

describe.each(BACKENDS)('op conformance on %s', (label, backend, native) => {
  let results: Result[] = [];
  beforeAll(async () => {
    await initBackend(backend, { native });
    if (label === 'wasm') expect(core.wasmThreadsStatus()?.threads).toBe(Math.min(8, availableParallelism()));
    if (native && !describeNative().active) {
      if (noBuildTools.length === 0) throw new Error(`@iv2/native should be active here: ${describeNative().reason}`);
      console.warn(`wasm+native: the addon is absent (this machine lacks ${noBuildTools.join(', ')}); the wasm kernels ran instead`);
    }
    results = await runConformance(tf, core, cases);
    releaseAttentionStash();
  }, 300_000);
  afterAll(() => {
    const worst = results.map((r) => `${r.name}: out ${r.outErr.toExponential(1)} grad ${Object.values(r.gradErr).map((e) => e.toExponential(1)).join('/')}`);
    console.log(`${label}\n  ${worst.join('\n  ')}`);
  });
  for (const c of cases as Array<{ name: string }>) {
    test(c.name, () => {
      const r = results.find((x) => x.name === c.name)!;
      expect(r.failures).toEqual([]);
    });
  }
});

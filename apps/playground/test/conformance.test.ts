import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openPlayground } from './browser.js';

// The op conformance table of @iv2/core, run by the same runner inside headless Chromium on WebGPU.
const root = fileURLToPath(new URL('..', import.meta.url));
const conf = fileURLToPath(new URL('../../../packages/core/test/conformance/', import.meta.url));
const runner = readFileSync(`${conf}runner.mjs`, 'utf8').replace('export async function runConformance', 'async function runConformance');
const { cases } = JSON.parse(readFileSync(`${conf}cases.json`, 'utf8'));

interface Result { name: string; tol: number; outErr: number; gradErr: Record<string, number>; leaked: number; error: string | null; failures: string[] }

let page: Page;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ page, close } = await openPlayground(root));
}, 240_000);

afterAll(() => close?.());

describe('op conformance in headless Chromium (webgpu)', () => {
  let results: Result[] = [];
  beforeAll(async () => {
    results = await page.evaluate(
      async ({ src, cases }) => {
        const w = window as unknown as { iv2dev(): Promise<{ startBackend(n: string): Promise<string>; tf: unknown; core: unknown }> };
        const dev = await w.iv2dev();
        await dev.startBackend('webgpu');
        const run = new Function(`${src}; return runConformance;`)();
        return run(dev.tf, dev.core, cases);
      },
      { src: runner, cases },
    );
  }, 300_000);
  for (const c of cases as Array<{ name: string }>) {
    test(c.name, () => {
      const r = results.find((x) => x.name === c.name)!;
      expect(r.failures).toEqual([]);
    });
  }
});

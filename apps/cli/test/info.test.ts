import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const iv2 = (...args: string[]) => execFileSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 120_000 });

test('iv2 info --backend wasm describes wasm', () => {
  const d = JSON.parse(iv2('info', '--json', '--backend', 'wasm'));
  expect(d.backend).toBe('wasm');
  expect(d.tfjs).toBe('4.22.0');
  expect(d.wasm.simd).toBe(true);
});

test('iv2 info --backend webgpu reports the adapter (SwiftShader on machines without a GPU)', () => {
  const d = JSON.parse(iv2('info', '--json', '--backend', 'webgpu'));
  expect(d.backend).toBe('webgpu');
  expect(d.adapter.vendor).not.toBe('');
  expect(d.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
});

test('iv2 info with auto picks wasm when tfjs-node is absent', () => {
  expect(iv2('info')).toMatch(/^backend\s+wasm/m);
});

import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { f16ToF32, f32ToBf16, f32ToF16 } from '../../src/index.js';

// Bit patterns written by torch (`.half()`, `.bfloat16()`), see test/golden/gen_narrowing.py.
const G = JSON.parse(readFileSync(new URL('../golden/narrowing.json', import.meta.url), 'utf8')) as Record<string, number[]>;
const asF32 = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0];
const isNaN16 = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

test('F16 and BF16 narrowing equal torch bit for bit (round to nearest even, subnormals, overflow, specials)', () => {
  const bad: string[] = [];
  G.f32_bits.forEach((b, i) => {
    const x = asF32(b);
    const h = f32ToF16(x);
    const bf = f32ToBf16(x);
    // NaN payloads are not specified by either side: any quiet NaN is accepted.
    const hOk = Number.isNaN(x) ? isNaN16(h) : h === G.f16_bits[i];
    const bOk = Number.isNaN(x) ? (bf & 0x7f80) === 0x7f80 && (bf & 0x7f) !== 0 : bf === G.bf16_bits[i];
    if (!hOk || !bOk) bad.push(`${x} (0x${b.toString(16)}): f16 ${h.toString(16)} vs ${G.f16_bits[i].toString(16)}, bf16 ${bf.toString(16)} vs ${G.bf16_bits[i].toString(16)}`);
  });
  expect(G.f32_bits.length).toBeGreaterThan(3000);
  expect(bad).toEqual([]);
});

test('F16 widening is exact for every half value', () => {
  for (let h = 0; h < 0x10000; h++) {
    if (isNaN16(h)) continue;
    expect(f32ToF16(f16ToF32(h))).toBe(h);
  }
});

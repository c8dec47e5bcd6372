import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@iv2/core';
import { beforeAll, describe, expect, test } from 'vitest';
import { get3dSincosPosEmbed, interpolatePosEmbed, InternVideo2, parseConfig } from '../src/index.js';
import { FIXTURES } from './helpers.js';

const refs = JSON.parse(readFileSync(resolve(FIXTURES, 'official/numpy_refs.json'), 'utf8'));
const golden = JSON.parse(readFileSync(fileURLToPath(new URL('./golden/interpolate.json', import.meta.url)), 'utf8'));

beforeAll(() => initBackend('cpu'));

describe('get_3d_sincos_pos_embed', () => {
  for (const c of refs.pos_embed_3d) {
    test(`D=${c.embed_dim} grid=${c.grid_size} t=${c.t_size} cls=${c.cls_token} equals the official numpy output`, () => {
      const ours = get3dSincosPosEmbed(c.embed_dim, c.grid_size, c.t_size, c.cls_token);
      expect(ours.length).toBe(c.values.length);
      let err = 0;
      for (let i = 0; i < ours.length; i++) err = Math.max(err, Math.abs(ours[i] - c.values[i]));
      expect(err).toBeLessThan(1e-6);
    });
  }

  test("a fresh model's pos_embed is the table with a zero CLS row", async () => {
    const c = refs.pos_embed_3d[0];
    const cfg = parseConfig({ embed_dim: c.embed_dim, num_heads: 4, depth: 1, attn_pool_num_heads: 4, num_frames: c.t_size, img_size: 14 * c.grid_size });
    const m = new InternVideo2(cfg);
    const pe = await m.posEmbed.data();
    expect(Array.from(pe.slice(0, c.embed_dim)).every((v) => v === 0)).toBe(true);
    let err = 0;
    for (let i = 0; i < c.values.length; i++) err = Math.max(err, Math.abs(pe[c.embed_dim + i] - c.values[i]));
    expect(err).toBeLessThan(1e-6);
    m.dispose();
  });
});

describe('interpolatePosEmbed equals torch F.interpolate (linear in time, bicubic in space)', () => {
  for (const c of golden.cases) {
    test(`T ${c.from_frames}→${c.to_frames}, side ${c.from_side}→${c.to_side}`, () => {
      const rows = 1 + c.from_frames * c.from_side ** 2;
      const out = interpolatePosEmbed(
        { dtype: 'float32', shape: [1, rows, c.channels], data: Float32Array.from(c.input) },
        { fromFrames: c.from_frames, toFrames: c.to_frames, toSide: c.to_side },
      );
      expect(out.shape).toEqual(c.output_shape);
      let err = 0;
      for (let i = 0; i < c.output.length; i++) err = Math.max(err, Math.abs(out.data[i] - c.output[i]));
      expect(err).toBeLessThan(1e-5);
    });
  }
  test('refuses a table that is not square frames', () => {
    expect(() =>
      interpolatePosEmbed({ dtype: 'float32', shape: [1, 1 + 10, 4], data: new Float32Array(44) }, { fromFrames: 2, toFrames: 4, toSide: 2 }),
    ).toThrow(/not 2 square frames/);
  });
  void tf;
});

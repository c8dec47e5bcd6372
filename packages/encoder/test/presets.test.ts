import { initBackend } from '@iv2/core';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ARCHITECTURES,
  countParameters,
  EncoderConfigError,
  getPreset,
  InternVideo2,
  parameterShapes,
  parseConfig,
  PRESETS,
  UnknownPresetError,
} from '../src/index.js';
import { tinyConfig } from './helpers.js';

beforeAll(() => initBackend('cpu'));

// architecture.md §2.1: backbone + pos_embed (T = 8) + attention pool, in millions, and the pool alone.
const OFFICIAL: Record<string, [number, number]> = {
  internvideo2_small_patch14_224: [23.04, 0.74],
  internvideo2_base_patch14_224: [89.44, 2.37],
  internvideo2_large_patch14_224: [308.93, 3.94],
  internvideo2_1B_patch14_224: [1020.71, 7.04],
  internvideo2_6B_patch14_224: [5941.74, 33.21],
};

describe('parameter counts of the released architectures', () => {
  for (const [name, [total, pool]] of Object.entries(OFFICIAL)) {
    test(`${name}: ${total} M (pool ${pool} M)`, () => {
      const shapes = parameterShapes(parseConfig(ARCHITECTURES[name].config));
      expect(Math.round(countParameters(shapes) / 1e4) / 100).toBe(total);
      const poolShapes = new Map([...shapes].filter(([k]) => k.startsWith('clip_projector.')));
      expect(Math.round(countParameters(poolShapes) / 1e4) / 100).toBe(pool);
      // One block has 4C² + 2C·Hd + Hd + 8C parameters.
      const c = shapes.get('cls_token')![2];
      const hd = shapes.get('blocks.0.mlp.fc1.bias')![0];
      const block = new Map([...shapes].filter(([k]) => k.startsWith('blocks.0.')));
      expect(countParameters(block)).toBe(4 * c * c + 2 * c * hd + hd + 8 * c);
    });
  }
});

describe('presets', () => {
  test('every preset validates and has the official key layout', () => {
    for (const [name, p] of Object.entries(PRESETS)) {
      const shapes = parameterShapes(parseConfig(p.config));
      expect(shapes.has('patch_embed.proj.weight'), name).toBe(true);
      expect(shapes.get('clip_projector.cross_attn.proj.weight')![0], name).toBe(768);
    }
    expect(parameterShapes(parseConfig(getPreset('InternVideo2-Stage2_1B-224p-f4').config)).get('pos_embed')).toEqual([1, 1025, 1408]);
    expect(parameterShapes(parseConfig(getPreset('InternVideo2-Stage2_1B-224p-f4').config)).get('img_pos_embed')).toEqual([1, 257, 1408]);
    expect(parameterShapes(parseConfig(getPreset('B14_dist_1B_stage2').config)).get('clip_decoder.5.head.2.weight')).toEqual([1408, 768]);
    expect(parameterShapes(parseConfig(getPreset('InternVideo2-Stage1-1B-224p-f8').config)).get('mae_decoder.3.head.0.weight')).toEqual([1408, 1408]);
    expect(() => getPreset('nope')).toThrow(UnknownPresetError);
  });

  test('shape-only counting equals a built model, decoders and heads included', () => {
    for (const extra of [
      {},
      { clip_student_decoder: 'MLP_Decoder' as const, sep_image_video_pos_embed: true },
      { mae_return_layer: 2, num_classes: 5, vision_align_dim: 16 },
    ]) {
      const cfg = parseConfig({ ...tinyConfig(), ...extra });
      const m = new InternVideo2(cfg);
      expect(m.stateDictShapes()).toEqual(parameterShapes(cfg));
      m.dispose();
    }
  });

  test('config errors name the official field', () => {
    expect(() => parseConfig({ embed_dim: 100, num_heads: 3 })).toThrow(EncoderConfigError);
    expect(() => parseConfig({ embed_dim: 100, num_heads: 3 })).toThrow(/num_heads/);
    expect(() => parseConfig({ img_size: 'big' })).toThrow(/img_size/);
  });
});

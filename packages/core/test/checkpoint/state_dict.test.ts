import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import {
  addPrefix,
  chainKeyMaps,
  CheckpointKeyError,
  mapKeys,
  mapSourceKeys,
  openCheckpoint,
  renameByRules,
  stripPrefix,
  unwrapStateDict,
} from '../../src/index.js';

test('unwrapStateDict finds model / module / state_dict wrappers, in that order, and leaves bare dicts alone', () => {
  const sd = { 'blocks.0.attn.qkv.weight': 1 };
  expect(unwrapStateDict({ module: sd, epoch: 3 })).toEqual({ dict: sd, wrapper: 'module' });
  expect(unwrapStateDict(new Map<string, unknown>([['state_dict', sd]]))).toEqual({ dict: sd, wrapper: 'state_dict' });
  expect(unwrapStateDict({ model: sd, module: {} }).wrapper).toBe('model');
  expect(unwrapStateDict(sd)).toEqual({ dict: sd, wrapper: null });
});

test('prefixes and rules map keys; colliding names are refused naming both', () => {
  const sd = { 'vision_encoder.blocks.0.mlp.fc1.weight': 1, 'vision_encoder.clip_projector.proj': 2, 'text_encoder.x': 3 };
  expect(mapKeys(sd, stripPrefix('vision_encoder.'))).toEqual({ 'blocks.0.mlp.fc1.weight': 1, 'clip_projector.proj': 2 });
  const rules = renameByRules([
    { from: /^blocks\.(\d+)\.mlp\./, to: 'layers.$1.ffn.' },
    { from: 'clip_projector.', to: null },
  ]);
  const m = mapKeys(new Map(Object.entries(sd)), chainKeyMaps(stripPrefix('vision_encoder.'), rules, addPrefix('enc.')));
  expect([...(m as Map<string, number>).entries()]).toEqual([['enc.layers.0.ffn.fc1.weight', 1]]);
  const err = (() => {
    try {
      mapKeys({ 'a.w': 1, 'b.w': 2 }, renameByRules([{ from: /^[ab]\./, to: '' }]));
    } catch (e) {
      return e as Error;
    }
  })();
  expect(err).toBeInstanceOf(CheckpointKeyError);
  expect(err!.message).toMatch(/\[w\]: both 'a\.w' and 'b\.w' are renamed to it/);
});

test('mapSourceKeys is a lazy view of a checkpoint under new names', async () => {
  const src = await openCheckpoint(fileURLToPath(new URL('../golden/torch_state.pth', import.meta.url)));
  const view = mapSourceKeys(src, chainKeyMaps(stripPrefix('blocks.0.'), addPrefix('vision_encoder.blocks.0.')));
  expect(view.keys().sort()).toEqual(['vision_encoder.blocks.0.attn.qkv.weight', 'vision_encoder.blocks.0.norm1.weight']);
  expect(view.info('vision_encoder.blocks.0.norm1.weight')).toEqual(src.info('blocks.0.norm1.weight'));
  expect((await view.get('vision_encoder.blocks.0.attn.qkv.weight')).data).toEqual((await src.get('blocks.0.attn.qkv.weight')).data);
  expect(view.has('pos_embed')).toBe(false);
  expect(() => view.info('pos_embed')).toThrow(CheckpointKeyError);
  await view.close!();
});

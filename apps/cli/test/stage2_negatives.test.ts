import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Rng } from '@iv2/core';
import { InternVideo2, parseConfig } from '@iv2/encoder';
import { trainBertTokenizer } from '@iv2/llm-bridge';
import { Stage2VisualObjective } from '@iv2/objectives';
import { beforeAll, expect, test, vi } from 'vitest';
import { demoData } from '../src/demo/data.js';
import { Stage2Task } from '../src/demo/stage2.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const vision = () => new InternVideo2(parseConfig({ img_size: 16, patch_size: 4, tubelet_size: 2, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 32, num_frames: 2 }), new Rng(1));
const sizes = { hidden: 32, layers: 2, fusionLayer: 1, heads: 2, intermediate: 64, embedDim: 32, maxTxtL: 12 };

test('hardNegativesFrom: VTM draws random negatives before that batch and the official hard ones from it', async () => {
  const data = demoData({ seed: 2, clipsPerClass: 2, size: 16, numFrames: 2 });
  const tokenizer = trainBertTokenizer(data.train.captions.flat(), { vocabSize: 120, minFrequency: 1 });
  const spy = vi.spyOn(Stage2VisualObjective.prototype, 'loss');
  const run = async (hardNegativesFrom: number | undefined, index: number) => {
    const task = new Stage2Task(vision(), tokenizer, data, { sizes, batchSize: 8, seed: 2, rng: new Rng(7), videoMaskRatio: 0, kTest: 4, hardNegativesFrom });
    const b = await task.batch(index);
    const out = task.loss(b);
    tf.dispose([out.total, ...Object.values(out.parts)]);
    task.release(b);
    const used = spy.mock.contexts.at(-1) as Stage2VisualObjective;
    return { flag: b.hardNegatives, objective: used.config.vtm_hard_neg, sameInstance: used === task.objective };
  };
  expect(await run(3, 2)).toEqual({ flag: false, objective: false, sameInstance: false });
  expect(await run(3, 3)).toEqual({ flag: true, objective: true, sameInstance: true });
  expect(await run(undefined, 0)).toEqual({ flag: true, objective: true, sameInstance: true });
  spy.mockRestore();
});

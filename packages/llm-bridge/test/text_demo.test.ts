import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expect, test } from 'vitest';
import { initBackend } from '@iv2/core';
import { InternVideo2Stage2Text, loadDemoTokenizer } from '../src/index.js';
import { FIXTURES } from '../../../test-utils/fixtures.js';

// The README's path end to end on a small untrained model: demo vocabulary → max_txt_l batch → text embeddings.
test('demo tokenizer + a fresh stage-2 text side embed the ten demo captions', async () => {
  await initBackend('cpu');
  const md = readFileSync(join(FIXTURES, 'README.md'), 'utf8');
  const media = md.slice(md.indexOf('## media/'), md.indexOf('## encoder/'));
  const captions = [...media.matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1]);
  const tok = await loadDemoTokenizer();
  const model = InternVideo2Stage2Text.create({
    config: {
      bert: { vocab_size: tok.vocabSize, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, fusion_layer: 1, encoder_width: 16, max_position_embeddings: 40 },
      embed_dim: 8,
      vision_width: 16,
    },
    seed: 3,
  });
  const before = tf.memory().numTensors;
  const { inputIds, attentionMask } = tok.callTensors(captions, { maxLength: 40 });
  const emb = model.embedText(inputIds, attentionMask);
  expect(emb.shape).toEqual([10, 8]);
  const normT = tf.norm(emb, 2, 1);
  const norms = (await normT.data()) as Float32Array;
  normT.dispose();
  for (const n of norms) expect(n).toBeCloseTo(1, 5);
  // Different captions, different embeddings.
  const e = (await emb.array()) as number[][];
  expect(e[0]).not.toEqual(e[8]);
  tf.dispose([inputIds, attentionMask, emb]);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

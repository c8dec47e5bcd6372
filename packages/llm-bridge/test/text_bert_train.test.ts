import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdamW, type BackendName, gradsByName, initBackend, l2Normalize } from '@iv2/core';
import { InternVideo2Stage2Text } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { readTensors } from './text_helpers.js';

// Training through every part of the stage-2 text side: gradients reach every parameter, an AdamW step changes
// each of them, and repeated steps leave no tensor behind. tfjs-node cannot install here (see the golden suite).
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const FX = fixtureCases('text', (_d, name) => name === 'bert-tiny')[0];

describe.each(BACKENDS)('stage-2 text side trains (%s)', (backend) => {
  let model: InternVideo2Stage2Text;
  let io: Map<string, tf.Tensor>;
  beforeAll(async () => {
    await initBackend(backend);
    model = await InternVideo2Stage2Text.fromPretrained(join(FX.dir, 'weights.safetensors'));
    model.train();
    io = await readTensors(join(FX.dir, 'io.safetensors'));
  });
  afterAll(() => {
    model.dispose();
    tf.dispose([...io.values()]);
  });

  /** A loss over every output: contrastive (through temp), matching, MLM, and the hidden states themselves. */
  const loss = () => {
    const ids = io.get('input_ids')!;
    const mask = io.get('attention_mask')!;
    const vision = io.get('vision_embeds') as tf.Tensor3D;
    const atts = io.get('vision_atts')!;
    const { textEmbeds } = model.encodeText(ids, mask);
    const t = l2Normalize(model.projectText(textEmbeds), -1);
    const v = l2Normalize(model.projectVision(io.get('pooled_vision_embeds')!), -1);
    const sim = tf.div(tf.matMul(v, t, false, true), model.temp);
    const vtc = tf.mean(tf.neg(tf.sum(tf.mul(tf.logSoftmax(sim, 1), tf.eye(3)), 1)));
    const fused = model.fuse({ textEmbeds, attentionMask: mask, visionEmbeds: vision, visionAtts: atts });
    const itm = tf.mean(tf.square(model.itmLogits(fused)));
    const labels = tf.where(tf.equal(mask, 1), ids, tf.fill(ids.shape, -100, 'int32'));
    const mlm = model.mlm({ encoderEmbeds: textEmbeds, attentionMask: mask, encoderHiddenStates: vision, encoderAttentionMask: atts, mode: 'fusion', labels });
    return tf.addN([vtc, itm, mlm.loss!, tf.mul(tf.mean(tf.square(fused)), 0.1)]) as tf.Scalar;
  };

  test('a step changes every parameter and leaks nothing', async () => {
    const params = model.parameters();
    const before = new Map(await Promise.all(params.map(async (p) => [p.name, await p.variable.data()] as const)));
    const opt = new AdamW([{ params, weightDecay: 0, lrScale: 1 }], { lr: 1e-3 });
    const step = () => {
      const { value, grads } = tf.variableGrads(loss, params.map((p) => p.variable));
      const named = gradsByName(params, grads);
      opt.apply(named);
      const missing = params.filter((p) => !named.has(p.name)).map((p) => p.name);
      tf.dispose([value, ...Object.values(grads)]);
      return missing;
    };
    expect(step()).toEqual([]);
    const unchanged: string[] = [];
    for (const p of params) {
      const now = await p.variable.data();
      const old = before.get(p.name)!;
      if (now.every((x, i) => x === old[i])) unchanged.push(p.name);
    }
    expect(unchanged).toEqual([]);
    const n = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(n);
    opt.dispose();
  });

  test('padding lookups pass no gradient to the [PAD] row (torch padding_idx)', async () => {
    const w = model.text_encoder.bert.embeddings.word_embeddings.weight;
    const ids = io.get('input_ids')!;
    const mask = io.get('attention_mask')!;
    // The text-mode output only: the tied MLM decoder (which does reach the [PAD] row) is not in this loss.
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.encodeText(ids, mask).textEmbeds)) as tf.Scalar, [w]);
    const gw = (await grads[w.name].array()) as number[][];
    const pad = model.config.bert.pad_token_id;
    expect(gw[pad].every((x) => x === 0)).toBe(true);
    const firstWord = ((await ids.array()) as number[][])[0][1];
    expect(gw[firstWord].some((x) => x !== 0)).toBe(true);
    tf.dispose(Object.values(grads));
  });
});

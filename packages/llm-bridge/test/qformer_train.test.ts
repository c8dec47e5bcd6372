import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AdamW, type BackendName, gradsByName, initBackend } from '@iv2/core';
import { QFormer } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { readJson, readTensors } from './text_helpers.js';

// The connector trains on every backend, in train mode (dropout and drop path on): one AdamW step moves every
// parameter, repeated steps leave no tensor behind. tfjs-node cannot install here (see the golden suite).
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const FX = fixtureCases('llm', (_d, name) => name === 'qformer-tiny')[0];

describe.each(BACKENDS)('Q-Former trains (%s)', (backend) => {
  let io: Map<string, tf.Tensor>;
  beforeAll(async () => {
    await initBackend(backend);
    io = await readTensors(join(FX.dir, 'io.safetensors'));
  });
  afterAll(() => tf.dispose([...io.values()]));

  test.each([true, false])('qformer_text_input %s: a step changes every parameter and leaks nothing', async (textInput) => {
    const heads = readJson(FX.dir).qf.num_attention_heads;
    const model = await QFormer.fromPretrained(join(FX.dir, 'weights.safetensors'), {
      config: { num_attention_heads: heads, qformer_text_input: textInput, hidden_dropout_prob: 0.1, drop_path_rate: 0.2 },
    });
    model.train();
    const params = model.parameters();
    const instruction = textInput ? { inputIds: io.get('text.qformer_input_ids')!, attentionMask: io.get('text.qformer_attention_mask')! } : {};
    // Every output row counts, text rows included, so the text FFN of the last layer is reached too.
    const loss = () => {
      const o = model.encodeImg(io.get('vision_tokens')!, instruction);
      return tf.add(tf.mean(tf.square(o.projected)), tf.mean(tf.square(o.queryOutput))) as tf.Scalar;
    };
    const before = new Map(await Promise.all(params.map(async (p) => [p.name, await p.variable.data()] as const)));
    const opt = new AdamW([{ params, weightDecay: 0, lrScale: 1 }], { lr: 1e-3 });
    const step = () => {
      const { value, grads } = tf.variableGrads(loss, params.map((p) => p.variable));
      const named = gradsByName(params, grads);
      opt.apply(named);
      tf.dispose([value, ...Object.values(grads)]);
      return params.filter((p) => !named.has(p.name)).map((p) => p.name);
    };
    try {
      expect(step()).toEqual([]);
      const unchanged: string[] = [];
      for (const p of params) {
        const now = await p.variable.data();
        const old = before.get(p.name)!;
        if (now.every((x, i) => x === old[i])) unchanged.push(p.name);
      }
      expect(unchanged).toEqual([]);
      expect(params.some((p) => p.name === 'qformer.bert.embeddings.word_embeddings.weight')).toBe(textInput);
      const n = tf.memory().numTensors;
      step();
      step();
      expect(tf.memory().numTensors).toBe(n);
    } finally {
      opt.dispose();
      model.dispose();
    }
  });
});

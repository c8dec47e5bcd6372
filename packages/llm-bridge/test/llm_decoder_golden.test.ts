// Golden outputs of the official decoders (fixtures/llm/llama-tiny: VideoChat2's LLaMA copy; llm/mistral-tiny:
// transformers v4.40.1 Mistral, sliding window 6): logits, embeddings input, greedy generation with the cache,
// loss and every gradient, on every backend. Data-driven over fixtures/llm (and $IV2_EXTRA_FIXTURES/llm): every
// folder whose config.json describes a bare decoder (the Q-Former and VideoChat2 folders have their own suites).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initBackend, SafetensorsReader } from '@iv2/core';
import { LlamaForCausalLM, causalLmLoss, generate, loadDecoderWeights, parseDecoderConfig, type DecoderConfig } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { BACKENDS, maxRelErr, readIO, readJson, rows } from './llm_helpers.js';

const TOL = 1e-4;
const CASES = fixtureCases('llm', (dir) => existsSync(join(dir, 'config.json')) && 'vocab_size' in readJson(dir) && !('llm' in readJson(dir)));

function fixtureConfig(dir: string): DecoderConfig {
  const c = readJson(dir);
  // The fixtures' config.json carries the constructor arguments; Mistral's names its window.
  const type = c.model_type ?? ('sliding_window' in c ? 'mistral' : 'llama');
  return parseDecoderConfig(c, join(dir, 'config.json'), type);
}

describe.each(BACKENDS)('decoder goldens (%s)', (BACKEND) => {
  beforeAll(async () => {
    await initBackend(BACKEND);
  });

  test('finds the decoder fixtures', () => {
    expect(CASES.map((c) => c.name)).toEqual(expect.arrayContaining(['llama-tiny', 'mistral-tiny']));
  });

  describe.each(CASES)('$title', (fc) => {
    let lm: LlamaForCausalLM;
    let io: Map<string, tf.Tensor>;
    const config = fixtureConfig(fc.dir);
    beforeAll(async () => {
      lm = new LlamaForCausalLM(config);
      const src = await SafetensorsReader.open(join(fc.dir, 'weights.safetensors'));
      const report = await loadDecoderWeights(lm, src);
      await src.close();
      expect(report.missing).toEqual([]);
      io = await readIO(fc.dir);
    });
    afterAll(() => {
      lm?.dispose();
      tf.dispose([...(io?.values() ?? [])]);
    });

    const ids = () => io.get('input_ids') as tf.Tensor2D;
    const mask = () => io.get('attention_mask') as tf.Tensor2D;

    test(`${fc.title} logits`, async () => {
      const { logits } = lm.forward({ inputIds: ids(), attentionMask: mask() });
      const e = await maxRelErr(logits, io.get('logits')!);
      logits.dispose();
      console.log(`${BACKEND} ${fc.title} logits`, e);
      expect(e).toBeLessThanOrEqual(TOL);
    });

    // Only fixtures recorded with a window carry `nowindow.logits` (config.json lists every stored tensor).
    if ('nowindow.logits' in (readJson(fc.dir).outputs ?? {})) test(`${fc.title} logits without the sliding window`, async () => {
      const nowin = new LlamaForCausalLM({ ...config, slidingWindow: null });
      await loadDecoderWeights(nowin, await lm.stateDict());
      const { logits } = nowin.forward({ inputIds: ids(), attentionMask: mask() });
      const e = await maxRelErr(logits, io.get('nowindow.logits')!);
      // The window matters here: the windowed logits must differ.
      const d = await maxRelErr(logits, io.get('logits')!);
      logits.dispose();
      nowin.dispose();
      console.log(`${BACKEND} ${fc.title} nowindow.logits`, e);
      expect(e).toBeLessThanOrEqual(TOL);
      expect(d).toBeGreaterThan(1e-3);
    });

    test(`${fc.title} embeds.logits`, async () => {
      const { logits } = lm.forward({ inputsEmbeds: io.get('embeds.inputs_embeds') as tf.Tensor3D, attentionMask: mask() });
      const e = await maxRelErr(logits, io.get('embeds.logits')!);
      logits.dispose();
      console.log(`${BACKEND} ${fc.title} embeds.logits`, e);
      expect(e).toBeLessThanOrEqual(TOL);
    });

    test(`${fc.title} greedy generation with the cache`, async () => {
      const steps = io.get('gen.tokens')!.shape[1]!;
      const before = tf.memory().numTensors;
      const r = await generate(
        lm,
        { inputIds: io.get('gen.prompt_ids') as tf.Tensor2D, attentionMask: io.get('gen.prompt_attention_mask') as tf.Tensor2D },
        { maxNewTokens: steps, returnStepLogits: true },
      );
      expect(tf.memory().numTensors).toBe(before);
      expect(r.sequences).toEqual(await rows(io.get('gen.tokens')!));
      // step_logits is [B, steps, V]; ours is one [B, V] block per step.
      const [b, , v] = io.get('gen.step_logits')!.shape;
      const flat = new Float32Array(b * steps * v);
      r.stepLogits!.forEach((s, t) => {
        for (let i = 0; i < b; i++) flat.set(s.subarray(i * v, (i + 1) * v), (i * steps + t) * v);
      });
      const e = await maxRelErr(flat, io.get('gen.step_logits')!);
      console.log(`${BACKEND} ${fc.title} gen.step_logits`, e);
      expect(e).toBeLessThanOrEqual(TOL);
    });

    test(`${fc.title} loss and every gradient`, async () => {
      const params = lm.parameters();
      const labels = io.get('loss.labels') as tf.Tensor2D;
      const { value, grads } = tf.variableGrads(() => {
        const { logits } = lm.forward({ inputIds: ids(), attentionMask: mask() });
        return causalLmLoss(logits, labels);
      }, params.map((p) => p.variable));
      const eLoss = await maxRelErr(tf.reshape(value, [1]), io.get('loss.loss')!);
      const errs: Record<string, number> = {};
      for (const p of params) {
        const slot = lm.parameterSlot(p.name)!;
        const g = slot.layout === 'linear' ? tf.transpose(grads[p.variable.name]) : grads[p.variable.name];
        errs[p.name] = await maxRelErr(g, io.get(`grad.${p.name}`)!);
        if (g !== grads[p.variable.name]) g.dispose();
      }
      tf.dispose([value, ...Object.values(grads)]);
      const worst = Math.max(...Object.values(errs));
      console.log(`${BACKEND} ${fc.title} loss`, eLoss, `grads (${params.length}) worst`, worst);
      expect(params.length).toBe([...io.keys()].filter((k) => k.startsWith('grad.')).length);
      expect(eLoss).toBeLessThanOrEqual(TOL);
      for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
    });
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BackendName, initBackend } from '@iv2/core';
import { QFormer } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, TOL } from './text_helpers.js';

// Golden outputs of VideoChat2_it_mistral.encode_img (vision_layernorm → BLIP-2 Q-Former → mistral_proj), with and
// without the instruction in the Q-Former (fixtures/README.md, llm/qformer-tiny). tfjs-node ('tensorflow') cannot
// install here (its install downloads libtensorflow), so it is not in the list.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const CASES = fixtureCases('llm', (dir, name) => name.startsWith('qformer') && existsSync(join(dir, 'io.safetensors')));
const RUNS = [
  { run: 'text', textInput: true },
  { run: 'notext', textInput: false },
] as const;

describe.each(BACKENDS)('VideoChat2 Q-Former vs the official code (%s)', (backend) => {
  beforeAll(async () => {
    await initBackend(backend);
  });

  describe.each(CASES)('$title', (fx) => {
    const cfg = readJson(fx.dir);
    let io: Map<string, tf.Tensor>;
    const get = (k: string) => {
      const t = io.get(k);
      if (!t) throw new Error(`${fx.title}: io.safetensors has no '${k}'`);
      return t;
    };
    beforeAll(async () => {
      io = await readTensors(join(fx.dir, 'io.safetensors'));
    });
    afterAll(() => tf.dispose([...(io?.values() ?? [])]));

    test.each(RUNS)(`${fx.title}: $run run`, async ({ run, textInput }) => {
      if (!io.has(`${run}.query_output`)) return;
      const qf = cfg.qf;
      // Heads cannot be read off shapes; the rest comes from the checkpoint (text tables present in both runs' file).
      const model = await QFormer.fromPretrained(join(fx.dir, 'weights.safetensors'), {
        config: { num_attention_heads: qf.num_attention_heads, qformer_text_input: textInput, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, drop_path_rate: 0 },
      });
      try {
        const r = model.loadReport!;
        expect(r.missing).toEqual([]);
        expect([...r.loaded].sort()).toEqual([...cfg.keys_used[run]].sort());
        expect(model.config.cross_attention_freq).toBe(qf.cross_attention_freq);
        expect(model.config.encoder_width).toBe(qf.vision_width);
        expect(model.numQueries).toBe(qf.num_query_token + qf.extra_num_query_token);
        const instruction = textInput ? { inputIds: get(`${run}.qformer_input_ids`), attentionMask: get(`${run}.qformer_attention_mask`) } : {};
        const out = model.encodeImg(get('vision_tokens'), instruction);
        const errs: Record<string, number> = {
          vision_layernorm: await maxRelErr(out.visionEmbeds, get(`${run}.vision_layernorm`)),
          query_output: await maxRelErr(out.queryOutput, get(`${run}.query_output`)),
          projected: await maxRelErr(out.projected, get(`${run}.projected`)),
        };
        console.log(`${backend} ${fx.title} ${run}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
        for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
        tf.dispose([out.visionEmbeds, out.queryOutput, out.projected]);
        const before = tf.memory().numTensors;
        const again = model.encodeImg(get('vision_tokens'), instruction);
        tf.dispose([again.visionEmbeds, again.queryOutput, again.projected]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        model.dispose();
      }
    });
  });
});

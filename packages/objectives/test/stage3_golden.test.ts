import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BackendName, initBackend, loadStateDict, SafetensorsReader, toTorchLayout } from '@iv2/core';
import { decoderConfig, loraConfig, type TextTokenizer, VIDEOCHAT2_TARGET_MODULES, VideoChat2ItMistral } from '@iv2/llm-bridge';
import { Trainer, VideoChat2Objective } from '../src/index.js';
import { fixtureCases } from '../../../test-utils/fixtures.js';
import { maxRelErr, readJson, readTensors, sameValues } from './helpers.js';

// tfjs-node ('tensorflow') cannot install on our machines (its install downloads libtensorflow): not listed.
const BACKENDS: BackendName[] = ['cpu', 'wasm', 'webgpu'];
const TOL = 1e-4;
const CASES = fixtureCases('llm', (dir) => {
  try {
    const c = readJson(dir);
    return 'llm' in c && 'qf' in c && 'samples' in c;
  } catch {
    return false;
  }
});

/** The fixture's stand-in tokenizers: one id per whitespace-separated word (its index in the vocabulary). */
class Words implements TextTokenizer {
  readonly index: Map<string, number>;
  readonly bosToken = '<s>';
  readonly eosToken = '</s>';
  readonly chatTemplate = null;
  constructor(readonly vocab: string[], readonly instruction = false) {
    this.index = new Map(vocab.map((w, i) => [w, i]));
  }
  get bosTokenId() {
    return this.index.get('<s>') ?? null;
  }
  get eosTokenId() {
    return this.index.get('</s>') ?? null;
  }
  get padTokenId() {
    return this.instruction ? 0 : this.eosTokenId;
  }
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    if (this.instruction) {
      const ids = text.split(/\s+/).filter(Boolean).map((w) => this.index.get(w.toLowerCase()) ?? this.index.get('[UNK]')!);
      return [this.index.get('[CLS]')!, ...ids, this.index.get('[SEP]')!];
    }
    const ids = text.split(/\s+/).filter(Boolean).map((w) => this.index.get(w) ?? this.index.get('<unk>') ?? 0);
    return (opts.addSpecialTokens ?? true) && this.bosTokenId != null ? [this.bosTokenId, ...ids] : ids;
  }
  decode(ids: number[]): string {
    return ids.map((i) => this.vocab[i]).join(' ');
  }
}

function build(c: any): VideoChat2ItMistral {
  return new VideoChat2ItMistral({
    qformer: {
      vocab_size: c.qformer_vocab.length,
      hidden_size: c.qf.hidden_size,
      num_hidden_layers: c.qf.num_hidden_layers,
      num_attention_heads: c.qf.num_attention_heads,
      intermediate_size: c.qf.intermediate_size,
      max_position_embeddings: c.qf.max_position_embeddings,
      cross_attention_freq: c.qf.cross_attention_freq,
      encoder_width: c.qf.vision_width,
      num_query_token: c.qf.num_query_token,
      extra_num_query_token: c.qf.extra_num_query_token,
      qformer_text_input: c.qformer_text_input,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
      drop_path_rate: 0,
    },
    llm: decoderConfig('llama', { ...c.llm, bos_token_id: c.bos_token_id, eos_token_id: c.eos_token_id, pad_token_id: c.pad_token_id }),
    lora: loraConfig({ r: c.lora.r, loraAlpha: c.lora.alpha, loraDropout: 0, targetModules: VIDEOCHAT2_TARGET_MODULES }),
    maxTxtLen: c.max_txt_len,
    // config_7b_stage3.py: vision LayerNorm and Q-Former trainable.
    freezeVit: false,
    freezeQformer: false,
    tokenizer: new Words(c.llm_vocab),
    qformerTokenizer: new Words(c.qformer_vocab, true),
  });
}

test('there is a VideoChat2 fixture', () => expect(CASES.length).toBeGreaterThan(0));

describe.each(BACKENDS)('stage 3 (%s)', (BACKEND) => {
  for (const c of CASES) {
    describe(c.title, () => {
      let model: VideoChat2ItMistral;
      let io: Map<string, tf.Tensor>;
      let cfg: any;
      beforeAll(async () => {
        await initBackend(BACKEND);
        cfg = readJson(c.dir);
        model = build(cfg);
        const src = await SafetensorsReader.open(join(c.dir, 'weights.safetensors'));
        await loadStateDict(model, src, { sourceName: c.title, rename: (k) => (k.endsWith('position_ids') ? null : k) });
        await src.close();
        model.eval();
        io = await readTensors(join(c.dir, 'io.safetensors'));
      });
      afterAll(() => {
        model?.dispose();
        tf.dispose([...(io?.values() ?? [])]);
      });

      test('answer-only loss, labels and the gradients of the official trainable set', async () => {
        const obj = new VideoChat2Objective(model);
        const batch = { visionTokens: io.get('vision_tokens')!, samples: cfg.conversations.map((conversation: string, k: number) => ({ conversation, instruction: cfg.instructions[k] })) };
        expect(obj.parameters().map((p) => p.name)).toEqual(cfg.trainable);
        const p = await obj.prepare(batch);
        let out!: ReturnType<typeof obj.loss>;
        const params = obj.parameters();
        const { value, grads } = tf.variableGrads(() => {
          out = obj.loss(p);
          for (const t of Object.values(out.extras ?? {})) tf.keep(t);
          return out.total;
        }, params.map((q) => q.variable));
        expect(await sameValues(out.extras!.labels, io.get('llm.labels')!)).toBe(true);
        const errs: Record<string, number> = { 'llm.logits': await maxRelErr(out.extras!.logits, io.get('llm.logits')!), loss: await maxRelErr(value, io.get('loss')!) };
        let worst = 0;
        let worstKey = '';
        for (const q of params) {
          const info = model.parameterSlot(q.name)!;
          const g = toTorchLayout(grads[q.variable.name], info.layout);
          const e = await maxRelErr(g, io.get(`grad.${q.name}`)!);
          g.dispose();
          if (e > worst) [worst, worstKey] = [e, q.name];
        }
        console.log(`${BACKEND} ${c.title}`, errs, `grads ${params.length}: worst ${worst.toExponential(2)} (${worstKey})`);
        expect(params.length).toBe(148);
        for (const [k, e] of Object.entries(errs)) expect(e, k).toBeLessThanOrEqual(TOL);
        expect(worst, worstKey).toBeLessThanOrEqual(TOL);
        tf.dispose([value, ...Object.values(grads), ...Object.values(out.extras ?? {})]);
      });

      test('trains through the Trainer without leaking', async () => {
        const batch = { visionTokens: io.get('vision_tokens')!, samples: cfg.conversations.map((conversation: string, k: number) => ({ conversation, instruction: cfg.instructions[k] })) };
        const trainer = new Trainer(new VideoChat2Objective(model), { adamw: { lr: 1e-3, betas: [0.9, 0.999], weightDecay: 0.02 }, clipGrad: 1 });
        const first = await trainer.step(batch);
        const before = tf.memory().numTensors;
        let last = first;
        for (let i = 0; i < 2; i++) last = await trainer.step(batch);
        expect(tf.memory().numTensors).toBe(before);
        expect(last.loss).toBeLessThan(first.loss);
        trainer.dispose();
      });
    });
  }
});

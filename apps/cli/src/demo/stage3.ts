import * as tf from '@tensorflow/tfjs-core';
import { type Module, Rng } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveSafetensors } from '@iv2/core';
import {
  createCausalLM,
  type DecoderConfig,
  decoderConfig,
  type HfTokenizer,
  type LlamaForCausalLM,
  loraConfig,
  PeftModelForCausalLM,
  processQa,
  saveAdapter,
  VideoChat2ItMistral,
  wordMergeTokenizer,
} from '@iv2/llm-bridge';
import type { TrainBatch, TrainTask } from '../train/loop.js';
import { batchIndices, type ClipSet, type DemoData, gatherFrames } from './data.js';

export interface Stage3Sizes {
  queries: number;
  qformerHidden: number;
  qformerLayers: number;
  llmHidden: number;
  llmLayers: number;
  loraR: number;
}

type Batch = TrainBatch & { video: tf.Tensor5D; samples: Array<{ conversation: string; instruction: string }> };

/**
 * A word-level BPE for a decoder trained from scratch: the data's conversations (with `system`), answers and captions
 * (the demo's decoder reads caption words in its pre-training).
 */
export function stage3Tokenizer(data: DemoData, system = ''): ReturnType<typeof wordMergeTokenizer> {
  const convs = data.train.qa.map((q) => processQa(q.QA, { system }).conversation);
  return wordMergeTokenizer([...convs, ...data.train.qa.flatMap((q) => q.QA.map((t) => t.a)), ...data.train.captions.flat()]);
}

/** The demo's small Mistral-type decoder (random until `DecoderPretrainTask` trains it). */
export function stage3DecoderConfig(s: Stage3Sizes, vocab: number): DecoderConfig {
  return decoderConfig('mistral', {
    vocab_size: vocab, hidden_size: s.llmHidden, intermediate_size: 2 * s.llmHidden, num_hidden_layers: s.llmLayers, num_attention_heads: 4,
    num_key_value_heads: 2, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false,
    sliding_window: null, bos_token_id: 1, eos_token_id: 2,
  });
}

export function stage3Decoder(s: Stage3Sizes, vocab: number, seed: number): LlamaForCausalLM {
  return createCausalLM(stage3DecoderConfig(s, vocab), new Rng(seed));
}

/**
 * Stage 3 on the demo data: VideoChat2 (`VideoChat2ItMistral`: the stage-2 encoder frozen, Q-Former, projector,
 * a small Mistral-type decoder adapted with LoRA), the official `process_qa` conversations, answer-only loss.
 */
export class Stage3Task implements TrainTask<Batch> {
  readonly stage = 'stage3';
  readonly tokenizer: HfTokenizer;
  readonly batchesPerEpoch: number;

  /**
   * `tokenizerFiles`: the decoder's tokenizer.json / tokenizer_config.json, written beside the decoder by
   * `saveForChat` (a decoder loaded from a folder already has them there).
   */
  constructor(
    readonly model: VideoChat2ItMistral,
    readonly data: DemoData,
    readonly o: {
      batchSize: number;
      seed: number;
      llmConfig: DecoderConfig;
      tokenizerFiles?: { json: Record<string, unknown>; config: Record<string, unknown> };
      /** The conversation's system text (`system` of the official config; '' by default). */
      system?: string;
    },
  ) {
    this.tokenizer = model.tokenizer as HfTokenizer;
    this.batchesPerEpoch = Math.floor(data.train.labels.length / o.batchSize);
  }

  get llmConfig(): DecoderConfig {
    return this.o.llmConfig;
  }

  /** The demo's VideoChat2: `vision` frozen, a small Q-Former, the decoder (pre-trained by the caller, or random) with LoRA. */
  static demo(
    vision: InternVideo2,
    data: DemoData,
    o: {
      sizes: Stage3Sizes;
      batchSize: number;
      seed: number;
      /** A pre-trained decoder and the tokenizer it was trained with (frozen and adapted with LoRA here). */
      decoder?: { lm: LlamaForCausalLM; tokenizer: ReturnType<typeof wordMergeTokenizer> };
    },
  ): Stage3Task {
    const tok = o.decoder?.tokenizer ?? stage3Tokenizer(data);
    const s = o.sizes;
    const llmConfig = stage3DecoderConfig(s, tok.vocabSize);
    const model = new VideoChat2ItMistral({
      qformer: {
        hidden_size: s.qformerHidden, num_hidden_layers: s.qformerLayers, num_attention_heads: 4, intermediate_size: 2 * s.qformerHidden,
        cross_attention_freq: 1, encoder_width: vision.config.embed_dim, num_query_token: s.queries, extra_num_query_token: 0,
        qformer_text_input: false, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, drop_path_rate: 0, vocab_size: 64,
      },
      llm: llmConfig,
      decoder: o.decoder?.lm,
      lora: loraConfig({ r: s.loraR, loraAlpha: 2 * s.loraR, loraDropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head'] }),
      maxTxtLen: 512,
      freezeVit: true,
      freezeQformer: false,
      tokenizer: tok.tokenizer,
      visionEncoder: vision,
      visionReturnLayer: -1,
      seed: o.seed + 3,
    });
    return new Stage3Task(model, data, { batchSize: o.batchSize, seed: o.seed, llmConfig, tokenizerFiles: { json: tok.json, config: tok.config } });
  }

  modules(): Array<[string, Module]> {
    return [['', this.model]];
  }

  private video(set: ClipSet, ids: number[]): tf.Tensor5D {
    const d = this.data;
    return tf.tidy(() => tf.transpose(tf.tensor5d(gatherFrames(set, ids, d.clipElems), [ids.length, d.numFrames, 3, d.size, d.size]), [0, 2, 1, 3, 4]) as tf.Tensor5D);
  }

  batch(index: number): Batch {
    const { train } = this.data;
    const ids = batchIndices(train.labels.length, this.o.batchSize, index, this.o.seed);
    // process_qa shuffles the turns (random_shuffle=True), here reproducibly by position.
    const samples = ids.map((i, k) => processQa(train.qa[i].QA, { shuffle: new Rng(index * 7919 + k), system: this.o.system, startToken: this.model.startToken, endToken: this.model.endToken }));
    return { files: ids.map((i) => train.names[i]), video: this.video(train, ids), samples };
  }

  loss(b: Batch) {
    const out = this.model.forward({ video: b.video, samples: b.samples });
    return { total: out.loss, parts: { lm: out.loss } };
  }

  release(b: Batch): void {
    b.video.dispose();
  }

  /**
   * What `iv2 chat` needs beside the checkpoint: the decoder as a Hugging Face folder (config.json, weights without
   * the adapter, tokenizer.json), the LoRA adapter as peft writes it, and the sizes in `videochat2.json`.
   */
  async saveForChat(dir: string, vision: Record<string, unknown>): Promise<void> {
    const c = this.llmConfig;
    const llm = join(dir, 'llm');
    await mkdir(llm, { recursive: true });
    await writeFile(join(llm, 'config.json'), `${JSON.stringify({
      architectures: ['MistralForCausalLM'], model_type: 'mistral', vocab_size: c.vocabSize, hidden_size: c.hiddenSize, intermediate_size: c.intermediateSize,
      num_hidden_layers: c.numHiddenLayers, num_attention_heads: c.numAttentionHeads, num_key_value_heads: c.numKeyValueHeads, hidden_act: 'silu',
      max_position_embeddings: c.maxPositionEmbeddings, rms_norm_eps: c.rmsNormEps, rope_theta: c.ropeTheta, tie_word_embeddings: c.tieWordEmbeddings,
      sliding_window: c.slidingWindow, bos_token_id: 1, eos_token_id: 2, torch_dtype: 'float32',
    }, null, 1)}\n`);
    await writeFile(join(llm, 'generation_config.json'), `${JSON.stringify({ bos_token_id: 1, eos_token_id: 2 })}\n`);
    if (this.o.tokenizerFiles) {
      await writeFile(join(llm, 'tokenizer.json'), JSON.stringify(this.o.tokenizerFiles.json));
      await writeFile(join(llm, 'tokenizer_config.json'), JSON.stringify(this.o.tokenizerFiles.config));
    }
    const sd = new Map([...(await this.model.lm.stateDict())].filter(([k]) => !k.includes('lora_')).map(([k, t]) => [k.replace('.base_layer.', '.'), t]));
    await saveSafetensors(join(llm, 'model.safetensors'), [...sd].map(([k, t]) => [k, { dtype: 'F32', shape: t.shape }]), (k) => sd.get(k)!, { format: 'pt' });
    if (this.model.mistral_model instanceof PeftModelForCausalLM) await saveAdapter(this.model.mistral_model, join(dir, 'adapter'));
    const q = this.model.config;
    await writeFile(join(dir, 'videochat2.json'), `${JSON.stringify({ vision_encoder: vision, qformer: q, num_frames: this.data.numFrames, img_size: this.data.size, vision_return_layer: this.model.visionReturnLayer }, null, 1)}\n`);
  }

  /** Held-out QA: every clip, every question of the annotations, greedy answers compared exactly. */
  async evaluate(set: ClipSet = this.data.test, limit = Infinity): Promise<Record<string, number>> {
    this.model.eval();
    let right = 0, total = 0;
    const byQuestion = new Map<string, [number, number]>();
    try {
      for (let i = 0; i < Math.min(set.labels.length, limit); i++) {
        const v = this.video(set, [i]);
        const chat = this.model.startChat({ video: v });
        v.dispose();
        try {
          for (const t of set.qa[i].QA) {
            if (!t.q) continue;
            // room for the reference answer and a few more tokens: a longer answer is wrong anyway
            const got = (await chat.answer(t.q, { maxNewTokens: this.tokenizer.encode(t.a, { addSpecialTokens: false }).length + 4 })).trim();
            right += Number(got === t.a);
            total += 1;
            const q = byQuestion.get(t.q) ?? [0, 0];
            q[0] += Number(got === t.a);
            q[1] += 1;
            byQuestion.set(t.q, q);
          }
        } finally {
          chat.dispose();
        }
      }
    } finally {
      this.model.train();
    }
    // per question, in the annotations' order (`qa_exact_1` = the first question)
    const per = Object.fromEntries([...byQuestion.values()].map(([r, n], j) => [`qa_exact_${j + 1}`, r / n]));
    return { qa_exact: total ? right / total : 0, ...per };
  }
}

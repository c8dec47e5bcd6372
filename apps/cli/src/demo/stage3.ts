import * as tf from '@tensorflow/tfjs-core';
import { type Module, Rng } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveSafetensors } from '@iv2/core';
import { type DecoderConfig, decoderConfig, type HfTokenizer, loraConfig, PeftModelForCausalLM, processQa, saveAdapter, VideoChat2ItMistral, wordMergeTokenizer } from '@iv2/llm-bridge';
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
 * Stage 3 on the demo data: VideoChat2 (`VideoChat2ItMistral`: the stage-2 encoder frozen, Q-Former, projector,
 * a small Mistral-type decoder adapted with LoRA), the official `process_qa` conversations, answer-only loss.
 */
export class Stage3Task implements TrainTask<Batch> {
  readonly stage = 'stage3';
  readonly model: VideoChat2ItMistral;
  readonly tokenizer: HfTokenizer;
  readonly batchesPerEpoch: number;
  private readonly tokenizerFiles: { json: Record<string, unknown>; config: Record<string, unknown> };
  readonly llmConfig: DecoderConfig;

  constructor(
    vision: InternVideo2,
    readonly data: DemoData,
    readonly o: { sizes: Stage3Sizes; batchSize: number; seed: number; rng: Rng },
  ) {
    const convs = data.train.qa.map((q) => processQa(q.QA).conversation);
    const tok = wordMergeTokenizer([...convs, ...data.train.qa.flatMap((q) => q.QA.map((t) => t.a))]);
    this.tokenizer = tok.tokenizer;
    this.tokenizerFiles = { json: tok.json, config: tok.config };
    const s = o.sizes;
    const vocab = tok.vocabSize;
    this.model = new VideoChat2ItMistral({
      qformer: {
        hidden_size: s.qformerHidden, num_hidden_layers: s.qformerLayers, num_attention_heads: 4, intermediate_size: 2 * s.qformerHidden,
        cross_attention_freq: 1, encoder_width: vision.config.embed_dim, num_query_token: s.queries, extra_num_query_token: 0,
        qformer_text_input: false, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, drop_path_rate: 0, vocab_size: 64,
      },
      llm: (this.llmConfig = decoderConfig('mistral', {
        vocab_size: vocab, hidden_size: s.llmHidden, intermediate_size: 2 * s.llmHidden, num_hidden_layers: s.llmLayers, num_attention_heads: 4,
        num_key_value_heads: 2, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false,
        sliding_window: null, bos_token_id: 1, eos_token_id: 2,
      })),
      lora: loraConfig({ r: s.loraR, loraAlpha: 2 * s.loraR, loraDropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head'] }),
      maxTxtLen: 512,
      freezeVit: true,
      freezeQformer: false,
      tokenizer: this.tokenizer,
      visionEncoder: vision,
      visionReturnLayer: -1,
      seed: o.seed + 3,
    });
    this.batchesPerEpoch = Math.floor(data.train.labels.length / o.batchSize);
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
    const samples = ids.map((i, k) => processQa(train.qa[i].QA, { shuffle: new Rng(index * 7919 + k) }));
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
    await writeFile(join(llm, 'tokenizer.json'), JSON.stringify(this.tokenizerFiles.json));
    await writeFile(join(llm, 'tokenizer_config.json'), JSON.stringify(this.tokenizerFiles.config));
    const sd = new Map([...(await this.model.lm.stateDict())].filter(([k]) => !k.includes('lora_')).map(([k, t]) => [k.replace('.base_layer.', '.'), t]));
    await saveSafetensors(join(llm, 'model.safetensors'), [...sd].map(([k, t]) => [k, { dtype: 'F32', shape: t.shape }]), (k) => sd.get(k)!, { format: 'pt' });
    if (this.model.mistral_model instanceof PeftModelForCausalLM) await saveAdapter(this.model.mistral_model, join(dir, 'adapter'));
    const q = this.model.config;
    await writeFile(join(dir, 'videochat2.json'), `${JSON.stringify({ vision_encoder: vision, qformer: q, num_frames: this.data.numFrames, img_size: this.data.size, vision_return_layer: -1 }, null, 1)}\n`);
  }

  /** Held-out QA: every clip, every question of the annotations, greedy answers compared exactly. */
  async evaluate(set: ClipSet = this.data.test, limit = Infinity): Promise<Record<string, number>> {
    this.model.eval();
    let right = 0, total = 0;
    try {
      for (let i = 0; i < Math.min(set.labels.length, limit); i++) {
        const v = this.video(set, [i]);
        const chat = this.model.startChat({ video: v });
        v.dispose();
        try {
          for (const t of set.qa[i].QA) {
            if (!t.q) continue;
            const got = (await chat.answer(t.q, { maxNewTokens: 8 })).trim();
            right += Number(got === t.a);
            total += 1;
          }
        } finally {
          chat.dispose();
        }
      }
    } finally {
      this.model.train();
    }
    return { qa_exact: total ? right / total : 0 };
  }
}

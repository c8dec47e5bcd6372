import * as tf from '@tensorflow/tfjs-core';
import { type Module, Rng } from '@iv2/core';
import { causalLmLoss, IGNORE_INDEX, type LlamaForCausalLM, processQa, type SplitPrompt, splitPromptForVideo, type TextTokenizer } from '@iv2/llm-bridge';
import type { TrainBatch, TrainTask } from '../train/loop.js';
import { batchIndices, type DemoData } from './data.js';

type Batch = TrainBatch & { clips: number[]; index: number };

/**
 * The demo decoder's own pre-training, which the official recipe takes from a released LLM (Mistral-7B): the
 * stage-3 conversations of the training clips as text, the `<Video>…</Video>` span holding the caption's word
 * embeddings (in order, at random slots among `slots`, the rest `</s>`) where stage 3 puts the projector's soft
 * tokens. The decoder learns the conversation format and to read a description from that span by content; stage 3
 * then freezes it and adapts it with LoRA, as VideoChat2 does its LLM.
 */
export class DecoderPretrainTask implements TrainTask<Batch> {
  readonly stage = 'stage3-llm';
  readonly batchesPerEpoch: number;

  constructor(
    readonly lm: LlamaForCausalLM,
    readonly tokenizer: TextTokenizer,
    readonly data: DemoData,
    readonly o: {
      batchSize: number;
      seed: number;
      slots: number;
      maxTxtLen?: number;
      /**
       * Gaussian noise on the span's embeddings, relative to each vector's RMS (default 0.5): stage 3's soft tokens
       * only approximate word embeddings, so the decoder learns to read near ones too.
       */
      spanNoise?: number;
    },
  ) {
    this.batchesPerEpoch = Math.floor(data.train.labels.length / o.batchSize);
  }

  modules(): Array<[string, Module]> {
    return [['', this.lm]];
  }

  batch(index: number): Batch {
    const ids = batchIndices(this.data.train.labels.length, this.o.batchSize, index, this.o.seed + 17);
    return { files: ids.map((i) => this.data.train.names[i]), clips: ids, index };
  }

  /** Per clip of the batch: the span's ids (caption words at sorted random slots, `</s>` elsewhere) and the split prompt. */
  samples(b: Batch): Array<{ span: number[]; split: SplitPrompt }> {
    const tok = this.tokenizer;
    const eos = tok.eosTokenId ?? 2;
    const q = this.o.slots;
    return b.clips.map((i, k) => {
      const r = new Rng((this.o.seed + 1) * 1_000_003 + i * 131 + k);
      const words = tok.encode(this.data.train.captions[i][0], { addSpecialTokens: false });
      const at = r.shuffle([...Array(q).keys()]).slice(0, words.length).sort((x, y) => x - y);
      const span = new Array<number>(q).fill(eos);
      at.forEach((s, j) => (span[s] = words[j]));
      return { span, split: splitPromptForVideo(processQa(this.data.train.qa[i].QA, { shuffle: r }).conversation, tok) };
    });
  }

  loss(b: Batch) {
    const tok = this.tokenizer;
    const eos = tok.eosTokenId ?? 2;
    const pad = tok.padTokenId ?? eos;
    const q = this.o.slots;
    // Each row as stage 3 assembles it (assembleInputs): X, the text before the video, the span, the rest; labels on
    // the answers only. The span here is token ids, so the batch is one id tensor and one embedding lookup.
    const rows = this.samples(b).map(({ span, split: sp }) => ({ ids: [pad, ...sp.pBeforeIds, ...span, ...sp.pAfterIds], at: sp.pBeforeIds.length + 1, from: sp.pBeforeIds.length + q + 1, targets: sp.pAfterTargets }));
    const L = Math.min(Math.max(...rows.map((r) => r.ids.length)), (this.o.maxTxtLen ?? 512) + q);
    const n = rows.length;
    const ids = new Int32Array(n * L).fill(pad);
    const mask = new Int32Array(n * L);
    const labels = new Int32Array(n * L).fill(IGNORE_INDEX);
    const inSpan = new Float32Array(n * L);
    rows.forEach((r, i) => {
      inSpan.fill(1, i * L + r.at, Math.min(i * L + r.at + q, (i + 1) * L));
      const len = Math.min(r.ids.length, L);
      ids.set(r.ids.slice(0, len), i * L);
      mask.fill(1, i * L, i * L + len);
      for (let t = r.from; t < len; t++) labels[i * L + t] = r.targets[t - r.from];
    });
    const bos = tok.bosTokenId ?? 1;
    return tf.tidy(() => {
      let emb = this.lm.embed(tf.tensor2d(ids, [n, L], 'int32')) as tf.Tensor3D;
      const d = emb.shape[2];
      const noise = this.o.spanNoise ?? 0.5;
      if (noise > 0) {
        // the noise is a function of the batch's position, so a resumed run draws the same
        const rms = tf.sqrt(tf.mean(tf.square(emb), -1, true));
        // (iv2's Rng: tf.randomNormal takes a seed of 0 as "unseeded" and draws from Math.random)
        const z = new Rng((this.o.seed + 1) * 7919 + b.index).normalTensor([n, L, d]);
        emb = tf.add(emb, tf.mul(tf.mul(z, tf.mul(rms, noise)), tf.tensor3d(inSpan, [n, L, 1]))) as tf.Tensor3D;
      }
      // X: the official code writes the BOS id into every element of the first position's embedding
      const inputsEmbeds = tf.concat([tf.fill([n, 1, d], bos), tf.slice(emb, [0, 1, 0], [n, L - 1, d])], 1) as tf.Tensor3D;
      const { logits } = this.lm.forward({ inputsEmbeds, attentionMask: tf.tensor2d(mask, [n, L], 'int32') });
      const loss = causalLmLoss(logits, tf.tensor2d(labels, [n, L], 'int32'));
      return { total: loss, parts: { lm: loss } } as unknown as tf.TensorContainer;
    }) as unknown as { total: tf.Scalar; parts: Record<string, tf.Scalar> };
  }
}

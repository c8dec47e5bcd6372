import * as tf from '@tensorflow/tfjs-core';
import { type Module, Rng } from '@iv2/core';
import { assembleInputs, causalLmLoss, type LlamaForCausalLM, processQa, splitPromptForVideo, type TextTokenizer } from '@iv2/llm-bridge';
import type { TrainBatch, TrainTask } from '../train/loop.js';
import { batchIndices, type DemoData } from './data.js';

type Batch = TrainBatch & { clips: number[] };

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
    readonly o: { batchSize: number; seed: number; slots: number; maxTxtLen?: number },
  ) {
    this.batchesPerEpoch = Math.floor(data.train.labels.length / o.batchSize);
  }

  modules(): Array<[string, Module]> {
    return [['', this.lm]];
  }

  batch(index: number): Batch {
    const ids = batchIndices(this.data.train.labels.length, this.o.batchSize, index, this.o.seed + 17);
    return { files: ids.map((i) => this.data.train.names[i]), clips: ids };
  }

  loss(b: Batch) {
    const { train } = this.data;
    const tok = this.tokenizer;
    const eos = tok.eosTokenId ?? 2;
    const spans: number[][] = [];
    const split = b.clips.map((i, k) => {
      const r = new Rng((this.o.seed + 1) * 1_000_003 + i * 131 + k);
      const words = tok.encode(train.captions[i][0], { addSpecialTokens: false });
      // the caption's words at sorted random slots, `</s>` elsewhere
      const at = r.shuffle([...Array(this.o.slots).keys()]).slice(0, words.length).sort((x, y) => x - y);
      const span = new Array<number>(this.o.slots).fill(eos);
      at.forEach((s, j) => (span[s] = words[j]));
      spans.push(span);
      return splitPromptForVideo(processQa(train.qa[i].QA, { shuffle: r }).conversation, tok);
    });
    const bos = tok.bosTokenId ?? 1;
    return tf.tidy(() => {
      const video = this.lm.embed(tf.tensor2d(spans, [spans.length, this.o.slots], 'int32')) as tf.Tensor3D;
      const asm = assembleInputs(video, split, (x) => this.lm.embed(x), { bosTokenId: bos, padTokenId: tok.padTokenId ?? eos, maxTxtLen: this.o.maxTxtLen ?? 512 });
      const { logits } = this.lm.forward({ inputsEmbeds: asm.inputsEmbeds, attentionMask: asm.attentionMask });
      const loss = causalLmLoss(logits, asm.labels);
      return { total: loss, parts: { lm: loss } } as unknown as tf.TensorContainer;
    }) as unknown as { total: tf.Scalar; parts: Record<string, tf.Scalar> };
  }
}

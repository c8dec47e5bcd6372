import * as tf from '@tensorflow/tfjs-core';
import type { Module, Rng } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import { type BertTokenizer, InternVideo2Stage2Text } from '@iv2/llm-bridge';
import {
  evaluateStage2Retrieval,
  extractRetrievalFeatures,
  type RetrievalEvaluation,
  RngDraws,
  type Stage2Prepared,
  Stage2VisualObjective,
} from '@iv2/objectives';
import { videoChunks, zeroShotFromPooled } from '../eval/classification.js';
import type { TrainBatch, TrainTask } from '../train/loop.js';
import { batchIndices, type ClipSet, type DemoData, gatherFrames } from './data.js';

export interface Stage2Sizes {
  hidden: number;
  layers: number;
  fusionLayer: number;
  heads: number;
  intermediate: number;
  embedDim: number;
  maxTxtL: number;
  /** BERT `initializer_range`: a tower trained from scratch at this size needs more than BERT's 0.02 to start apart. */
  initializerRange?: number;
}

type Batch = TrainBatch & { prepared: Stage2Prepared; owned: tf.Tensor[]; hardNegatives: boolean };

/**
 * Stage 2 of the recipe on the demo data: the official VTC + VTM + MLM objective (`Stage2VisualObjective`)
 * over the stage-1 student and a BERT text tower; sample ids are the caption's class, so clips of one class
 * are each other's positives (as per-video ids are in the official retrieval fine-tuning).
 */
export class Stage2Task implements TrainTask<Batch> {
  readonly stage = 'stage2';
  readonly text: InternVideo2Stage2Text;
  readonly objective: Stage2VisualObjective;
  /** The same objective with `vtm_hard_neg: false`, for the batches before `hardNegativesFrom`. */
  private readonly randomNegatives?: Stage2VisualObjective;
  readonly batchesPerEpoch: number;
  /** The official metric sets (`sim`, `dsl`, `match`) of the last evaluation, in percent. */
  lastRetrieval?: RetrievalEvaluation;

  constructor(
    readonly vision: InternVideo2,
    readonly tokenizer: BertTokenizer,
    readonly data: DemoData,
    readonly o: {
      sizes: Stage2Sizes;
      batchSize: number;
      seed: number;
      rng: Rng;
      videoMaskRatio: number;
      kTest: number;
      /** A text side built elsewhere (e.g. from a checkpoint); else one of `sizes`. */
      text?: InternVideo2Stage2Text;
      lossWeight?: { vtc: number; vtm: number; mlm: number };
      vtmHardNeg?: boolean;
      /**
       * With `vtmHardNeg`, the batch index from which VTM draws the official hard negatives; earlier batches draw
       * random ones (`vtm_hard_neg: false`). Default 0.
       */
      hardNegativesFrom?: number;
      mlmProb?: number;
    },
  ) {
    const s = o.sizes;
    const vocab = tokenizer.vocabulary().length;
    this.text = o.text ?? InternVideo2Stage2Text.create({
      config: {
        bert: {
          vocab_size: vocab, hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads, intermediate_size: s.intermediate,
          fusion_layer: s.fusionLayer, encoder_width: vision.config.embed_dim, max_position_embeddings: Math.max(32, s.maxTxtL), initializer_range: s.initializerRange ?? 0.02,
        },
        embed_dim: s.embedDim,
        vision_width: vision.config.clip_embed_dim,
        temp: 0.07,
      },
      seed: o.seed + 2,
    });
    const id = (t: string) => tokenizer.tokenToId(t)!;
    const draws = new RngDraws(o.rng);
    const config = (hard: boolean) => ({ loss_weight: o.lossWeight ?? { vtc: 1, vtm: 1, mlm: 1 }, vtm_hard_neg: hard, mlm_masking_prob: o.mlmProb ?? 0.5, video_mask_ratio: o.videoMaskRatio, pad_token_id: id('[PAD]'), cls_token_id: id('[CLS]'), mask_token_id: id('[MASK]') });
    const hard = o.vtmHardNeg ?? true;
    this.objective = new Stage2VisualObjective(vision, this.text, config(hard), { draws });
    if (hard && (o.hardNegativesFrom ?? 0) > 0) this.randomNegatives = new Stage2VisualObjective(vision, this.text, config(false), { draws });
    this.batchesPerEpoch = Math.floor(data.train.labels.length / o.batchSize);
  }

  modules(): Array<[string, Module]> {
    return [['vision_encoder.', this.vision], ['', this.text]];
  }

  async batch(index: number): Promise<Batch> {
    const { train } = this.data;
    const ids = batchIndices(train.labels.length, this.o.batchSize, index, this.o.seed);
    // One of the clip's captions, chosen by position (caption_sample_type 'uniform', reproducibly).
    const texts = ids.map((i, k) => train.captions[i][(index * 31 + k) % train.captions[i].length]);
    const d = this.data;
    const image = tf.tensor5d(gatherFrames(train, ids, d.clipElems), [ids.length, d.numFrames, 3, d.size, d.size]);
    const tok = this.tokenizer.callTensors(texts, { maxLength: this.o.sizes.maxTxtL, padding: 'max_length' });
    const idx = tf.tensor1d(ids.map((i) => train.labels[i]), 'int32');
    const prepared = await this.objective.prepare({ image, inputIds: tok.inputIds, attentionMask: tok.attentionMask, idx });
    return { files: ids.map((i) => train.names[i]), prepared, owned: [image, tok.inputIds, tok.attentionMask, idx], hardNegatives: index >= (this.o.hardNegativesFrom ?? 0) };
  }

  loss(b: Batch) {
    // Runs under tf.variableGrads: the extras and loss_uta stay on the tape and are freed with it.
    const out = (b.hardNegatives || !this.randomNegatives ? this.objective : this.randomNegatives).loss(b.prepared);
    const parts = out.parts;
    return { total: out.total, parts: { vtc: parts.loss_vtc, vtm: parts.loss_vtm, mlm: parts.loss_mlm } };
  }

  release(b: Batch): void {
    this.objective.release(b.prepared);
    tf.dispose(b.owned);
  }

  afterStep(): void {
    this.text.clampTemp();
  }

  /** Held-out retrieval (sim and ITM re-ranked, official `evaluation`) and zero-shot classification, in [0, 1]. */
  async evaluate(set: ClipSet = this.data.test): Promise<Record<string, number>> {
    this.vision.eval();
    this.text.eval();
    try {
      const d = this.data;
      const texts = set.captions.flat();
      const txt2vid: number[] = [];
      const vid2txt: number[][] = [];
      set.captions.forEach((c, v) => {
        vid2txt.push(c.map((_, j) => txt2vid.length + j));
        for (let j = 0; j < c.length; j++) txt2vid.push(v);
      });
      const chunks = <T>(n: number, step: number, f: (a: number, b: number) => T) => Array.from({ length: Math.ceil(n / step) }, (_, i) => f(i * step, Math.min(n, (i + 1) * step)));
      const videos = videoChunks(set, d.numFrames, d.size);
      const tok = (t: string[]) => chunks(t.length, 64, (a, b) => this.tokenizer.callTensors(t.slice(a, b), { maxLength: this.o.sizes.maxTxtL, padding: 'max_length' }));
      const textBatches = tok(texts);
      const f = await extractRetrievalFeatures(this.vision, this.text, videos, textBatches);
      tf.dispose([...videos, ...textBatches.flatMap((t) => [t.inputIds, t.attentionMask])]);
      const r = await evaluateStage2Retrieval(this.text, f, { txt2vid, vid2txt }, { kTest: this.o.kTest });
      const m = r.match ?? r.sim;
      const out: Record<string, number> = {
        t2v_r1: m.t2v_r1 / 100, t2v_r5: m.t2v_r5 / 100, v2t_r1: m.v2t_r1 / 100, v2t_r5: m.v2t_r5 / 100,
        sim_t2v_r1: r.sim.t2v_r1 / 100, sim_v2t_r1: r.sim.v2t_r1 / 100,
      };
      this.lastRetrieval = r;
      if (!d.classes.length) {
        tf.dispose([f.textFeats, f.textAtts, f.imageFeats, f.pooledImageFeats]);
        return out;
      }
      // zero-shot classification: the class names through the 16 official templates
      const zs = await zeroShotFromPooled(this.text, this.tokenizer, f.pooledImageFeats, d.classes, set.labels, this.o.sizes.maxTxtL);
      tf.dispose([f.textFeats, f.textAtts, f.imageFeats, f.pooledImageFeats]);
      return { ...out, zs_top1: zs.top1 / 100, zs_top5: zs.top5 / 100 };
    } finally {
      this.vision.train();
      this.text.train();
    }
  }
}


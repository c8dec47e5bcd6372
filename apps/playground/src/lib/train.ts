import * as tf from '@tensorflow/tfjs-core';
import { AdamW, lambdaCosine, paramGroups, Rng } from '@iv2/core';
import { preprocessFrames } from '@iv2/encoder';
import { type Stage2Prepared, RngDraws, retrievalEvaluation, Stage2VisualObjective, Trainer } from '@iv2/objectives';
import { batchCaption, batchIndices, clipFrames, type DemoData, demoData } from './data.js';
import type { Stage2RunSpec, TrainSettings } from './demo_config.js';
import { stage2Manifest, type Stage2Manifest } from './manifest.js';
import { createStage2, demoTokenizer, type Stage2Model, stage2Safetensors } from './stage2.js';
import type { BertTokenizer } from '@iv2/llm-bridge';

export interface StepRow {
  step: number;
  loss: number;
  vtc: number;
  vtm: number;
  mlm: number;
  lr: number;
  gradNorm: number;
  ms: number;
}

export interface EvalRow {
  step: number;
  t2v_r1: number;
  t2v_r5: number;
  v2t_r1: number;
  v2t_r5: number;
}

/** `[B, T, 3, H, W]` of the given clips (ImageNet-normalised, as the encoder's preprocessing gives them). */
function clipTensor(d: DemoData, ids: number[], split: 'train' | 'test', layout: 'BTCHW' | 'BCTHW'): tf.Tensor5D {
  return tf.tidy(() => {
    const x = tf.concat(ids.map((i) => preprocessFrames(clipFrames(d[split].clips[i], d.size, d.numFrames), { size: d.size })), 0);
    return (layout === 'BCTHW' ? x : tf.transpose(x, [0, 2, 1, 3, 4])) as tf.Tensor5D;
  });
}

type RefCounting = { incRef(id: object): void; refCount(id: object): number; disposeData(id: object): boolean };

/**
 * The objective with one extra reference on `temp`'s data during each loss: the VTM negative mining of some
 * @iv2/objectives builds detaches `temp` and then releases its data once too often (the CLI guards the same way),
 * which would free the temperature under the optimizer. {@link dropExtraTempRef} takes the reference back when
 * nothing released it.
 */
function guardedObjective(o: Stage2VisualObjective): Stage2VisualObjective {
  const temp = o.text.temp;
  return Object.assign(Object.create(o), {
    loss(p: Stage2Prepared) {
      (tf.backend() as unknown as RefCounting).incRef(temp.dataId);
      return o.loss(p);
    },
  });
}

function dropExtraTempRef(temp: tf.Variable): void {
  const b = tf.backend() as unknown as RefCounting;
  if (b.refCount(temp.dataId) > 1) b.disposeData(temp.dataId);
}

/**
 * Stage-2 training of the demo model on the synthetic data, one optimizer step at a time (so a page can pause
 * between steps): the official VTC + VTM + MLM objective, AdamW over the official parameter groups, the lambda
 * cosine schedule, gradient clipping, the temperature clamp after each step. A pure function of the seed.
 */
export class Stage2Run {
  readonly model: Stage2Model;
  readonly objective: Stage2VisualObjective;
  readonly trainer: Trainer<unknown, Stage2Prepared>;
  readonly rows: StepRow[] = [];
  readonly evals: EvalRow[] = [];
  readonly s: TrainSettings;
  step = 0;

  /** `data` and `tokenizer` default to what the spec makes (pass them to reuse a rendering). */
  constructor(
    readonly spec: Stage2RunSpec,
    readonly data: DemoData = demoData(spec.data),
    tokenizer: BertTokenizer = demoTokenizer(data, spec.vocabSize),
  ) {
    const s = spec.train;
    this.s = s;
    const rng = new Rng(s.seed + 1);
    this.model = createStage2(tokenizer, s.seed, spec.arch, rng);
    this.model.vision.train();
    this.model.text.train();
    const id = (t: string) => tokenizer.tokenToId(t)!;
    this.objective = new Stage2VisualObjective(
      this.model.vision,
      this.model.text,
      { loss_weight: { vtc: 1, vtm: 1, mlm: 1 }, vtm_hard_neg: true, mlm_masking_prob: 0.5, video_mask_ratio: s.videoMaskRatio, pad_token_id: id('[PAD]'), cls_token_id: id('[CLS]'), mask_token_id: id('[MASK]') },
      { draws: new RngDraws(rng) },
    );
    const schedule = lambdaCosine({ base: s.lr, totalSteps: s.steps, warmupSteps: s.warmupSteps, minLrMulti: 0.01 });
    const trainable = this.objective.parameters().filter((p) => p.variable.trainable);
    const optimizer = new AdamW(paramGroups(trainable, { weightDecay: 0.05 }), { lr: schedule(0), betas: [0.9, 0.98] });
    this.trainer = new Trainer(guardedObjective(this.objective) as never, { optimizer, schedule, clipGrad: 3 });
  }

  /** One optimizer step on the batch at the current position. */
  async next(): Promise<StepRow> {
    const t0 = performance.now();
    const d = this.data;
    const ids = batchIndices(d.train.labels.length, this.s.batchSize, this.step, this.s.seed);
    const texts = ids.map((i, k) => batchCaption(d.train.captions[i], this.step, k));
    const image = clipTensor(d, ids, 'train', 'BTCHW');
    const tok = this.model.tokenizer.callTensors(texts, { maxLength: this.model.maxTxtL, padding: 'max_length' });
    const idx = tf.tensor1d(ids.map((i) => d.train.labels[i]), 'int32');
    try {
      const r = await this.trainer.step({ image, inputIds: tok.inputIds, attentionMask: tok.attentionMask, idx });
      dropExtraTempRef(this.model.text.temp);
      this.model.text.clampTemp();
      this.step += 1;
      const row: StepRow = {
        step: this.step, loss: r.loss, vtc: r.parts.loss_vtc, vtm: r.parts.loss_vtm, mlm: r.parts.loss_mlm, lr: r.lr, gradNorm: r.gradNorm ?? Number.NaN,
        ms: performance.now() - t0,
      };
      this.rows.push(row);
      return row;
    } finally {
      tf.dispose([image, tok.inputIds, tok.attentionMask, idx]);
    }
  }

  /** Held-out retrieval (cosine similarity, official recall definitions), text → video and video → text, in [0, 1]. */
  async evaluate(): Promise<EvalRow> {
    const m = this.model;
    const d = this.data;
    m.vision.eval();
    m.text.eval();
    try {
      const texts = d.test.captions.flat();
      const txt2vid: number[] = [];
      const vid2txt: number[][] = [];
      d.test.captions.forEach((c, v) => {
        vid2txt.push(c.map((_, j) => txt2vid.length + j));
        for (let j = 0; j < c.length; j++) txt2vid.push(v);
      });
      const vp: tf.Tensor[] = [];
      for (let i = 0; i < d.test.clips.length; i += 16) {
        const ids = [...Array(Math.min(16, d.test.clips.length - i)).keys()].map((k) => i + k);
        vp.push(tf.tidy(() => m.text.projectVision(m.vision.clipProjector.forward(m.vision.forward(clipTensor(d, ids, 'test', 'BCTHW'), { tokensOnly: true }).tokens))));
      }
      const tok = m.tokenizer.callTensors(texts, { maxLength: m.maxTxtL, padding: 'max_length' });
      const textProj = tf.tidy(() => m.text.projectText(m.text.encodeText(tok.inputIds, tok.attentionMask).textEmbeds));
      const visionProj = tf.concat(vp, 0) as tf.Tensor2D;
      const r = await retrievalEvaluation({ visionProj, textProj, txt2vid, vid2txt });
      tf.dispose([...vp, visionProj, textProj, tok.inputIds, tok.attentionMask]);
      const row: EvalRow = { step: this.step, t2v_r1: r.sim.t2v_r1 / 100, t2v_r5: r.sim.t2v_r5 / 100, v2t_r1: r.sim.v2t_r1 / 100, v2t_r5: r.sim.v2t_r5 / 100 };
      this.evals.push(row);
      return row;
    } finally {
      m.vision.train();
      m.text.train();
    }
  }

  /** `model.safetensors` as `iv2 train` writes it into each checkpoint folder. */
  checkpoint(): Promise<Uint8Array> {
    return stage2Safetensors(this.model, { step: String(this.step), stage: 'stage2' });
  }

  /** The manifest to keep beside the checkpoint (sizes and tokenizer; the run's definition and step). */
  manifest(): Stage2Manifest {
    return stage2Manifest(this.spec.arch, this.model.tokenizer, { run: { step: this.step, spec: this.spec } });
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.vision.dispose();
    this.model.text.dispose();
  }
}

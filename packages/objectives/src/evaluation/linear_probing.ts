import * as tf from '@tensorflow/tfjs-core';
import { AdamW, LayerNorm, Linear, Module, type NamedParameter, paramGroups, Rng, softCrossEntropy } from '@iv2/core';
import { AttentionPoolingBlock } from '@iv2/encoder';
import { EvaluationInputError } from '../errors.js';

/**
 * The probing head of `run_linear_probing.py` (`internvideo2.py` classifier): optionally the attention pool
 * (`clip_projector`, attentive probing with `--open_clip_projector`), then `fc_norm` (LayerNorm) and `head`
 * (Linear, initial weights and bias × `init_scale`). Input: pooled features `[B, D]` (linear) or the frozen
 * encoder's tokens `[B, M, C]` (attentive).
 */
export class ProbeHead extends Module {
  readonly clipProjector: AttentionPoolingBlock | null;
  readonly fcNorm: LayerNorm;
  readonly head: Linear;

  constructor(o: { dim: number; numClasses: number; attentive?: { width: number; numHeads: number }; initScale?: number; seed?: number }) {
    super();
    const rng = new Rng(o.seed ?? 0);
    this.clipProjector = o.attentive ? this.addModule('clip_projector', new AttentionPoolingBlock(o.attentive.width, o.attentive.numHeads, o.dim, rng)) : null;
    this.fcNorm = this.addModule('fc_norm', new LayerNorm(o.dim, 1e-5));
    this.head = this.addModule('head', new Linear(o.dim, o.numClasses, { rng }));
    const s = o.initScale ?? 0.001;
    for (const v of [this.head.weight, this.head.bias!]) {
      const t = tf.mul(v, s);
      v.assign(t);
      t.dispose();
    }
  }

  /** Copies the encoder's pretrained pool into `clip_projector` (the official attentive probe starts from it). */
  initPoolFrom(pool: AttentionPoolingBlock): void {
    if (!this.clipProjector) throw new EvaluationInputError('clip_projector', 'this probe is linear');
    const src = new Map(pool.namedParameterInfo().map((p) => [p.name, p.variable]));
    for (const p of this.clipProjector.namedParameterInfo()) {
      const s = src.get(p.name);
      if (!s || s.shape.join() !== p.variable.shape.join()) throw new EvaluationInputError('clip_projector', `${p.name} does not match the encoder's pool`);
      p.variable.assign(s);
    }
  }

  forward(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const pooled = this.clipProjector ? this.clipProjector.forward(x as tf.Tensor3D) : x;
      return this.head.forward(this.fcNorm.forward(pooled)) as tf.Tensor2D;
    });
  }
}

export interface ProbeTrainOptions {
  /** Frozen features: `[N, D]` pooled or `[N, M, C]` tokens. */
  features: tf.Tensor;
  labels: number[];
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay?: number;
  /** Label smoothing (`--smoothing`, 0.1 officially). */
  smoothing?: number;
  seed?: number;
}

/** Trains a {@link ProbeHead} on frozen features with AdamW and label-smoothed cross-entropy; returns the epoch losses. */
export async function trainProbe(head: ProbeHead, o: ProbeTrainOptions): Promise<number[]> {
  const n = o.features.shape[0];
  if (o.labels.length !== n) throw new EvaluationInputError('labels', `${o.labels.length} labels for ${n} samples`);
  const classes = head.head.outFeatures;
  const params: NamedParameter[] = head.parameters();
  const opt = new AdamW(paramGroups(params, { weightDecay: o.weightDecay ?? 0 }), { lr: o.lr, betas: [0.9, 0.999], eps: 1e-8 });
  const rng = new Rng(o.seed ?? 0);
  const eps = o.smoothing ?? 0;
  const losses: number[] = [];
  for (let e = 0; e < o.epochs; e++) {
    const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    let sum = 0;
    for (let i = 0; i < n; i += o.batchSize) {
      const idx = order.slice(i, i + o.batchSize);
      const { value, grads } = tf.tidy(() => {
        const ix = tf.tensor1d(idx, 'int32');
        const x = tf.gather(o.features, ix);
        const y = tf.add(tf.mul(tf.oneHot(tf.tensor1d(idx.map((j) => o.labels[j]), 'int32'), classes), 1 - eps), eps / classes) as tf.Tensor2D;
        return tf.variableGrads(() => softCrossEntropy(head.forward(x), y), params.map((p) => p.variable));
      });
      const named = new Map(params.map((p) => [p.name, grads[p.variable.name]] as [string, tf.Tensor]).filter(([, g]) => !!g));
      opt.apply(named);
      sum += (await value.data())[0] * idx.length;
      tf.dispose([value, ...Object.values(grads)]);
    }
    losses.push(sum / n);
  }
  opt.dispose();
  return losses;
}

/** Top-1 / top-5 accuracy (percent) of the head on features. */
export async function evaluateProbe(head: ProbeHead, features: tf.Tensor, labels: number[]): Promise<{ top1: number; top5: number }> {
  const logits = head.forward(features);
  const k = Math.min(5, logits.shape[1]);
  const { indices } = tf.topk(logits, k);
  const idx = await indices.data();
  tf.dispose([logits, indices]);
  let t1 = 0;
  let t5 = 0;
  labels.forEach((l, i) => {
    if (idx[i * k] === l) t1++;
    for (let j = 0; j < k; j++) if (idx[i * k + j] === l) t5++;
  });
  return { top1: (100 * t1) / labels.length, top5: (100 * t5) / labels.length };
}

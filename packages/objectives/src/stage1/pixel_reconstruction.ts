import * as tf from '@tensorflow/tfjs-core';
import { gatherTokens, LayerNorm, Linear, Module, type NamedParameter, Rng, truncNormal, visibleIndices } from '@iv2/core';
import { Block, type InternVideo2 } from '@iv2/encoder';
import { z } from 'zod';
import { type Draws, RngDraws } from '../draws.js';
import { BatchShapeError, ObjectiveConfigError } from '../errors.js';
import { type LossOutput, type Objective, prefixed } from '../objective.js';
import { randomMask, tubeMask } from './masking.js';

/**
 * Teacherless stage-1 pre-training (VideoMAE's recipe on an InternVideo2 student), under VideoMAE's argument names.
 * `normlize_target` keeps VideoMAE's spelling.
 */
export const PixelReconstructionConfigSchema = z.object({
  mask_type: z.enum(['tube', 'random']).default('tube'),
  mask_ratio: z.number().min(0).lt(1).default(0.9),
  normlize_target: z.boolean().default(true),
  decoder_embed_dim: z.number().int().positive().optional(),
  decoder_depth: z.number().int().min(0).default(4),
  decoder_num_heads: z.number().int().positive().optional(),
  /** The normalisation the clips carry (undone before taking pixel targets); ImageNet by default. */
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0.485, 0.456, 0.406]),
  std: z.tuple([z.number(), z.number(), z.number()]).default([0.229, 0.224, 0.225]),
  seed: z.number().int().default(0),
});
export type PixelReconstructionConfigInput = z.input<typeof PixelReconstructionConfigSchema>;
export type PixelReconstructionConfig = z.output<typeof PixelReconstructionConfigSchema>;

/** VideoMAE's `get_sinusoid_encoding_table`: fixed 1-D sin/cos positions `[n, d]`. */
export function sinusoidTable(n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < d; j++) {
      const a = p / 10000 ** ((2 * Math.floor(j / 2)) / d);
      out[p * d + j] = j % 2 === 0 ? Math.sin(a) : Math.cos(a);
    }
  }
  return out;
}

/**
 * The light decoder: `encoder_to_decoder` (no bias), `mask_token`, a fixed sin-cos table over all patches,
 * `decoder.blocks.*` (InternVideo2 blocks), `decoder.norm`, `decoder.head` → one patch of pixels per token.
 */
export class PixelDecoder extends Module {
  readonly encoderToDecoder: Linear;
  readonly maskToken: tf.Variable;
  readonly posTable: tf.Variable;
  readonly blocks: Block[];
  readonly norm: LayerNorm;
  readonly head: Linear;

  constructor(o: { encoderDim: number; dim: number; depth: number; numHeads: number; numPatches: number; patchPixels: number; seed: number }) {
    super();
    const rng = new Rng(o.seed);
    this.encoderToDecoder = this.addModule('encoder_to_decoder', new Linear(o.encoderDim, o.dim, { bias: false, rng }));
    this.maskToken = this.addParameter('mask_token', truncNormal(rng, [1, 1, o.dim], 0.02));
    this.posTable = this.addBuffer('pos_embed', tf.tensor3d(sinusoidTable(o.numPatches, o.dim), [1, o.numPatches, o.dim]));
    const dec = new DecoderStack();
    this.blocks = [];
    for (let i = 0; i < o.depth; i++) {
      const b = new Block(o.dim, o.numHeads, { mlpHidden: 4 * o.dim, qkvBias: true, qkNormalization: false, initValues: 0, dropPath: 0, gelu: 'none', rng });
      this.blocks.push(dec.add(`blocks.${i}`, b));
    }
    this.norm = dec.add('norm', new LayerNorm(o.dim, 1e-6));
    this.head = dec.add('head', new Linear(o.dim, o.patchPixels, { rng }));
    this.addModule('decoder', dec);
  }

  /**
   * `tokens` `[B, M, C]` (the student's visible patch tokens, no CLS), `visiblePatches` / `maskedPatches` int32
   * patch indices → predicted pixels of the masked patches `[B, N_masked, P]`.
   */
  forward(tokens: tf.Tensor3D, visiblePatches: tf.Tensor2D, maskedPatches: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const b = tokens.shape[0];
      const d = this.maskToken.shape[2]!;
      const pos = tf.tile(this.posTable, [b, 1, 1]) as tf.Tensor3D;
      const x = tf.add(this.encoderToDecoder.forward(tokens), gatherTokens(pos, visiblePatches));
      const nm = maskedPatches.shape[1];
      const m = tf.add(tf.tile(this.maskToken, [b, nm, 1]), gatherTokens(pos, maskedPatches));
      let h = tf.concat([x, m], 1) as tf.Tensor3D;
      for (const blk of this.blocks) h = blk.forward(h);
      const last = tf.slice(this.norm.forward(h), [0, h.shape[1] - nm, 0], [b, nm, d]);
      return this.head.forward(last) as tf.Tensor3D;
    });
  }
}

/** Holds the decoder's children under `decoder.*` keys. */
class DecoderStack extends Module {
  add<M extends Module>(name: string, m: M): M {
    const parts = name.split('.');
    if (parts.length === 1) return this.addModule(name, m);
    let list = this.namedChildren().find(([n]) => n === parts[0])?.[1] as DecoderStack | undefined;
    if (!list) list = this.addModule(parts[0], new DecoderStack());
    return list.add(parts.slice(1).join('.'), m);
  }
}

export interface PixelBatch {
  /** `[B, 3, T, H, W]`, normalised with `mean` / `std`. */
  video: tf.Tensor5D;
}

export interface PixelPrepared {
  video: tf.Tensor5D;
  /** `[B, 1 + N]`, true = masked, CLS visible. */
  mask: tf.Tensor2D;
  visible: tf.Tensor2D;
  visiblePatches: tf.Tensor2D;
  maskedPatches: tf.Tensor2D;
  /** `[B, N_masked, P]` pixel targets of the masked patches. */
  targets: tf.Tensor3D;
}

/**
 * Patch pixels as VideoMAE takes them: `b c (t p0) (h p1) (w p2) → b (t h w) (p0 p1 p2) c`, normalised per patch
 * and channel by the mean and the unbiased std (+ 1e-6) when `normalize`, then flattened to `(p0 p1 p2 c)`.
 */
export function patchPixels(video: tf.Tensor5D, tubelet: number, patch: number, normalize: boolean): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, c, t, h, w] = video.shape;
    const [nt, nh, nw] = [t / tubelet, h / patch, w / patch];
    const x = tf.reshape(video, [b, c, nt, tubelet, nh, patch, nw, patch]);
    let p = tf.reshape(tf.transpose(x, [0, 2, 4, 6, 3, 5, 7, 1]), [b, nt * nh * nw, tubelet * patch * patch, c]);
    if (normalize) {
      const n = tubelet * patch * patch;
      const mean = tf.mean(p, 2, true);
      const variance = tf.div(tf.sum(tf.square(tf.sub(p, mean)), 2, true), Math.max(1, n - 1));
      p = tf.div(tf.sub(p, mean), tf.add(tf.sqrt(variance), 1e-6));
    }
    return tf.reshape(p, [b, nt * nh * nw, tubelet * patch * patch * c]) as tf.Tensor3D;
  });
}

/**
 * VideoMAE-style masked pixel reconstruction with an InternVideo2 student: tube (or random) mask, the student on
 * the visible tokens, the light decoder on visible + mask tokens, MSE on the masked patches. Part: `loss_pixel`.
 */
export class PixelReconstruction implements Objective<PixelBatch, PixelPrepared> {
  readonly name = 'pixel';
  readonly config: PixelReconstructionConfig;
  readonly decoder: PixelDecoder;
  readonly draws: Draws;

  constructor(
    readonly student: InternVideo2,
    config: PixelReconstructionConfigInput = {},
    opts: { draws?: Draws } = {},
  ) {
    const r = PixelReconstructionConfigSchema.safeParse(config);
    if (!r.success) throw new ObjectiveConfigError(r.error.issues[0].path.join('.') || '(root)', r.error.issues[0].message);
    this.config = r.data;
    const c = this.config;
    const s = student.config;
    const dim = c.decoder_embed_dim ?? Math.min(384, s.embed_dim);
    const heads = c.decoder_num_heads ?? Math.max(1, Math.round(dim / 64));
    if (dim % heads) throw new ObjectiveConfigError('decoder_num_heads', `${heads} does not divide decoder_embed_dim ${dim}`);
    const g = Math.floor(s.img_size / s.patch_size);
    const n = (s.num_frames / s.tubelet_size) * g * g;
    this.decoder = new PixelDecoder({ encoderDim: s.embed_dim, dim, depth: c.decoder_depth, numHeads: heads, numPatches: n, patchPixels: 3 * s.tubelet_size * s.patch_size ** 2, seed: c.seed });
    this.draws = opts.draws ?? new RngDraws(new Rng(c.seed));
  }

  /** The student's parameters, then the decoder's under `pixel_decoder.*`. */
  parameters(): NamedParameter[] {
    return [...this.student.parameters({ trainable: true }), ...prefixed('pixel_decoder.', this.decoder.parameters({ trainable: true }))];
  }

  async prepare(batch: PixelBatch): Promise<PixelPrepared> {
    const c = this.config;
    const s = this.student.config;
    const v = batch.video;
    if (v.rank !== 5 || v.shape[1] !== 3 || v.shape[2] !== s.num_frames || v.shape[3] !== s.img_size) {
      throw new BatchShapeError('video', `[${v.shape}], the student takes [B, 3, ${s.num_frames}, ${s.img_size}, ${s.img_size}]`);
    }
    const b = v.shape[0];
    const g = Math.floor(s.img_size / s.patch_size);
    const t = s.num_frames / s.tubelet_size;
    const mask = c.mask_type === 'tube' ? tubeMask(b, t, g * g, c.mask_ratio, this.draws) : randomMask(b, t * g * g, c.mask_ratio, this.draws);
    const visible = await visibleIndices(mask);
    const patchMask = tf.slice(mask, [0, 1], [-1, -1]) as tf.Tensor2D;
    const visiblePatches = await visibleIndices(patchMask);
    const inv = tf.logicalNot(patchMask) as tf.Tensor2D;
    const maskedPatches = await visibleIndices(inv);
    tf.dispose([patchMask, inv]);
    const targets = tf.tidy(() => {
      const mean = tf.reshape(tf.tensor1d(c.mean), [1, 3, 1, 1, 1]);
      const std = tf.reshape(tf.tensor1d(c.std), [1, 3, 1, 1, 1]);
      const raw = tf.add(tf.mul(v, std), mean) as tf.Tensor5D;
      const p = patchPixels(raw, s.tubelet_size, s.patch_size, c.normlize_target);
      return gatherTokens(p, maskedPatches);
    });
    return { video: tf.clone(v), mask, visible, visiblePatches, maskedPatches, targets };
  }

  loss(p: PixelPrepared): LossOutput {
    return tf.tidy(() => {
      const out = this.student.forward(p.video, { visible: p.visible, tokensOnly: true });
      const tokens = tf.slice(out.tokens, [0, 1, 0], [-1, -1, -1]) as tf.Tensor3D;
      const pred = this.decoder.forward(tokens, p.visiblePatches, p.maskedPatches);
      const loss = tf.mean(tf.square(tf.sub(pred, p.targets))) as tf.Scalar;
      return { total: loss, parts: { loss_pixel: loss }, extras: { prediction: pred } } as unknown as tf.TensorContainer;
    }) as unknown as LossOutput;
  }

  release(p: PixelPrepared): void {
    tf.dispose([p.video, p.mask, p.visible, p.visiblePatches, p.maskedPatches, p.targets]);
  }

  dispose(): void {
    this.decoder.dispose();
  }
}

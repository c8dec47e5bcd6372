import * as tf from '@tensorflow/tfjs-core';
import { type NamedParameter, visibleIndices } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import { z } from 'zod';
import { type Draws, RngDraws } from '../draws.js';
import { BatchShapeError, ObjectiveConfigError, TeacherOutputError } from '../errors.js';
import type { LossOutput, Objective } from '../objective.js';
import { attentionGuidedMask, gatherVisible, randomMask, tubeMask } from './masking.js';
import type { ClipTeacher, MaeTeacher } from './teachers.js';

/**
 * Stage-1 settings under the argument names of `run_pretraining.py` / `run_distill.py`
 * (training.md §1.6, §1.7). `td_ratio` = `mae_tubelet_size / tubelet_size`: the student and the CLIP teacher see
 * every `td_ratio`-th loaded frame, the motion teacher sees them all.
 */
export const Stage1ConfigSchema = z.object({
  mask_type: z.enum(['attention', 'tube', 'random']).default('attention'),
  mask_ratio: z.number().min(0).lt(1).default(0.8),
  td_ratio: z.number().int().positive().default(2),
  clip_loss_ratio: z.tuple([z.number(), z.number()]).default([1, 1]),
  mae_loss_ratio: z.number().default(1),
  /** False when `clip_teacher_final_dim` is 0. */
  distill_final_features: z.boolean().default(true),
});
export type Stage1ConfigInput = z.input<typeof Stage1ConfigSchema>;
export type Stage1Config = z.output<typeof Stage1ConfigSchema>;

export function parseStage1Config(input: Stage1ConfigInput = {}): Stage1Config {
  const r = Stage1ConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ObjectiveConfigError(i.path.join('.') || '(root)', i.message);
  }
  return r.data;
}

export interface Stage1Batch {
  /** `[B, 3, T_loaded, H, W]`, normalised; T_loaded = student frames × `td_ratio`. */
  video: tf.Tensor5D;
  /** Sample keys (for precomputed teacher features). */
  keys?: string[];
}

export interface Stage1Prepared {
  /** The student's frames `[B, 3, T, H, W]`. */
  video: tf.Tensor5D;
  /** `bool_masked_pos` `[B, 1 + N]`, true = masked, CLS visible. */
  mask: tf.Tensor2D;
  visible: tf.Tensor2D;
  targets: { clipMiddle: tf.Tensor4D; clipFinal?: tf.Tensor2D; mae?: tf.Tensor4D };
}

/**
 * Unmasked-teacher distillation, one step of `engine_for_pretraining.train_one_epoch` (and, without a motion
 * teacher, of `engine_for_distill`): frame bookkeeping, teacher targets at the visible positions, the student's
 * alignment heads, and `2 − 2⟨s, t⟩` per token. Losses: `loss_clip_middle`, `loss_clip_final`, `loss_mae`.
 */
export class UnmaskedTeacherDistillation implements Objective<Stage1Batch, Stage1Prepared> {
  readonly name = 'stage1';
  readonly config: Stage1Config;
  readonly draws: Draws;

  constructor(
    readonly student: InternVideo2,
    readonly teachers: { clip: ClipTeacher; mae?: MaeTeacher },
    config: Stage1ConfigInput = {},
    opts: { draws?: Draws } = {},
  ) {
    this.config = parseStage1Config(config);
    this.draws = opts.draws ?? new RngDraws();
    if (!student.clipDecoder) throw new ObjectiveConfigError('clip_return_layer', 'the student has no clip_decoder heads');
    if (this.config.distill_final_features && !student.finalClipDecoder) {
      throw new ObjectiveConfigError('clip_teacher_final_dim', 'distill_final_features needs the final_clip_decoder');
    }
    if (teachers.mae && !student.maeDecoder) throw new ObjectiveConfigError('mae_return_layer', 'a motion teacher needs mae_decoder heads');
  }

  parameters(): NamedParameter[] {
    return this.student.parameters({ trainable: true });
  }

  async prepare(batch: Stage1Batch): Promise<Stage1Prepared> {
    const c = this.config;
    const v = batch.video;
    if (v.rank !== 5) throw new BatchShapeError('video', `rank ${v.rank}, expected [B, 3, T, H, W]`);
    const [b, , tLoaded] = v.shape;
    const sc = this.student.config;
    if (tLoaded !== sc.num_frames * c.td_ratio) {
      throw new BatchShapeError('video', `${tLoaded} frames; the student takes ${sc.num_frames} × td_ratio ${c.td_ratio}`);
    }
    const frames = tf.tensor1d(Array.from({ length: sc.num_frames }, (_, i) => i * c.td_ratio), 'int32');
    const video = tf.gather(v, frames, 2) as tf.Tensor5D;
    frames.dispose();
    const ctx = { keys: batch.keys };
    const clip = await this.teachers.clip.forward(video, ctx);
    const mae = this.teachers.mae ? await this.teachers.mae.forward(v, ctx) : undefined;
    try {
      const n = sc.num_frames / sc.tubelet_size;
      const l = Math.floor(sc.img_size / sc.patch_size) ** 2;
      let mask: tf.Tensor2D;
      if (c.mask_type === 'attention') {
        if (!clip.attn) throw new TeacherOutputError('attn', "mask_type 'attention' needs the teacher's pooling attention");
        mask = await attentionGuidedMask(clip.attn, b, c.mask_ratio, this.draws);
      } else if (c.mask_type === 'tube') {
        mask = tubeMask(b, n, l, c.mask_ratio, this.draws);
      } else {
        mask = randomMask(b, n * l, c.mask_ratio, this.draws);
      }
      if (mask.shape[1] !== 1 + n * l) {
        throw new TeacherOutputError('attn', `gives a mask over ${mask.shape[1] - 1} patches, the student has ${n * l}`);
      }
      checkTeacher('middle', clip.middle, b, 1 + n * l);
      const visible = await visibleIndices(mask);
      const targets: Stage1Prepared['targets'] = { clipMiddle: gatherVisible(clip.middle, visible) };
      if (c.distill_final_features && c.clip_loss_ratio[1] > 0) {
        if (!clip.final) throw new TeacherOutputError('final', 'distill_final_features needs the pooled teacher feature');
        targets.clipFinal = tf.clone(clip.final);
      }
      if (mae) {
        checkTeacher('mae.middle', mae.middle, b, n * l);
        const vis = tf.tidy(() => tf.sub(tf.slice(visible, [0, 1], [-1, -1]), tf.scalar(1, 'int32'))) as tf.Tensor2D;
        targets.mae = gatherVisible(mae.middle, vis);
        vis.dispose();
      }
      return { video, mask, visible, targets };
    } finally {
      tf.dispose([clip.middle, clip.final, clip.attn, mae?.middle].filter((t) => !!t) as tf.Tensor[]);
    }
  }

  loss(p: Stage1Prepared): LossOutput {
    const c = this.config;
    return tf.tidy(() => {
      const out = this.student.forward(p.video, { visible: p.visible });
      const parts: Record<string, tf.Scalar> = {};
      parts.loss_clip_middle = alignLoss(out.clipAlign!, p.targets.clipMiddle);
      parts.loss_clip_final = p.targets.clipFinal ? alignLoss(out.align!, p.targets.clipFinal) : tf.scalar(0);
      let total = tf.add(tf.mul(parts.loss_clip_middle, c.clip_loss_ratio[0]), tf.mul(parts.loss_clip_final, c.clip_loss_ratio[1]));
      if (p.targets.mae) {
        parts.loss_mae = alignLoss(out.maeAlign!, p.targets.mae);
        total = tf.add(total, tf.mul(parts.loss_mae, c.mae_loss_ratio));
      }
      const extras: Record<string, tf.Tensor> = { clip_middle: out.clipAlign! };
      if (out.align) extras.clip_final = out.align;
      if (out.maeAlign) extras.mae = out.maeAlign;
      return { total, parts, extras } as unknown as tf.TensorContainer;
    }) as unknown as LossOutput;
  }

  release(p: Stage1Prepared): void {
    tf.dispose([p.video, p.mask, p.visible, p.targets.clipMiddle, ...(p.targets.clipFinal ? [p.targets.clipFinal] : []), ...(p.targets.mae ? [p.targets.mae] : [])]);
  }
}

/** MILAN-style alignment of unit vectors: mean over tokens of `2 − 2⟨s, t⟩` (= ‖s − t‖²). */
export function alignLoss(student: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(2, tf.mul(2, tf.sum(tf.mul(student, target), -1)))) as tf.Scalar);
}

function checkTeacher(field: string, t: tf.Tensor, b: number, n: number): void {
  if (t.rank !== 4 || t.shape[1] !== b || t.shape[2] !== n) {
    throw new TeacherOutputError(field, `shape [${t.shape}], expected [K, ${b}, ${n}, C]`);
  }
}

import * as tf from '@tensorflow/tfjs-core';
import { type NamedParameter, visibleIndices } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import type { InternVideo2Stage2Text } from '@iv2/llm-bridge';
import { z } from 'zod';
import { type Draws, RngDraws } from '../draws.js';
import { BatchShapeError, ObjectiveConfigError, TeacherOutputError } from '../errors.js';
import { type LossOutput, type Objective, prefixed } from '../objective.js';
import { alignLoss } from '../stage1/engine_for_pretraining.js';
import { attentionGuidedMask, gatherVisible, randomMask, tubeMask } from '../stage1/masking.js';
import type { ClipTeacher } from '../stage1/teachers.js';
import { crossEntropy, type MlmTokens, mlmMask, vtcLoss, vtmNegatives } from './criterions.js';

/**
 * Stage-2 settings under the official config names (`config.criterion`, `config.model.vision_encoder`,
 * training.md §2.2–2.4). Token ids default to bert-base/large-uncased's.
 */
export const Stage2ConfigSchema = z.object({
  loss_weight: z
    .object({ vtc: z.number().min(0).default(1), vtm: z.number().min(0).default(1), mlm: z.number().min(0).default(1), uta: z.number().min(0).default(0) })
    .prefault({}),
  /** `vision_encoder.only_mask` (true in every released config): masks without a teacher, no UTA targets. */
  only_mask: z.boolean().default(true),
  /** UTA (`new_UTA_Loss`): needs a CLIP teacher and `only_mask: false`. */
  distill_final_features: z.boolean().default(true),
  clip_loss_ratio: z.tuple([z.number(), z.number()]).default([1, 1]),
  uta_image_only: z.boolean().default(false),
  vtm_hard_neg: z.boolean().default(true),
  mlm_masking_prob: z.number().min(0).max(1).default(0.5),
  video_mask_type: z.enum(['random', 'tube', 'attention', 'none']).default('random'),
  video_mask_ratio: z.number().min(0).lt(1).default(0.8),
  image_mask_type: z.enum(['random', 'tube', 'attention', 'none']).default('random'),
  image_mask_ratio: z.number().min(0).lt(1).default(0.5),
  /** The clamp of `clip_contrastive_temperature`. */
  temp_min: z.number().positive().default(0.001),
  temp_max: z.number().positive().default(0.5),
  pad_token_id: z.number().int().min(0).default(0),
  cls_token_id: z.number().int().min(0).default(101),
  mask_token_id: z.number().int().min(0).default(103),
  /** `is_pretrain`: MLM runs only in pre-training. */
  is_pretrain: z.boolean().default(true),
});
export type Stage2ConfigInput = z.input<typeof Stage2ConfigSchema>;
export type Stage2Config = z.output<typeof Stage2ConfigSchema>;

export function parseStage2Config(input: Stage2ConfigInput = {}): Stage2Config {
  const r = Stage2ConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ObjectiveConfigError(i.path.join('.') || '(root)', i.message);
  }
  return r.data;
}

export interface Stage2Batch {
  /** `[B, T, 3, H, W]` as the stage-2 forward takes it (T = 1: images). */
  image: tf.Tensor5D;
  /** `[B, L]` token ids and their 1/0 mask. */
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  /** `[B]` sample ids (VTC soft targets, VTM positives). */
  idx: tf.Tensor1D;
}

export interface Stage2Prepared {
  /** `[B, 3, T, H, W]`. */
  video: tf.Tensor5D;
  useImage: boolean;
  /** Visible token indices (CLS first) or null without masking. */
  visible: tf.Tensor2D | null;
  mask: tf.Tensor2D | null;
  inputIds: tf.Tensor2D;
  attentionMask: tf.Tensor2D;
  idx: tf.Tensor1D;
  mlm: { inputIds: tf.Tensor2D; labels: tf.Tensor2D } | null;
  /** UTA targets at the visible positions (teacher runs only). */
  uta: { clipMiddle: tf.Tensor4D; clipFinal?: tf.Tensor2D } | null;
}

/**
 * `InternVideo2_Stage2_visual.forward` with the losses of `criterions.py`: VTC (clamped learnable temperature,
 * soft targets for repeated ids), VTM (hard negatives), MLM (BERT masking over the whole vocabulary), the random
 * video mask of `only_mask`, summed as `((0 + uta) + vtc) + vtm) + mlm` with their weights. Parts: `loss_uta`,
 * `loss_vtc`, `loss_vtm`, `loss_mlm`.
 */
export class Stage2VisualObjective implements Objective<Stage2Batch, Stage2Prepared> {
  readonly name = 'stage2';
  readonly config: Stage2Config;
  readonly draws: Draws;
  readonly teacher: ClipTeacher | null;

  constructor(
    readonly vision: InternVideo2,
    readonly text: InternVideo2Stage2Text,
    config: Stage2ConfigInput = {},
    opts: { draws?: Draws; teacher?: ClipTeacher } = {},
  ) {
    this.config = parseStage2Config(config);
    this.draws = opts.draws ?? new RngDraws();
    this.teacher = opts.teacher ?? null;
    const c = this.config;
    if (c.loss_weight.uta !== 0 && (c.only_mask || !this.teacher)) {
      throw new ObjectiveConfigError('loss_weight.uta', 'UTA needs a CLIP teacher and only_mask: false');
    }
    if (text.config.bert.encoder_width !== vision.config.embed_dim) {
      throw new ObjectiveConfigError('encoder_width', `the text tower cross-attends to ${text.config.bert.encoder_width}-wide tokens, the vision encoder gives ${vision.config.embed_dim}`);
    }
    if (text.config.vision_width !== vision.config.clip_embed_dim) {
      throw new ObjectiveConfigError('vision_width', `vision_proj takes ${text.config.vision_width}, the pool gives ${vision.config.clip_embed_dim}`);
    }
  }

  /** `vision_encoder.*` plus the text side's keys (`text_encoder.*`, `vision_proj`, `text_proj`, `itm_head`, `temp`). */
  parameters(): NamedParameter[] {
    return [...prefixed('vision_encoder.', this.vision.parameters()), ...this.text.parameters()];
  }

  get tokens(): MlmTokens {
    return { pad: this.config.pad_token_id, cls: this.config.cls_token_id, mask: this.config.mask_token_id };
  }

  async prepare(batch: Stage2Batch): Promise<Stage2Prepared> {
    const c = this.config;
    const img = batch.image;
    if (img.rank !== 5) throw new BatchShapeError('image', `rank ${img.rank}, expected [B, T, 3, H, W]`);
    const [b, t] = img.shape;
    if (batch.inputIds.shape[0] !== b || batch.idx.shape[0] !== b) throw new BatchShapeError('input_ids', `batch ${batch.inputIds.shape[0]} / idx ${batch.idx.shape[0]} for ${b} clips`);
    this.text.clampTemp(c.temp_min, c.temp_max);
    const useImage = t === 1;
    const video = tf.transpose(img, [0, 2, 1, 3, 4]) as tf.Tensor5D;
    const vc = this.vision.config;
    const l = Math.floor(vc.img_size / vc.patch_size) ** 2;
    const frames = t / vc.tubelet_size;
    const type = useImage ? c.image_mask_type : c.video_mask_type;
    const ratio = useImage ? c.image_mask_ratio : c.video_mask_ratio;
    // encode_teacher: masks alone (`only_mask`), nothing without a teacher, or a mask plus the teacher's targets.
    let mask: tf.Tensor2D | null = null;
    let uta: Stage2Prepared['uta'] = null;
    const name = useImage ? 'image_mask' : 'video_mask';
    const needTeacher = !(c.uta_image_only && !useImage) && !c.only_mask && this.teacher && c.loss_weight.uta !== 0;
    if (c.only_mask || (c.uta_image_only && !useImage)) {
      if (type === 'attention') throw new ObjectiveConfigError(useImage ? 'image_mask_type' : 'video_mask_type', "'attention' needs the teacher (only_mask: false)");
      if (type === 'random') mask = randomMask(b, frames * l, ratio, this.draws, name);
      else if (type === 'tube') mask = tubeMask(b, frames, l, ratio, this.draws, name);
    } else if (needTeacher) {
      if (type === 'none') throw new ObjectiveConfigError(useImage ? 'image_mask_type' : 'video_mask_type', "UTA needs a mask ('random', 'tube' or 'attention')");
      const out = await this.teacher!.forward(video, {});
      try {
        if (type === 'attention') {
          if (!out.attn) throw new TeacherOutputError('attn', "mask_type 'attention' needs the teacher's pooling attention");
          mask = await attentionGuidedMask(out.attn, b, ratio, this.draws);
        } else mask = type === 'random' ? randomMask(b, frames * l, ratio, this.draws, name) : tubeMask(b, frames, l, ratio, this.draws, name);
        const vis = await visibleIndices(mask);
        uta = { clipMiddle: gatherVisible(out.middle, vis) };
        if (out.final) uta.clipFinal = tf.clone(out.final);
        vis.dispose();
      } finally {
        tf.dispose([out.middle, out.final, out.attn].filter((t) => !!t) as tf.Tensor[]);
      }
    }
    const visible = mask ? await visibleIndices(mask) : null;
    const mlm =
      c.is_pretrain && c.loss_weight.mlm !== 0
        ? await mlmMask(batch.inputIds, c.mlm_masking_prob, this.text.config.bert.vocab_size, this.tokens, this.draws)
        : null;
    return { video, useImage, visible, mask, inputIds: batch.inputIds, attentionMask: batch.attentionMask, idx: batch.idx, mlm, uta };
  }

  loss(p: Stage2Prepared): LossOutput {
    const c = this.config;
    const w = c.loss_weight;
    return tf.tidy(() => {
      const v = this.vision.forward(p.video, { visible: p.visible ?? undefined, useImage: p.useImage });
      const visionEmbeds = v.tokens;
      const { textEmbeds } = this.text.encodeText(p.inputIds, p.attentionMask);
      const visionProj = this.text.projectVision(v.pooled!);
      const textProj = this.text.projectText(textEmbeds);
      const temp = this.text.temp;
      const zero = () => tf.scalar(0);
      const parts: Record<string, tf.Scalar> = { loss_uta: zero() };
      if (w.uta !== 0 && p.uta) {
        // new_UTA_Loss: the stage-1 alignment of the student's CLIP heads to the teacher at the visible tokens.
        const mid = alignLoss(v.clipAlign!, p.uta.clipMiddle);
        const fin = c.distill_final_features && c.clip_loss_ratio[1] > 0 && p.uta.clipFinal ? alignLoss(v.align!, p.uta.clipFinal) : tf.scalar(0);
        parts.loss_uta = tf.mul(tf.add(tf.mul(mid, c.clip_loss_ratio[0]), tf.mul(fin, c.clip_loss_ratio[1])), w.uta) as tf.Scalar;
      }
      const extras: Record<string, tf.Tensor> = { vision_embeds: visionEmbeds, pooled_vision_embeds: v.pooled!, text_embeds: textEmbeds, vision_proj: visionProj, text_proj: textProj };
      parts.loss_vtc = w.vtc !== 0 ? (tf.mul(vtcLoss(visionProj, textProj, p.idx, temp), w.vtc) as tf.Scalar) : zero();
      if (w.vtm !== 0) {
        const neg = vtmNegatives(visionProj, textProj, p.idx, temp, c.vtm_hard_neg, this.draws);
        const veNeg = tf.gather(visionEmbeds, neg.visionNeg);
        const teNeg = tf.gather(textEmbeds, neg.textNeg);
        const attNeg = tf.gather(p.attentionMask, neg.textNeg);
        const fused = this.text.fuse({
          textEmbeds: tf.concat([textEmbeds, textEmbeds, teNeg], 0) as tf.Tensor3D,
          attentionMask: tf.concat([p.attentionMask, p.attentionMask, attNeg], 0),
          visionEmbeds: tf.concat([visionEmbeds, veNeg, visionEmbeds], 0) as tf.Tensor3D,
        });
        const logits = this.text.itmLogits(fused);
        const bs = p.inputIds.shape[0];
        const labels = Array.from({ length: 3 * bs }, (_, i) => (i < bs ? 1 : 0));
        parts.loss_vtm = tf.mul(crossEntropy(logits, labels), w.vtm) as tf.Scalar;
        Object.assign(extras, { 'vtm.itm_logits': logits, 'vtm.weights_v2t': neg.weightsV2t, 'vtm.weights_t2v': neg.weightsT2v });
      } else parts.loss_vtm = zero();
      if (p.mlm) {
        const inter = this.text.text_encoder.bert.forward({ inputIds: p.mlm.inputIds, attentionMask: p.attentionMask, encoderHiddenStates: visionEmbeds, mode: 'text' });
        const out = this.text.mlm({ encoderEmbeds: inter.lastHiddenState, attentionMask: p.attentionMask, encoderHiddenStates: visionEmbeds, labels: p.mlm.labels, mode: 'fusion' });
        parts.loss_mlm = tf.mul(out.loss!, w.mlm) as tf.Scalar;
        extras['mlm.logits'] = out.logits;
      } else parts.loss_mlm = zero();
      const total = tf.add(tf.add(tf.add(tf.add(tf.scalar(0), parts.loss_uta), parts.loss_vtc), parts.loss_vtm), parts.loss_mlm) as tf.Scalar;
      return { total, parts, extras } as unknown as tf.TensorContainer;
    }) as unknown as LossOutput;
  }

  release(p: Stage2Prepared): void {
    tf.dispose([p.video, ...(p.visible ? [p.visible] : []), ...(p.mask ? [p.mask] : []), ...(p.mlm ? [p.mlm.inputIds, p.mlm.labels] : [])]);
    if (p.uta) tf.dispose([p.uta.clipMiddle, ...(p.uta.clipFinal ? [p.uta.clipFinal] : [])]);
  }
}


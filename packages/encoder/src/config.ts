import { z } from 'zod';

/**
 * Constructor arguments of the official `PretrainInternVideo2` / `InternVideo2` / `DistInternVideo2` classes,
 * under their official names. Fields that only select CUDA kernels (`use_flash_attn`, `use_fused_rmsnorm`, …) are
 * accepted and ignored, except that `use_fused_mlp` picks the tanh GELU the released weights were trained with.
 * `use_checkpoint` + `checkpoint_num` checkpoint the first `checkpoint_num` blocks' activations in training.
 */
export const InternVideo2ConfigSchema = z
  .object({
    img_size: z.number().int().positive().default(224),
    patch_size: z.number().int().positive().default(14),
    in_chans: z.number().int().positive().default(3),
    embed_dim: z.number().int().positive().default(1408),
    depth: z.number().int().positive().default(40),
    num_heads: z.number().int().positive().default(16),
    mlp_ratio: z.number().positive().default(48 / 11),
    qkv_bias: z.boolean().default(false),
    qk_normalization: z.boolean().default(true),
    init_values: z.number().default(1e-5),
    drop_path_rate: z.number().min(0).max(1).default(0),
    attn_pool_num_heads: z.number().int().positive().default(16),
    clip_embed_dim: z.number().int().positive().default(768),
    num_frames: z.number().int().positive().default(8),
    tubelet_size: z.number().int().positive().default(1),
    sep_pos_embed: z.literal(false).default(false),
    sep_image_video_pos_embed: z.boolean().default(false),
    /** Stage-1 / distillation alignment heads; 0 turns them off (inference presets). */
    clip_return_layer: z.number().int().min(0).default(0),
    clip_student_return_interval: z.number().positive().default(1),
    clip_teacher_embed_dim: z.number().int().positive().default(3200),
    clip_teacher_final_dim: z.number().int().min(0).default(768),
    clip_norm_type: z.enum(['l2', 'none']).default('l2'),
    /** `Linear_Decoder` (stage 1, stage 2) or `MLP_Decoder` (distilled S/B/L). */
    clip_student_decoder: z.enum(['Linear_Decoder', 'MLP_Decoder']).default('Linear_Decoder'),
    /** Whether `clip_pos_embed` (and `clip_img_pos_embed`) exist; they do whenever the CLIP heads do. */
    clip_pos_embed: z.boolean().optional(),
    /** Stage-1 MAE branch: number of returned blocks (0 = none) and the VideoMAE teacher width. */
    mae_return_layer: z.number().int().min(0).default(0),
    /** Spacing of the MAE-returned student blocks, counted from the last (`mae_student_return_interval`). */
    mae_student_return_interval: z.number().positive().default(1),
    mae_teacher_embed_dim: z.number().int().positive().default(1408),
    /** Classifier fine-tunes: `fc_norm` + `head`; 0 = no head. */
    num_classes: z.number().int().min(0).default(0),
    /** CLIP-S/B/L `vision_align` (LN + Linear 768 → this); 0 = none. */
    vision_align_dim: z.number().int().min(0).default(0),
    /** `true` = the tanh approximation (flash-attn FusedMLP), `false` = exact erf GELU (the fp32 demo path). */
    use_fused_mlp: z.boolean().default(false),
    use_flash_attn: z.boolean().optional(),
    use_fused_rmsnorm: z.boolean().optional(),
    use_checkpoint: z.boolean().optional(),
    checkpoint_num: z.number().int().min(0).optional(),
    layerscale_no_force_fp32: z.boolean().optional(),
    fused_mlp_heuristic: z.number().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.embed_dim % c.num_heads) ctx.addIssue({ code: 'custom', path: ['num_heads'], message: `embed_dim ${c.embed_dim} is not divisible by num_heads ${c.num_heads}` });
    if (c.embed_dim % c.attn_pool_num_heads) {
      ctx.addIssue({ code: 'custom', path: ['attn_pool_num_heads'], message: `embed_dim ${c.embed_dim} is not divisible by attn_pool_num_heads ${c.attn_pool_num_heads}` });
    }
    if (c.num_frames % c.tubelet_size) ctx.addIssue({ code: 'custom', path: ['tubelet_size'], message: `num_frames ${c.num_frames} is not divisible by tubelet_size ${c.tubelet_size}` });
    if (c.clip_return_layer > c.depth) ctx.addIssue({ code: 'custom', path: ['clip_return_layer'], message: `exceeds depth ${c.depth}` });
  });

export type InternVideo2ConfigInput = z.input<typeof InternVideo2ConfigSchema>;
export type InternVideo2Config = z.output<typeof InternVideo2ConfigSchema>;

/** An encoder configuration that does not validate; `field` is the official argument name. */
export class EncoderConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`encoder config: ${field}: ${reason}`);
    this.name = 'EncoderConfigError';
  }
}

export function parseConfig(input: InternVideo2ConfigInput | Record<string, unknown>): InternVideo2Config {
  const r = InternVideo2ConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new EncoderConfigError(issue.path.join('.') || '(root)', issue.message);
  }
  return r.data;
}

/** Derived sizes used everywhere. */
export function gridOf(c: InternVideo2Config): { t: number; h: number; w: number; numPatches: number; numImgPatches: number } {
  const t = c.num_frames / c.tubelet_size;
  const h = Math.floor(c.img_size / c.patch_size);
  const w = h;
  return { t, h, w, numPatches: t * h * w, numImgPatches: h * w };
}

/** `Hd = int(C · mlp_ratio)`, with the float product taken as Python does. */
export function mlpHidden(c: InternVideo2Config): number {
  return Math.trunc(c.embed_dim * c.mlp_ratio);
}

/** The official `return_index`: blocks whose outputs feed the CLIP decoders, in the order they are stacked. */
export function clipReturnBlocks(c: InternVideo2Config): number[] {
  const idx: number[] = [];
  for (let i = 0; i < c.clip_return_layer; i++) idx.push(c.depth - Math.trunc(i * c.clip_student_return_interval) - 1);
  return idx.sort((a, b) => a - b);
}

/** The official `mae_return_index` (single_modality), ascending. */
export function maeReturnBlocks(c: InternVideo2Config): number[] {
  const idx: number[] = [];
  for (let i = 0; i < c.mae_return_layer; i++) idx.push(c.depth - Math.trunc(i * c.mae_student_return_interval) - 1);
  return idx.sort((a, b) => a - b);
}

export function hasClipPosEmbed(c: InternVideo2Config): boolean {
  return c.clip_pos_embed ?? c.clip_return_layer > 0;
}

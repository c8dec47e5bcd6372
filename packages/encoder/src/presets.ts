import type { InternVideo2ConfigInput } from './config.js';

/** A released checkpoint: the constructor arguments and where its vision keys live. */
export interface Preset {
  config: InternVideo2ConfigInput;
  /** Prefix of the vision keys in the released file (`vision_encoder.` in multi-modal checkpoints). */
  keyPrefix: string;
  /** Frames of the position table as released. */
  checkpointNumFrames: number;
  description: string;
}

const S = { embed_dim: 384, depth: 12, num_heads: 6, mlp_ratio: 4 };
const B = { embed_dim: 768, depth: 12, num_heads: 12, mlp_ratio: 4 };
const L = { embed_dim: 1024, depth: 24, num_heads: 16, mlp_ratio: 4 };
const G = { embed_dim: 1408, depth: 40, num_heads: 16, mlp_ratio: 48 / 11 };
const E = { embed_dim: 3200, depth: 48, num_heads: 25, mlp_ratio: 4 };
const common = { img_size: 224, patch_size: 14, tubelet_size: 1, attn_pool_num_heads: 16, clip_embed_dim: 768, qk_normalization: true };

const distilled = (size: typeof S, name: string): Preset => ({
  config: {
    ...common, ...size, num_frames: 8, drop_path_rate: 0.05,
    clip_return_layer: 6, clip_student_decoder: 'MLP_Decoder', clip_teacher_embed_dim: 1408, clip_teacher_final_dim: 768,
  },
  keyPrefix: '',
  checkpointNumFrames: 8,
  description: `InternVideo2-${name}/14 distilled from the stage-2 1B model (DistInternVideo2, 8 frames)`,
});

const clipSmall = (size: typeof S, name: string): Preset => ({
  config: { ...common, ...size, num_frames: 8, vision_align_dim: 512 },
  keyPrefix: 'vision_encoder.',
  checkpointNumFrames: 8,
  description: `InternVideo2-CLIP-${name}/14 vision tower with vision_align (pair with the distilled backbone)`,
});

const classifier = (classes: number, frames: number, task: string): Preset => ({
  config: { ...common, ...G, num_frames: frames, num_classes: classes },
  keyPrefix: '',
  checkpointNumFrames: 8,
  description: `InternVideo2-1B fine-tuned on ${task} (${classes} classes, ${frames} frames)`,
});

/** Architectures under the official factory names: backbone + position table (8 frames) + attention pool. */
export const ARCHITECTURES: Record<string, Preset> = {
  internvideo2_small_patch14_224: { config: { ...common, ...S, num_frames: 8 }, keyPrefix: '', checkpointNumFrames: 8, description: 'S/14 backbone' },
  internvideo2_base_patch14_224: { config: { ...common, ...B, num_frames: 8 }, keyPrefix: '', checkpointNumFrames: 8, description: 'B/14 backbone' },
  internvideo2_large_patch14_224: { config: { ...common, ...L, num_frames: 8 }, keyPrefix: '', checkpointNumFrames: 8, description: 'L/14 backbone' },
  internvideo2_1B_patch14_224: { config: { ...common, ...G, num_frames: 8 }, keyPrefix: '', checkpointNumFrames: 8, description: '1B backbone' },
  internvideo2_6B_patch14_224: { config: { ...common, ...E, num_frames: 8 }, keyPrefix: '', checkpointNumFrames: 8, description: '6B backbone' },
};

/** Presets keyed by the released checkpoint names (architecture.md §2.4). */
export const PRESETS: Record<string, Preset> = {
  ...ARCHITECTURES,
  'InternVideo2-Stage1-1B-224p-f8': {
    config: {
      ...common, ...G, num_frames: 8, drop_path_rate: 0.25,
      clip_return_layer: 6, clip_teacher_embed_dim: 3200, clip_teacher_final_dim: 768, mae_return_layer: 4, mae_teacher_embed_dim: 1408,
    },
    keyPrefix: '',
    checkpointNumFrames: 8,
    description: 'InternVideo2-1B after stage 1 (PretrainInternVideo2 with InternViT and VideoMAE heads)',
  },
  'InternVideo2-Stage1-1B-224p-f8-k710': classifier(710, 8, 'K710'),
  'InternVideo2-Stage1-1B-224p-K400-f8': classifier(400, 8, 'K400'),
  'InternVideo2-Stage1-1B-224p-K400-f16': classifier(400, 16, 'K400'),
  'InternVideo2-Stage1-1B-224p-K600-f8': classifier(600, 8, 'K600'),
  'InternVideo2-Stage1-1B-224p-K700-f8': classifier(700, 8, 'K700'),
  'InternVideo2-Stage1-1B-224p-SSv2-f8': classifier(174, 8, 'SSv2'),
  'InternVideo2-Stage2_1B-224p-f4': {
    config: {
      ...common, ...G, num_frames: 4, sep_image_video_pos_embed: true,
      clip_return_layer: 6, clip_teacher_embed_dim: 3200, clip_teacher_final_dim: 768,
    },
    keyPrefix: 'vision_encoder.',
    checkpointNumFrames: 4,
    description: 'InternVideo2-1B after stage 2 (vision tower of InternVideo2_Stage2_visual, 4 frames)',
  },
  'InternVideo2-Stage2_6B-224p-f4': {
    config: { ...common, ...E, num_frames: 4, clip_return_layer: 6, clip_teacher_embed_dim: 3200, clip_teacher_final_dim: 768 },
    keyPrefix: 'vision_encoder.',
    checkpointNumFrames: 4,
    description: 'InternVideo2-6B after stage 2 (vision tower of InternVideo2_Stage2_audiovisual, 4 frames)',
  },
  'InternVideo2-CLIP-1B-224p-f8': {
    config: { ...common, ...G, num_frames: 8 },
    keyPrefix: 'vision_encoder.',
    checkpointNumFrames: 4,
    description: 'CLIP-1B vision tower: the stage-2 backbone at 8 frames with a retrained attention pool',
  },
  'InternVideo2-CLIP-6B-224p-f8': {
    config: { ...common, ...E, num_frames: 8 },
    keyPrefix: 'vision_encoder.',
    checkpointNumFrames: 4,
    description: 'CLIP-6B vision tower: the stage-2 backbone at 8 frames with a retrained attention pool',
  },
  S14_dist_1B_stage2: distilled(S, 'S'),
  B14_dist_1B_stage2: distilled(B, 'B'),
  L14_dist_1B_stage2: distilled(L, 'L'),
  'InternVideo2-CLIP-S14': clipSmall(S, 'S'),
  'InternVideo2-CLIP-B14': clipSmall(B, 'B'),
  'InternVideo2-CLIP-L14': clipSmall(L, 'L'),
};

export class UnknownPresetError extends Error {
  constructor(readonly preset: string) {
    super(`unknown preset '${preset}'; known: ${Object.keys(PRESETS).join(', ')}`);
    this.name = 'UnknownPresetError';
  }
}

export function getPreset(name: string): Preset {
  const p = PRESETS[name];
  if (!p) throw new UnknownPresetError(name);
  return p;
}

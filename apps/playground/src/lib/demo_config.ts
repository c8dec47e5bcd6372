/**
 * The demo's stage-2 model and data, as `iv2 train` on the demo data builds them (apps/cli/src/demo): a small
 * InternVideo2 (official architecture) under `vision_encoder.`, a BERT text tower with fusion layers and the
 * stage-2 heads, a WordPiece vocabulary learned from the synthetic captions.
 */
export const DEMO_VISION = {
  img_size: 32, patch_size: 8, embed_dim: 64, depth: 2, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 64, num_frames: 4,
} as const;

export interface TextSizes {
  hidden: number;
  layers: number;
  fusionLayer: number;
  heads: number;
  intermediate: number;
  embedDim: number;
  maxTxtL: number;
}

export const DEMO_TEXT: TextSizes = { hidden: 64, layers: 3, fusionLayer: 2, heads: 4, intermediate: 128, embedDim: 64, maxTxtL: 20 };

/** Vocabulary of the demo tokenizer (learned from the training captions). */
export const DEMO_VOCAB_SIZE = 200;

export interface DemoDataOptions {
  seed: number;
  clipsPerClass: number;
  size: number;
  numFrames: number;
  /** Restrict the vocabularies (all 48 classes by default). */
  colors?: Array<'red' | 'green' | 'blue' | 'yellow'>;
  shapes?: Array<'circle' | 'square' | 'triangle'>;
  motions?: Array<'left' | 'right' | 'up' | 'down'>;
}

export const DEMO_DATA: DemoDataOptions = { seed: 0, clipsPerClass: 8, size: 32, numFrames: 4 };

/** The training run's settings (stage-2 recipe: lambda cosine schedule, AdamW betas 0.9/0.98, clip 3). */
export interface TrainSettings {
  seed: number;
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  videoMaskRatio: number;
  evalEvery: number;
}

export const DEMO_TRAIN: TrainSettings = { seed: 0, steps: 200, batchSize: 48, lr: 1e-3, warmupSteps: 20, videoMaskRatio: 0.5, evalEvery: 20 };

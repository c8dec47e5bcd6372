/**
 * The page's own stage-2 model and training run: a small InternVideo2 (official architecture) under
 * `vision_encoder.`, a BERT text tower with fusion layers and the stage-2 heads, a WordPiece vocabulary learned from
 * the synthetic captions. A checkpoint that comes with a manifest (`manifest.ts`) brings its own sizes instead.
 */
import type { InternVideo2ConfigInput } from '@iv2/encoder';

/** The vision tower's constructor arguments (official names; the fields the demo models set). */
export type VisionSizes = Pick<InternVideo2ConfigInput, 'img_size' | 'patch_size' | 'tubelet_size' | 'embed_dim' | 'depth' | 'num_heads' | 'mlp_ratio' | 'attn_pool_num_heads' | 'clip_embed_dim' | 'num_frames' | 'init_values'> & {
  img_size: number;
  patch_size: number;
  embed_dim: number;
  depth: number;
  num_heads: number;
  attn_pool_num_heads: number;
  clip_embed_dim: number;
  num_frames: number;
};

export const DEMO_VISION = {
  img_size: 32, patch_size: 8, embed_dim: 64, depth: 2, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 64, num_frames: 4,
} as const satisfies VisionSizes;

export interface TextSizes {
  hidden: number;
  layers: number;
  fusionLayer: number;
  heads: number;
  intermediate: number;
  embedDim: number;
  maxTxtL: number;
  /** BERT `initializer_range` of a fresh tower (0.02 when absent); a small tower from scratch starts better apart with more. */
  initializerRange?: number;
}

export const DEMO_TEXT: TextSizes = { hidden: 64, layers: 3, fusionLayer: 2, heads: 4, intermediate: 128, embedDim: 64, maxTxtL: 20 };

/** A stage-2 model's sizes: both towers (the vocabulary comes with the tokenizer). */
export interface Stage2Arch {
  vision: VisionSizes;
  text: TextSizes;
}

export const DEMO_ARCH: Stage2Arch = { vision: DEMO_VISION, text: DEMO_TEXT };

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

/**
 * Everything a training run depends on: the data, the model's sizes, the vocabulary size and the settings. The page
 * and `iv2 page-train` run the same definition with the same code (`train.ts`), so they give the same curve.
 */
export interface Stage2RunSpec {
  data: DemoDataOptions;
  arch: Stage2Arch;
  vocabSize: number;
  train: TrainSettings;
}

/** The page's live-training run. */
export const DEMO_RUN: Stage2RunSpec = { data: DEMO_DATA, arch: DEMO_ARCH, vocabSize: DEMO_VOCAB_SIZE, train: DEMO_TRAIN };

/**
 * A tiny run (one vision block of width 32 on 16² frames, text 2 × 32, two clips a class): a WebGPU step is
 * dominated by the number of kernels, not their size, so this is the run that stays quick on a software GPU.
 */
export const TINY_RUN: Stage2RunSpec = {
  data: { seed: 0, clipsPerClass: 2, size: 16, numFrames: 4 },
  arch: {
    vision: { img_size: 16, patch_size: 8, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 32, num_frames: 4 },
    text: { hidden: 32, layers: 2, fusionLayer: 1, heads: 2, intermediate: 64, embedDim: 32, maxTxtL: 12 },
  },
  vocabSize: 120,
  train: { ...DEMO_TRAIN, steps: 100, batchSize: 8, warmupSteps: 10, evalEvery: 20 },
};

/** The runs the training view offers. */
export const RUNS = { demo: DEMO_RUN, tiny: TINY_RUN } as const;

import * as tf from '@tensorflow/tfjs-core';
import { type CheckpointInput, type FrameSource, openCheckpoint, Rng, type TensorSource, visibleIndices } from '@iv2/core';
import { type InternVideo2Config, type InternVideo2ConfigInput, parseConfig } from './config.js';
import { type ForwardOutput, InternVideo2 } from './internvideo2/internvideo2.js';
import { loadWeights, type WeightsReport } from './load.js';
import { extractFeatures, type ExtractFeaturesOptions, type WindowFeatures } from './extract_features.js';
import { getPreset } from './presets.js';

export interface CreateOptions {
  /** A released checkpoint name or factory name (see `PRESETS`). */
  preset?: string;
  /** Official constructor arguments; merged over the preset's. */
  config?: InternVideo2ConfigInput;
  /** Seed of the initialisation. */
  seed?: number;
}

export interface FromPretrainedOptions extends CreateOptions {
  /** Frames of the checkpoint's position table when its shapes do not tell. */
  checkpointNumFrames?: number;
  /** Prefix of the vision keys; detected when omitted. */
  keyPrefix?: string;
  /** Accept a checkpoint that lacks some of the model's keys. */
  allowMissing?: boolean;
}

export interface EncodeOptions {
  /** `[B, 1 + T·L]` bool, true = masked (dropped); CLS (column 0) must stay visible. */
  mask?: tf.Tensor2D;
  useImage?: boolean;
  /** The official `x_vis_return_idx` (−1 = last block). */
  returnLayer?: number;
}

/** The InternVideo2 vision encoder with official weights: `[B, 3, T, H, W]` video in, features out. */
export class VideoEncoder {
  private constructor(
    readonly model: InternVideo2,
    /** What loading did: keys loaded, unused, missing, resized. Absent for a randomly initialised encoder. */
    readonly loadReport?: WeightsReport,
  ) {}

  get config(): InternVideo2Config {
    return this.model.config;
  }

  /** A randomly initialised encoder (official initialisation). */
  static create(opts: CreateOptions = {}): VideoEncoder {
    const base = opts.preset ? getPreset(opts.preset).config : {};
    const config = parseConfig({ ...base, ...opts.config });
    return new VideoEncoder(new InternVideo2(config, new Rng(opts.seed ?? 0)).eval());
  }

  /** Builds the model for `preset`/`config` and loads a checkpoint (path, URL, bytes, Blob or an open source). */
  static async fromPretrained(source: CheckpointInput | TensorSource, opts: FromPretrainedOptions = {}): Promise<VideoEncoder> {
    const preset = opts.preset ? getPreset(opts.preset) : undefined;
    const encoder = VideoEncoder.create(opts);
    const isSource = typeof (source as TensorSource).keys === 'function' && typeof (source as TensorSource).info === 'function';
    const src = isSource ? (source as TensorSource) : await openCheckpoint(source as CheckpointInput);
    const file = typeof source === 'string' ? source : source instanceof URL ? source.href : '<checkpoint>';
    try {
      const report = await loadWeights(encoder.model, src, {
        file,
        prefix: opts.keyPrefix,
        checkpointNumFrames: opts.checkpointNumFrames ?? preset?.checkpointNumFrames,
        allowMissing: opts.allowMissing,
      });
      return new VideoEncoder(encoder.model, report);
    } catch (e) {
      encoder.dispose();
      throw e;
    } finally {
      if (!isSource) await src.close?.();
    }
  }

  /** The official forward: `{ tokens, pooled, clipAlign?, align? }` = `x_vis, x_pool_vis, x_clip_align, x_align`. */
  async forward(video: tf.Tensor5D, opts: EncodeOptions = {}): Promise<ForwardOutput> {
    const visible = opts.mask ? await visibleIndices(opts.mask) : undefined;
    try {
      return this.model.forward(video, { visible, useImage: opts.useImage, returnLayer: opts.returnLayer });
    } finally {
      visible?.dispose();
    }
  }

  /** The pooled video embedding `[B, clip_embed_dim]` (the official `x_pool_vis`). */
  embed(video: tf.Tensor5D, opts: { useImage?: boolean } = {}): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.model.forward(video, { useImage: opts.useImage, tokensOnly: true });
      return this.model.clipProjector.forward(out.tokens);
    });
  }

  /** Features of a whole video file or FrameSource, window by window (see {@link extractFeatures}). */
  extractFeatures(source: string | FrameSource, opts: ExtractFeaturesOptions = {}): AsyncGenerator<WindowFeatures> {
    return extractFeatures(this, source, opts);
  }

  stateDict() {
    return this.model.stateDict();
  }

  numParameters(): number {
    return this.model.numParameters();
  }

  dispose(): void {
    this.model.dispose();
  }
}

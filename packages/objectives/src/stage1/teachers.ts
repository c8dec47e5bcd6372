import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, openCheckpoint, serializeSafetensors, type CheckpointInput, type TensorSource, type TensorToWrite } from '@iv2/core';
import type { InternVideo2, VideoEncoder } from '@iv2/encoder';
import { TeacherFeatureError, TeacherOutputError } from '../errors.js';

/** What the multimodal ("CLIP") teacher hands the stage-1 engine, L2-normalised as the official teachers do. */
export interface ClipTeacherOutput {
  /** `norm_clip_middle` `[K, B, 1 + N, C]`: returned layers in ascending block order, CLS first. */
  middle: tf.Tensor4D;
  /** `norm_clip_final` `[B, C_final]` (the pooled feature), when distilled. */
  final?: tf.Tensor2D;
  /** Pooling attention without its CLS column: `[B·T, L]` per frame, or `[B, N]` over the whole clip. */
  attn?: tf.Tensor2D;
}

/** What the motion (VideoMAE) teacher hands the engine: `norm_mae` `[K, B, N, C]`, no CLS. */
export interface MaeTeacherOutput {
  middle: tf.Tensor4D;
}

export interface TeacherContext {
  /** Sample keys of the batch (for precomputed features). */
  keys?: string[];
}

/** A frozen teacher: runs without gradient; the caller owns (and disposes) what it returns. */
export interface ClipTeacher {
  forward(video: tf.Tensor5D, ctx: TeacherContext): Promise<ClipTeacherOutput>;
}

export interface MaeTeacher {
  forward(video: tf.Tensor5D, ctx: TeacherContext): Promise<MaeTeacherOutput>;
}

export interface EncoderTeacherOptions {
  /** Blocks returned (0-based); default: `clip_return_layer` blocks spaced by `clip_return_interval` from the last. */
  clipReturnIndex?: number[];
  clipReturnLayer?: number;
  /** May be fractional (3.34 in the distillation scripts): block `depth − int(i·interval) − 1`. */
  clipReturnInterval?: number;
  /** `l2` (official) or `none`. */
  clipNormType?: 'l2' | 'none';
  /**
   * Encode each frame as an image (the InternViT-6B teacher of stage 1: CLS averaged over frames, patches
   * concatenated, pooled features averaged, one attention row per frame). Default: the whole clip at once (the
   * stage-2 InternVideo2 teacher of `run_distill.py`).
   */
  perFrame?: boolean;
}

/** The official `return_index` of the teacher classes. */
export function teacherReturnIndex(depth: number, layers: number, interval: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < layers; i++) idx.push(depth - Math.trunc(i * interval) - 1);
  return idx;
}

/**
 * Any iv2 `InternVideo2` used frozen as the CLIP teacher (`internvideo2_teacher.py`, `internvl_clip_vision.py`):
 * the full outputs of the returned blocks, the attention-pool output and its attention over the tokens.
 */
export class EncoderTeacher implements ClipTeacher {
  readonly returnIndex: number[];
  readonly model: InternVideo2;

  /** `encoder`: a `VideoEncoder` (e.g. from `VideoEncoder.fromPretrained`) or its `InternVideo2`; frozen here. */
  constructor(
    encoder: InternVideo2 | VideoEncoder,
    readonly opts: EncoderTeacherOptions = {},
  ) {
    const model = 'model' in encoder ? encoder.model : encoder;
    this.model = model;
    const depth = model.config.depth;
    this.returnIndex = [...(opts.clipReturnIndex ?? teacherReturnIndex(depth, opts.clipReturnLayer ?? 1, opts.clipReturnInterval ?? 1))];
    model.freeze();
    model.eval();
  }

  async forward(video: tf.Tensor5D): Promise<ClipTeacherOutput> {
    const l2 = (this.opts.clipNormType ?? 'l2') === 'l2';
    const norm = (t: tf.Tensor) => (l2 ? l2Normalize(t, -1, 0) : t);
    return tf.tidy(() => {
      const [b, c, t, h, w] = video.shape;
      const perFrame = this.opts.perFrame ?? false;
      const input = perFrame
        ? (tf.reshape(tf.transpose(video, [0, 2, 1, 3, 4]), [b * t, c, 1, h, w]) as tf.Tensor5D)
        : video;
      const out = this.model.forward(input, { tokensOnly: true, captureBlocks: this.returnIndex, useImage: perFrame });
      const pool = this.model.clipProjector;
      let pooled = pool.forward(out.tokens);
      const attn = tf.slice(pool.attention(out.tokens), [0, 1], [-1, -1]) as tf.Tensor2D;
      let z = tf.stack(out.hidden!) as tf.Tensor4D; // [K, B(·T), 1 + L, C]
      if (perFrame) {
        const [k, , n, C] = z.shape;
        const cls = tf.mean(tf.reshape(tf.slice(z, [0, 0, 0, 0], [k, b * t, 1, C]), [k, b, t, 1, C]), 2);
        const patches = tf.reshape(tf.slice(z, [0, 0, 1, 0], [k, b * t, n - 1, C]), [k, b, t * (n - 1), C]);
        z = tf.concat([cls, patches], 2) as tf.Tensor4D;
        pooled = tf.mean(tf.reshape(pooled, [b, t, -1]), 1) as tf.Tensor2D;
      }
      return { middle: norm(z) as tf.Tensor4D, final: norm(pooled) as tf.Tensor2D, attn };
    });
  }
}

/** Teacher outputs held in memory (one batch), e.g. computed elsewhere; handed out as copies. */
export class FixedTeacher implements ClipTeacher, MaeTeacher {
  constructor(readonly outputs: { middle: tf.Tensor4D; final?: tf.Tensor2D; attn?: tf.Tensor2D }) {}

  async forward(): Promise<ClipTeacherOutput> {
    const o = this.outputs;
    return { middle: tf.clone(o.middle), final: o.final && tf.clone(o.final), attn: o.attn && tf.clone(o.attn) };
  }
}

/**
 * Precomputed teacher features, per sample, from a safetensors file (or shards, or a PyTorch checkpoint) for
 * teachers that do not fit beside the student. Keys: `<sample>.<prefix>middle` `[K, 1 + N, C]` (or `[K, N, C]` for a
 * motion teacher), `<sample>.<prefix>final` `[C]`, `<sample>.<prefix>attn` `[rows, L]`; a batch stacks its samples.
 */
export class PrecomputedTeacher implements ClipTeacher, MaeTeacher {
  private constructor(
    readonly source: TensorSource,
    readonly file: string,
    readonly prefix: string,
  ) {}

  /** `prefix` tells several teachers apart in one file (`clip_`, `mae_`). */
  static async open(input: CheckpointInput, opts: { prefix?: string } = {}): Promise<PrecomputedTeacher> {
    const file = typeof input === 'string' ? input : '<features>';
    return new PrecomputedTeacher(await openCheckpoint(input), file, opts.prefix ?? '');
  }

  private async stack(keys: string[], field: string, optional: boolean): Promise<tf.Tensor | undefined> {
    const parts: tf.Tensor[] = [];
    for (const k of keys) {
      const key = `${k}.${this.prefix}${field}`;
      if (!this.source.has(key)) {
        if (optional && parts.length === 0) return undefined;
        tf.dispose(parts);
        throw new TeacherFeatureError(this.file, key, 'not in the file');
      }
      const t = await this.source.get(key);
      if (parts.length && parts[0].shape.join() !== t.shape.join()) {
        tf.dispose(parts);
        throw new TeacherFeatureError(this.file, key, `shape [${t.shape}] differs from the batch's [${parts[0].shape}]`);
      }
      parts.push(tf.tensor(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>), t.shape, 'float32'));
    }
    const out = tf.stack(parts, field === 'middle' ? 1 : 0);
    tf.dispose(parts);
    return field === 'attn' ? tf.reshape(out, [-1, out.shape[out.rank - 1]]) : out;
  }

  async forward(_video: tf.Tensor5D, ctx: TeacherContext): Promise<ClipTeacherOutput> {
    if (!ctx.keys?.length) throw new TeacherOutputError('keys', 'precomputed features need the sample keys of the batch');
    const middle = (await this.stack(ctx.keys, 'middle', false)) as tf.Tensor4D;
    const final = (await this.stack(ctx.keys, 'final', true)) as tf.Tensor2D | undefined;
    const attn = (await this.stack(ctx.keys, 'attn', true)) as tf.Tensor2D | undefined;
    return { middle, final, attn };
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

/**
 * Runs a teacher once over `batches` and lays its outputs out per sample as {@link PrecomputedTeacher} reads them
 * (`<key>.<prefix>middle` / `final` / `attn`): safetensors bytes to write where the training will read them.
 * `attn` rows are split evenly between the samples of a batch.
 */
export async function serializeTeacherFeatures(
  teacher: ClipTeacher,
  batches: Iterable<{ video: tf.Tensor5D; keys: string[] }> | AsyncIterable<{ video: tf.Tensor5D; keys: string[] }>,
  opts: { prefix?: string } = {},
): Promise<Uint8Array> {
  const prefix = opts.prefix ?? '';
  const out = new Map<string, TensorToWrite>();
  const host = async (t: tf.Tensor): Promise<TensorToWrite> => ({ dtype: 'float32', shape: t.shape, data: (await t.data()) as Float32Array });
  for await (const { video, keys } of batches) {
    const o = await teacher.forward(video, { keys });
    try {
      const b = keys.length;
      if (o.middle.shape[1] !== b) throw new TeacherOutputError('middle', `${o.middle.shape[1]} clips for ${b} keys`);
      for (let i = 0; i < b; i++) {
        const parts: tf.Tensor[] = [tf.squeeze(tf.slice(o.middle, [0, i, 0, 0], [-1, 1, -1, -1]), [1])];
        out.set(`${keys[i]}.${prefix}middle`, await host(parts[0]));
        if (o.final) {
          parts.push(tf.squeeze(tf.slice(o.final, [i, 0], [1, -1]), [0]));
          out.set(`${keys[i]}.${prefix}final`, await host(parts[1]));
        }
        if (o.attn) {
          const rows = o.attn.shape[0] / b;
          const a = tf.slice(o.attn, [i * rows, 0], [rows, -1]);
          parts.push(a);
          out.set(`${keys[i]}.${prefix}attn`, await host(a));
        }
        tf.dispose(parts);
      }
    } finally {
      tf.dispose([o.middle, o.final, o.attn].filter((t) => !!t) as tf.Tensor[]);
    }
  }
  return serializeSafetensors(out);
}

import * as tf from '@tensorflow/tfjs-core';
import { defaultRng, gatherTokens, LayerNorm, Linear, Module, ModuleList, type Rng, truncNormal } from '@iv2/core';
import { clipReturnBlocks, gridOf, hasClipPosEmbed, type InternVideo2Config, maeReturnBlocks, mlpHidden } from '../config.js';
import { AttentionPoolingBlock } from './attention_pooling_block.js';
import { Block } from './block.js';
import { checkpoint, recordingGradients } from './checkpoint.js';
import { type Decoder, LinearDecoder, MlpDecoder } from './decoders.js';
import { PatchEmbed } from './patch_embed.js';
import { get3dSincosPosEmbed } from './pos_embed.js';

export interface ForwardOptions {
  /** int32 `[B, K]`: indices (into CLS + patches) of the visible tokens, ascending; none = all tokens. */
  visible?: tf.Tensor2D;
  /** `T = 1` image input: the image position table (or the video table averaged over time). */
  useImage?: boolean;
  /** Stop after block `depth + returnLayer` (−1 = last, the official `x_vis_return_idx`). */
  returnLayer?: number;
  /** Only the tokens (`x_vis_only`). */
  tokensOnly?: boolean;
  /**
   * Blocks (0-based) whose full outputs to return in `hidden`, in ascending block order: what a frozen teacher
   * hands its students (`clip_return_index` of the teacher classes).
   */
  captureBlocks?: number[];
}

export interface ForwardOutput {
  /** `x_vis` `[B, M_vis, C]`. */
  tokens: tf.Tensor3D;
  /** `x_pool_vis` `[B, clip_embed_dim]`. */
  pooled?: tf.Tensor2D;
  /** `x_clip_align` `[K, B, M_vis, teacher]`, when the CLIP decoders exist. */
  clipAlign?: tf.Tensor4D;
  /** `x_align` `[B, teacher_final]`, when the final decoder exists. */
  align?: tf.Tensor2D;
  /** `x_mae_align` `[K, B, M_vis − 1, mae_teacher]`, stage-1 MAE branch. */
  maeAlign?: tf.Tensor4D;
  /** Classifier logits `[B, num_classes]`. */
  logits?: tf.Tensor2D;
  /** `vision_align` output (CLIP-S/B/L) `[B, vision_align_dim]`. */
  aligned?: tf.Tensor2D;
  /** Outputs of `captureBlocks`, ascending, each `[B, M_vis, C]`. */
  hidden?: tf.Tensor3D[];
}

/** LN + Linear as in CLIP-S/B/L's `vision_align` (keys `0.*`, `1.*`). */
class VisionAlign extends Module {
  readonly norm: LayerNorm;
  readonly proj: Linear;

  constructor(inC: number, outC: number, rng: Rng) {
    super();
    this.norm = this.addModule('0', new LayerNorm(inC, 1e-5));
    this.proj = this.addModule('1', new Linear(inC, outC, { rng }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.proj.forward(this.norm.forward(x)));
  }
}

/**
 * The InternVideo2 vision transformer (`PretrainInternVideo2` of `internvideo2.py`, plus the classifier and CLIP
 * heads of the sibling classes when the config asks for them). Parameter names are the official keys.
 */
export class InternVideo2 extends Module {
  readonly config: InternVideo2Config;
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: tf.Variable;
  readonly posEmbed: tf.Variable;
  readonly imgPosEmbed: tf.Variable | null = null;
  readonly clipPosEmbed: tf.Variable | null = null;
  readonly clipImgPosEmbed: tf.Variable | null = null;
  readonly maePosEmbed: tf.Variable | null = null;
  readonly blocks: ModuleList<Block>;
  readonly clipProjector: AttentionPoolingBlock;
  readonly clipDecoder: ModuleList<Decoder> | null = null;
  readonly finalClipDecoder: Decoder | null = null;
  readonly maeDecoder: ModuleList<MlpDecoder> | null = null;
  readonly fcNorm: LayerNorm | null = null;
  readonly head: Linear | null = null;
  readonly visionAlign: VisionAlign | null = null;
  private readonly returnBlocks: number[];
  private readonly maeReturnBlocks: number[];

  constructor(config: InternVideo2Config, rng: Rng = defaultRng()) {
    super();
    const c = config;
    this.config = c;
    const C = c.embed_dim;
    const g = gridOf(c);
    this.patchEmbed = this.addModule('patch_embed', new PatchEmbed(c.in_chans, C, c.patch_size, c.tubelet_size, rng));
    this.clsToken = this.addParameter('cls_token', truncNormal(rng, [1, 1, C], 0.02));
    const table = (t: number) => tf.tensor3d(get3dSincosPosEmbed(C, g.h, t, true), [1, 1 + t * g.h * g.w, C]);
    this.posEmbed = this.addParameter('pos_embed', table(g.t));
    if (c.sep_image_video_pos_embed) this.imgPosEmbed = this.addParameter('img_pos_embed', table(1));
    if (hasClipPosEmbed(c)) {
      this.clipPosEmbed = this.addParameter('clip_pos_embed', table(g.t));
      if (c.sep_image_video_pos_embed) this.clipImgPosEmbed = this.addParameter('clip_img_pos_embed', table(1));
    }
    if (c.mae_return_layer > 0) {
      const t = get3dSincosPosEmbed(C, g.h, g.t, false);
      this.maePosEmbed = this.addParameter('mae_pos_embed', tf.tensor3d(t, [1, g.numPatches, C]));
    }
    const hidden = mlpHidden(c);
    const blocks: Block[] = [];
    for (let i = 0; i < c.depth; i++) {
      const dropPath = c.depth > 1 ? (c.drop_path_rate * i) / (c.depth - 1) : 0;
      const b = new Block(C, c.num_heads, {
        mlpHidden: hidden,
        qkvBias: c.qkv_bias,
        qkNormalization: c.qk_normalization,
        initValues: c.init_values,
        dropPath,
        gelu: c.use_fused_mlp ? 'tanh' : 'none',
        rng,
      });
      // Official fix_init_weight: divide the residual-branch outputs by √(2·layer).
      const s = 1 / Math.sqrt(2 * (i + 1));
      for (const w of [b.attn.proj.weight, b.mlp.fc2.weight]) {
        const scaled = tf.mul(w, s);
        w.assign(scaled);
        scaled.dispose();
      }
      blocks.push(b);
    }
    this.blocks = this.addModule('blocks', new ModuleList(blocks));
    this.clipProjector = this.addModule(
      'clip_projector',
      new AttentionPoolingBlock(C, c.attn_pool_num_heads, c.clip_embed_dim, rng),
    );
    this.returnBlocks = clipReturnBlocks(c);
    if (c.clip_return_layer > 0) {
      const mk = (i: number, o: number): Decoder =>
        c.clip_student_decoder === 'MLP_Decoder'
          ? new MlpDecoder(i, o, c.clip_norm_type, rng)
          : new LinearDecoder(i, o, c.clip_norm_type, rng);
      this.clipDecoder = this.addModule(
        'clip_decoder',
        new ModuleList(this.returnBlocks.map(() => mk(C, c.clip_teacher_embed_dim))),
      );
      if (c.clip_teacher_final_dim > 0) {
        this.finalClipDecoder = this.addModule('final_clip_decoder', mk(c.clip_embed_dim, c.clip_teacher_final_dim));
      }
    }
    this.maeReturnBlocks = maeReturnBlocks(c);
    if (c.mae_return_layer > 0) {
      this.maeDecoder = this.addModule(
        'mae_decoder',
        new ModuleList(this.maeReturnBlocks.map(() => new MlpDecoder(C, c.mae_teacher_embed_dim, c.clip_norm_type, rng))),
      );
    }
    if (c.num_classes > 0) {
      this.fcNorm = this.addModule('fc_norm', new LayerNorm(c.clip_embed_dim, 1e-5));
      this.head = this.addModule('head', new Linear(c.clip_embed_dim, c.num_classes, { rng }));
    }
    if (c.vision_align_dim > 0) {
      this.visionAlign = this.addModule('vision_align', new VisionAlign(c.clip_embed_dim, c.vision_align_dim, rng));
    }
  }

  override train(mode = true): this {
    super.train(mode);
    for (const b of this.blocks.items) b.train(mode);
    return this;
  }

  /** The table added to the tokens: the video table, or for images the image table / the time-averaged video table. */
  private tableFor(video: tf.Variable, image: tf.Variable | null, useImage: boolean, tokens: number): tf.Tensor {
    if (!useImage) return video;
    if (image) return image;
    const C = this.config.embed_dim;
    const g = gridOf(this.config);
    const cls = tf.slice(video, [0, 0, 0], [1, 1, C]);
    const patches = tf.reshape(tf.slice(video, [0, 1, 0], [1, g.numPatches, C]), [1, g.t, g.numImgPatches, C]);
    const t = tf.concat([cls, tf.mean(patches, 1)], 1);
    if (t.shape[1] !== tokens) throw new RangeError(`image has ${tokens - 1} patches, the model's table ${g.numImgPatches}`);
    return t;
  }

  /** Synchronous forward (usable inside `tf.variableGrads`). `video` is `[B, in, T, H, W]`. */
  forward(video: tf.Tensor5D, opts: ForwardOptions = {}): ForwardOutput {
    const c = this.config;
    const useImage = opts.useImage ?? false;
    return tf.tidy((): tf.TensorContainer => {
      const pe = this.patchEmbed.forward(video);
      const [b, t, l, C] = pe.shape;
      const tokensIn = 1 + t * l;
      if (!useImage && tokensIn !== this.posEmbed.shape[1]) {
        throw new RangeError(
          `input gives ${t}×${l} patches, pos_embed has ${(this.posEmbed.shape[1] ?? 1) - 1} rows: build the model for this size`,
        );
      }
      let x: tf.Tensor = tf.concat([tf.tile(this.clsToken, [b, 1, 1]), tf.reshape(pe, [b, t * l, C])], 1);
      x = tf.add(x, this.tableFor(this.posEmbed, this.imgPosEmbed, useImage, tokensIn));
      if (opts.visible) x = gatherTokens(x as tf.Tensor3D, opts.visible);
      const stopAt = c.depth + (opts.returnLayer ?? -1);
      const clip: tf.Tensor[] = [];
      const mae: tf.Tensor[] = [];
      const capture = opts.captureBlocks ? [...new Set(opts.captureBlocks)].sort((p, q) => p - q) : null;
      if (capture?.some((i) => !Number.isInteger(i) || i < 0 || i >= c.depth)) {
        throw new RangeError(`captureBlocks [${capture}]: blocks are 0…${c.depth - 1}`);
      }
      const hidden: tf.Tensor3D[] = [];
      // use_checkpoint: blocks below checkpoint_num keep no activations in a training step and run again in backward.
      const ckpt = c.use_checkpoint && this.training && recordingGradients() ? (c.checkpoint_num ?? 0) : 0;
      for (let i = 0; i < c.depth; i++) {
        const blk = this.blocks.at(i);
        if (i < ckpt) {
          const vars = blk.parameters({ trainable: true }).map((p) => p.variable);
          x = checkpoint((h) => blk.forward(h as tf.Tensor3D), x, vars, blk.rng);
        } else {
          x = blk.forward(x as tf.Tensor3D);
        }
        if (this.returnBlocks.includes(i)) clip.push(x);
        if (this.maeReturnBlocks.includes(i)) mae.push(x);
        if (capture?.includes(i)) hidden.push(x as tf.Tensor3D);
        if (i === stopAt) break;
      }
      const tokens = x as tf.Tensor3D;
      if (opts.tokensOnly) return (capture ? { tokens, hidden } : { tokens }) as tf.TensorContainer;
      const pooled = this.clipProjector.forward(tokens);
      const out: ForwardOutput = { tokens, pooled };
      if (capture) out.hidden = hidden;
      if (this.finalClipDecoder) out.align = this.finalClipDecoder.forward(pooled) as tf.Tensor2D;
      if (this.clipDecoder && clip.length) {
        let pos = this.tableFor(this.clipPosEmbed!, this.clipImgPosEmbed, useImage, tokensIn);
        pos = tf.tile(pos, [b, 1, 1]);
        if (opts.visible) pos = gatherTokens(pos as tf.Tensor3D, opts.visible);
        out.clipAlign = tf.stack(clip.map((h, k) => this.clipDecoder!.at(k).forward(tf.add(h, pos)))) as tf.Tensor4D;
      }
      if (this.maeDecoder && mae.length) {
        let pos: tf.Tensor = tf.tile(this.maePosEmbed!, [b, 1, 1]);
        if (opts.visible) {
          // The MAE table has no CLS row: visible indices shift by one and the CLS index drops out.
          const k = opts.visible.shape[1];
          const idx = tf.sub(tf.slice(opts.visible!, [0, 1], [b, k - 1]), tf.scalar(1, 'int32')) as tf.Tensor2D;
          pos = gatherTokens(pos as tf.Tensor3D, idx);
        }
        out.maeAlign = tf.stack(
          mae.map((h, k) => this.maeDecoder!.at(k).forward(tf.add(tf.slice(h, [0, 1, 0], [-1, -1, -1]), pos))),
        ) as tf.Tensor4D;
      }
      if (this.head && this.fcNorm) out.logits = this.head.forward(this.fcNorm.forward(pooled)) as tf.Tensor2D;
      if (this.visionAlign) out.aligned = this.visionAlign.forward(pooled) as tf.Tensor2D;
      return out as unknown as tf.TensorContainer;
    }) as unknown as ForwardOutput;
  }
}

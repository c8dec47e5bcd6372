import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, Linear, Module, Rng } from '@iv2/core';
import { BERT_ARCHITECTURES, type BertConfig, BertConfigError, type BertConfigInput, parseBertConfig } from './config.js';
import { BertInputError } from './errors.js';
import { findPrefix, inferBertConfig, loadTextWeights, openSource, type PretrainedSource, storedShape, type TextLoadReport } from './load.js';
import { BertForMaskedLM, type BertModelInput, type MaskedLMOutput, TIED_ALIASES } from './xbert.js';

// The text side of `InternVideo2_Stage2_visual` (models/internvideo2_stage2_visual.py): the BERT text encoder
// with late fusion and the heads of the stage-2 losses, under the model's own top-level keys.

/** Sizes of the stage-2 heads, under the official names. */
export interface Stage2HeadsConfig {
  /** `embed_dim`: the contrastive space. */
  embed_dim: number;
  /** `vision_width` = the vision encoder's `clip_embed_dim` (width of the pooled video vector). */
  vision_width: number;
  /** `text_width` = the BERT hidden size. */
  text_width: number;
  /** `temp` at initialisation (config.model.temp). */
  temp: number;
}

/**
 * `vision_proj`, `text_proj`, `itm_head` and `temp` with their official top-level keys. Subclass it to put more
 * parts beside them under flat keys (as {@link InternVideo2Stage2Text} adds `text_encoder`, and a full stage-2
 * model adds `vision_encoder`).
 */
export class Stage2TextHeads extends Module {
  readonly vision_proj: Linear;
  readonly text_proj: Linear;
  readonly itm_head: Linear;
  readonly temp: tf.Variable;

  constructor(readonly heads: Stage2HeadsConfig, rng: Rng = new Rng(0)) {
    super();
    this.vision_proj = this.addModule('vision_proj', new Linear(heads.vision_width, heads.embed_dim, { rng }));
    this.text_proj = this.addModule('text_proj', new Linear(heads.text_width, heads.embed_dim, { rng }));
    this.temp = this.addParameter('temp', tf.scalar(heads.temp));
    this.itm_head = this.addModule('itm_head', new Linear(heads.text_width, 2, { rng }));
  }

  /** `vision_proj(pooled_vision_embeds)`: `[B, vision_width]` → `[B, embed_dim]`. */
  projectVision(pooledVision: tf.Tensor): tf.Tensor2D {
    return this.vision_proj.forward(pooledVision) as tf.Tensor2D;
  }

  /** `text_proj` of the [CLS] state: `[B, N, text_width]` (or the `[B, text_width]` CLS rows) → `[B, embed_dim]`. */
  projectText(textEmbeds: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.text_proj.forward(textEmbeds.rank === 3 ? cls(textEmbeds) : textEmbeds) as tf.Tensor2D);
  }

  /** `itm_head` of the fusion output's [CLS] state: `[B, N, text_width]` → `[B, 2]` logits (class 1 = match). */
  itmLogits(fusionState: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.itm_head.forward(fusionState.rank === 3 ? cls(fusionState) : fusionState) as tf.Tensor2D);
  }

  /** `clip_contrastive_temperature`: clamps `temp` in place to [min, max] outside of autograd. */
  clampTemp(min = 0.001, max = 0.5): void {
    tf.tidy(() => this.temp.assign(tf.clipByValue(this.temp, min, max)));
  }
}

/** Row 0 of each sequence: `x[:, 0]`. */
function cls(x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => tf.squeeze(tf.slice(x, [0, 0, 0], [x.shape[0], 1, x.shape[2]!]), [1]) as tf.Tensor2D);
}

export interface Stage2TextConfigInput {
  /** The BERT config (config_bert_large.json fields + `fusion_layer`, `encoder_width`). */
  bert?: BertConfigInput | Record<string, unknown> | string;
  embed_dim?: number;
  vision_width?: number;
  temp?: number;
}

export interface Stage2TextConfig {
  bert: BertConfig;
  embed_dim: number;
  vision_width: number;
  temp: number;
}

/** Released stage-2 checkpoints: their text encoder and heads (architecture.md §4.1, training.md §2.1). */
export const STAGE2_TEXT_PRESETS: Record<string, Stage2TextConfigInput & { description: string }> = {
  'InternVideo2-Stage2_1B-224p-f4': {
    bert: { ...BERT_ARCHITECTURES.bert_large, encoder_width: 1408 },
    embed_dim: 512,
    vision_width: 768,
    temp: 0.07,
    description: 'InternVideo2-stage2_1b-224p-f4.pt: BERT-large, fusion from layer 19, cross-attention to 1408-wide video tokens, 512-d contrastive space',
  },
  'InternVideo2-Stage2_6B-224p-f4': {
    bert: { ...BERT_ARCHITECTURES.bert_large, encoder_width: 768 },
    embed_dim: 768,
    vision_width: 768,
    temp: 0.07,
    description: 'InternVideo2 stage-2 6B: BERT-large cross-attending to the 768-wide av_concat_vision_proj tokens, 768-d contrastive space (audio heads not included)',
  },
};

/** A preset name that is not in {@link STAGE2_TEXT_PRESETS}. */
export class UnknownTextPresetError extends Error {
  constructor(readonly preset: string) {
    super(`unknown text preset '${preset}'; known: ${Object.keys(STAGE2_TEXT_PRESETS).join(', ')}`);
    this.name = 'UnknownTextPresetError';
  }
}

export function parseStage2TextConfig(input: Stage2TextConfigInput = {}, preset?: string): Stage2TextConfig {
  const base = preset ? STAGE2_TEXT_PRESETS[preset] : undefined;
  if (preset && !base) throw new UnknownTextPresetError(preset);
  const bertIn = typeof input.bert === 'string' ? parseBertConfig(input.bert) : input.bert;
  const bert = parseBertConfig({ ...(base?.bert as object), ...(bertIn as object) });
  const embed_dim = input.embed_dim ?? base?.embed_dim ?? 512;
  const vision_width = input.vision_width ?? base?.vision_width ?? 768;
  for (const [k, v] of Object.entries({ embed_dim, vision_width })) {
    if (!Number.isInteger(v) || v <= 0) throw new BertConfigError(k, `must be a positive integer, got ${v}`, 'stage-2 text config');
  }
  return { bert, embed_dim, vision_width, temp: input.temp ?? base?.temp ?? 0.07 };
}

export interface Stage2TextFromPretrainedOptions {
  /** A released checkpoint name (see {@link STAGE2_TEXT_PRESETS}); otherwise sizes are read off the checkpoint. */
  preset?: string;
  /** Overrides (BERT config fields under `bert`); any that disagree with the checkpoint's shapes throw. */
  config?: Stage2TextConfigInput;
  /** Accept a checkpoint that lacks some keys (they keep their initial values). */
  allowMissing?: boolean;
  seed?: number;
}

export interface TextEncodeOutput {
  /** `[B, N, hidden]`: the text-mode last hidden state (layers `0…fusion_layer−1`). */
  textEmbeds: tf.Tensor3D;
  /** `[B, hidden]`: its [CLS] row. */
  pooledTextEmbeds: tf.Tensor2D;
}

/**
 * The text side of the stage-2 model: `text_encoder` (BertForMaskedLM) + {@link Stage2TextHeads}, keys exactly as in
 * a stage-2 checkpoint minus `vision_encoder.*`. The calls mirror the official model's: `encodeText`
 * (`encode_text`), `fuse` (the fusion layers over vision tokens), `mlm` (BertForMaskedLM in fusion mode).
 */
export class InternVideo2Stage2Text extends Stage2TextHeads {
  readonly text_encoder: BertForMaskedLM;
  /** What loading did; absent for a freshly initialised model. */
  loadReport?: TextLoadReport;

  constructor(readonly config: Stage2TextConfig, rng: Rng = new Rng(0)) {
    super({ embed_dim: config.embed_dim, vision_width: config.vision_width, text_width: config.bert.hidden_size, temp: config.temp }, rng);
    this.text_encoder = this.addModule('text_encoder', new BertForMaskedLM(config.bert, rng));
  }

  static create(opts: { preset?: string; config?: Stage2TextConfigInput; seed?: number } = {}): InternVideo2Stage2Text {
    return new InternVideo2Stage2Text(parseStage2TextConfig(opts.config, opts.preset), new Rng(opts.seed ?? 0)).eval();
  }

  /**
   * A stage-2 checkpoint's text side: `text_encoder.bert.*`, `text_encoder.cls.*`, `vision_proj`, `text_proj`,
   * `itm_head`, `temp` (wrapped in `module.`/`model.` or not). Sizes come from the preset/config or, when absent,
   * from the checkpoint's shapes; `vision_encoder.*` and other towers are reported as unused.
   */
  static async fromPretrained(source: PretrainedSource, opts: Stage2TextFromPretrainedOptions = {}): Promise<InternVideo2Stage2Text> {
    const { src, file, close } = await openSource(source);
    let model: InternVideo2Stage2Text | undefined;
    try {
      const prefix = findPrefix(src, 'text_encoder.bert.embeddings.word_embeddings.weight', [''], file);
      const inferred: Stage2TextConfigInput = {};
      if (!opts.preset) {
        inferred.bert = inferBertConfig(src, `${prefix}text_encoder.bert.`);
        const tp = storedShape(src, `${prefix}text_proj.weight`);
        const vp = storedShape(src, `${prefix}vision_proj.weight`);
        if (tp) inferred.embed_dim = tp[0];
        if (vp) inferred.vision_width = vp[1];
      }
      const user = opts.config ?? {};
      const userBert = typeof user.bert === 'string' ? parseBertConfig(user.bert, file) : user.bert;
      const cfg = parseStage2TextConfig({ ...inferred, ...user, bert: { ...(inferred.bert as object), ...(userBert as object) } }, opts.preset);
      model = new InternVideo2Stage2Text(cfg, new Rng(opts.seed ?? 0)).eval();
      model.loadReport = await loadTextWeights(model, src, {
        file,
        prefix,
        optional: (k) => k.endsWith('embeddings.position_ids') || TIED_ALIASES.some((a) => k === `text_encoder.${a}`),
        allowMissing: opts.allowMissing,
      });
      return model;
    } catch (e) {
      model?.dispose();
      throw e;
    } finally {
      await close();
    }
  }

  /** `encode_text`: the text-mode BERT (`[B, N]` ids and 1/0 mask) and its [CLS] row. */
  encodeText(inputIds: tf.Tensor, attentionMask: tf.Tensor): TextEncodeOutput {
    const { lastHiddenState } = this.text_encoder.bert.forward({ inputIds, attentionMask, mode: 'text' });
    const pooled = tf.tidy(() => cls(lastHiddenState));
    return { textEmbeds: lastHiddenState, pooledTextEmbeds: pooled };
  }

  /** L2-normalised `text_proj` of the [CLS] row: the retrieval embedding of captions `[B, embed_dim]`. */
  embedText(inputIds: tf.Tensor, attentionMask: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const { textEmbeds } = this.encodeText(inputIds, attentionMask);
      return l2Normalize(this.projectText(textEmbeds), -1) as tf.Tensor2D;
    });
  }

  /**
   * The fusion layers (`mode="fusion"`): the text-mode output cross-attends to `visionEmbeds` `[B, M, encoder_width]`
   * (`visionAtts` `[B, M]`, 1 = attend; all ones when omitted). Returns the last hidden state `[B, N, hidden]`.
   */
  fuse(o: { textEmbeds: tf.Tensor3D; attentionMask: tf.Tensor; visionEmbeds: tf.Tensor3D; visionAtts?: tf.Tensor }): tf.Tensor3D {
    return this.text_encoder.bert.forward({
      encoderEmbeds: o.textEmbeds,
      attentionMask: o.attentionMask,
      encoderHiddenStates: o.visionEmbeds,
      encoderAttentionMask: o.visionAtts,
      mode: 'fusion',
    }).lastHiddenState;
  }

  /** `BertForMaskedLM` in any mode (the MLM loss runs it with `mode: 'fusion'` on the masked text's text-mode output). */
  mlm(input: BertModelInput & { labels?: tf.Tensor }): MaskedLMOutput {
    if (!input.encoderHiddenStates && (input.mode ?? 'multi_modal') !== 'text' && this.config.bert.fusion_layer < this.config.bert.num_hidden_layers) {
      throw new BertInputError('encoderHiddenStates', 'the MLM head of the stage-2 model reads the fusion layers: pass the vision tokens');
    }
    return this.text_encoder.forward(input);
  }
}

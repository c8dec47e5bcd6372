import * as tf from '@tensorflow/tfjs-core';
import { attention, Dropout, DropPath, gelu, LayerNorm, Linear, Module, ModuleList, type ParameterInfo, Rng } from '@iv2/core';
import { type BertConfig, type BertConfigInput, geluKind, parseBertConfig } from './config.js';
import { findPrefix, inferBertConfig, loadTextWeights, openSource, type PretrainedSource, type TextLoadReport } from './load.js';
import { Embedding } from './embedding.js';
import { BertInputError } from './errors.js';

// The stage-2 text encoder of `models/backbones/bert/xbert.py`: post-LN BERT whose layers from `fusion_layer` on
// add a cross-attention sub-layer over vision tokens. Class and attribute names follow the Python file, so the
// flattened names are the official state-dict keys.

/** `get_extended_attention_mask`: `(1 − mask)·(−10000)`, `[B, N]` → `[B, 1, 1, N]`, `[B, Nq, Nk]` → `[B, 1, Nq, Nk]`. */
export function extendedAttentionMask(mask: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const e = m.rank === 3 ? tf.expandDims(m, 1) : tf.reshape(m, [m.shape[0], 1, 1, m.shape[1]!]);
    return tf.mul(tf.sub(1, e), -10000) as tf.Tensor4D;
  });
}

/** float32's lowest finite value, the constant transformers' `invert_attention_mask` multiplies by. */
export const FLOAT32_MIN = -3.4028234663852886e38;

/** `invert_attention_mask` (transformers 4.28): `(1 − mask)·finfo(float32).min` as `[B, 1, 1, Nk]`. */
export function invertAttentionMask(mask: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const e = m.rank === 3 ? tf.expandDims(m, 1) : tf.reshape(m, [m.shape[0], 1, 1, m.shape[1]!]);
    return tf.mul(tf.sub(1, e), FLOAT32_MIN) as tf.Tensor4D;
  });
}

export class BertEmbeddings extends Module {
  readonly word_embeddings: Embedding;
  readonly position_embeddings: Embedding;
  readonly token_type_embeddings: Embedding;
  readonly LayerNorm: LayerNorm;
  readonly position_ids: tf.Variable;
  private readonly dropout: Dropout;

  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    const c = config;
    this.word_embeddings = this.addModule('word_embeddings', new Embedding(c.vocab_size, c.hidden_size, c.pad_token_id, rng, c.initializer_range));
    this.position_embeddings = this.addModule('position_embeddings', new Embedding(c.max_position_embeddings, c.hidden_size, null, rng, c.initializer_range));
    this.token_type_embeddings = this.addModule('token_type_embeddings', new Embedding(c.type_vocab_size, c.hidden_size, null, rng, c.initializer_range));
    this.LayerNorm = this.addModule('LayerNorm', new LayerNorm(c.hidden_size, c.layer_norm_eps));
    // The official buffer `[1, max_position_embeddings]` (int64 in PyTorch) is part of the state dict.
    this.position_ids = this.addBuffer('position_ids', tf.reshape(tf.range(0, c.max_position_embeddings, 1, 'int32'), [1, c.max_position_embeddings]));
    this.dropout = new Dropout(c.hidden_dropout_prob, rng);
  }

  override train(mode = true): this {
    super.train(mode);
    this.dropout.train(mode);
    return this;
  }

  forward(o: { inputIds?: tf.Tensor; inputsEmbeds?: tf.Tensor; tokenTypeIds?: tf.Tensor; positionIds?: tf.Tensor; pastLength?: number }): tf.Tensor3D {
    return tf.tidy(() => {
      const shape = o.inputIds ? o.inputIds.shape : o.inputsEmbeds!.shape.slice(0, 2);
      const [b, n] = shape;
      const past = o.pastLength ?? 0;
      if (past + n > this.config.max_position_embeddings) {
        throw new BertInputError('input_ids', `${past + n} positions exceed max_position_embeddings ${this.config.max_position_embeddings}`);
      }
      const pos = o.positionIds ?? tf.reshape(tf.range(past, past + n, 1, 'int32'), [1, n]);
      const types = o.tokenTypeIds ?? tf.zeros([b, n], 'int32');
      const words = o.inputsEmbeds ?? this.word_embeddings.forward(o.inputIds!);
      let x = tf.add(tf.add(words, this.token_type_embeddings.forward(types)), this.position_embeddings.forward(pos));
      x = this.LayerNorm.forward(x);
      return this.dropout.forward(x) as tf.Tensor3D;
    });
  }
}

export class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly numHeads: number;
  readonly headDim: number;

  constructor(config: BertConfig, isCrossAttention: boolean, rng: Rng) {
    super();
    const h = config.hidden_size;
    const kvIn = isCrossAttention ? config.encoder_width : h;
    const std = config.initializer_range;
    this.numHeads = config.num_attention_heads;
    this.headDim = h / this.numHeads;
    this.query = this.addModule('query', new Linear(h, h, { rng, std }));
    this.key = this.addModule('key', new Linear(kvIn, h, { rng, std }));
    this.value = this.addModule('value', new Linear(kvIn, h, { rng, std }));
  }

  /**
   * softmax(q·kᵀ/√d + mask)·v through @iv2/core's attention op (one fused kernel, WGSL on WebGPU). Keys and values
   * come from `encoderHiddenStates` when given (cross-attention), else from the hidden states. Dropout on the
   * attention probabilities is not applied: the fused kernel has none (the hidden-state dropouts are).
   */
  forward(hidden: tf.Tensor3D, mask: tf.Tensor | null, encoderHiddenStates?: tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n] = hidden.shape;
      const src = encoderHiddenStates ?? hidden;
      const heads = (t: tf.Tensor, len: number) => tf.transpose(tf.reshape(t, [b, len, this.numHeads, this.headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
      const q = heads(this.query.forward(hidden), n);
      const k = heads(this.key.forward(src), src.shape[1]);
      const v = heads(this.value.forward(src), src.shape[1]);
      const o = attention(q, k, v, { scale: 1 / Math.sqrt(this.headDim), mask });
      return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, n, this.numHeads * this.headDim]) as tf.Tensor3D;
    });
  }
}

/** `BertSelfOutput`: LayerNorm(drop_path(dropout(dense(h))) + input). `dropPath` is the Q-Former's; 0 in xbert. */
export class BertSelfOutput extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  private readonly dropout: Dropout;
  private readonly dropPath: DropPath;

  constructor(config: BertConfig, rng: Rng, inWidth = config.hidden_size, dropPath = 0) {
    super();
    this.dense = this.addModule('dense', new Linear(inWidth, config.hidden_size, { rng, std: config.initializer_range }));
    this.LayerNorm = this.addModule('LayerNorm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.dropout = new Dropout(config.hidden_dropout_prob, rng);
    this.dropPath = new DropPath(dropPath, rng);
  }

  override train(mode = true): this {
    super.train(mode);
    this.dropout.train(mode);
    this.dropPath.train(mode);
    return this;
  }

  forward(hidden: tf.Tensor, input: tf.Tensor): tf.Tensor3D {
    return tf.tidy(() => {
      const h = this.dropPath.forward(this.dropout.forward(this.dense.forward(hidden)));
      return this.LayerNorm.forward(tf.add(h, input)) as tf.Tensor3D;
    });
  }
}

/** `BertAttention`: `self` (attention) and `output` (projection, residual, post-LN). */
export class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertSelfOutput;

  constructor(config: BertConfig, isCrossAttention: boolean, rng: Rng, dropPath = 0) {
    super();
    this.self = this.addModule('self', new BertSelfAttention(config, isCrossAttention, rng));
    this.output = this.addModule('output', new BertSelfOutput(config, rng, config.hidden_size, dropPath));
  }

  forward(hidden: tf.Tensor3D, mask: tf.Tensor | null, encoderHiddenStates?: tf.Tensor3D | null): tf.Tensor3D {
    return tf.tidy(() => this.output.forward(this.self.forward(hidden, mask, encoderHiddenStates), hidden));
  }
}

/** `BertIntermediate`: dense → `hidden_act`. */
export class BertIntermediate extends Module {
  readonly dense: Linear;
  private readonly act: 'none' | 'tanh';

  constructor(config: BertConfig, rng: Rng) {
    super();
    this.dense = this.addModule('dense', new Linear(config.hidden_size, config.intermediate_size, { rng, std: config.initializer_range }));
    this.act = geluKind(config.hidden_act);
  }

  forward(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => gelu(this.dense.forward(hidden), this.act));
  }
}

/** `BertOutput`: LayerNorm(drop_path(dropout(dense(h))) + input), dense `intermediate → hidden`. */
export class BertOutput extends BertSelfOutput {
  constructor(config: BertConfig, rng: Rng, dropPath = 0) {
    super(config, rng, config.intermediate_size, dropPath);
  }
}

/** `BertLayer` of xbert.py: self-attention, cross-attention from `fusion_layer` on, FFN. */
export class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly crossattention: BertAttention | null;
  readonly intermediate: BertIntermediate;
  readonly output: BertOutput;

  constructor(config: BertConfig, readonly layerNum: number, rng: Rng) {
    super();
    this.attention = this.addModule('attention', new BertAttention(config, false, rng));
    this.crossattention = layerNum >= config.fusion_layer ? this.addModule('crossattention', new BertAttention(config, true, rng)) : null;
    this.intermediate = this.addModule('intermediate', new BertIntermediate(config, rng));
    this.output = this.addModule('output', new BertOutput(config, rng));
  }

  forward(hidden: tf.Tensor3D, mask: tf.Tensor | null, encoderHiddenStates: tf.Tensor3D | null, encoderMask: tf.Tensor | null): tf.Tensor3D {
    return tf.tidy(() => {
      let a = this.attention.forward(hidden, mask);
      if (this.crossattention) {
        if (!encoderHiddenStates) throw new BertInputError('encoderHiddenStates', `layer ${this.layerNum} cross-attends to vision tokens: pass encoderHiddenStates`);
        a = this.crossattention.forward(a, encoderMask, encoderHiddenStates);
      }
      return this.output.forward(this.intermediate.forward(a), a);
    });
  }
}

export type BertMode = 'text' | 'fusion' | 'multi_modal';

/** `BertEncoder`: the layer stack; `mode` picks the official slice of layers. */
export class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;

  constructor(readonly config: BertConfig, rng: Rng) {
    super();
    const layers: BertLayer[] = [];
    for (let i = 0; i < config.num_hidden_layers; i++) layers.push(new BertLayer(config, i, rng));
    this.layer = this.addModule('layer', new ModuleList(layers));
  }

  /** `[start, end)` layers of a mode: text = `[0, fusion_layer)`, fusion = `[fusion_layer, L)`, multi_modal = all. */
  layerRange(mode: BertMode): [number, number] {
    const { fusion_layer: f, num_hidden_layers: l } = this.config;
    return mode === 'text' ? [0, f] : mode === 'fusion' ? [f, l] : [0, l];
  }

  forward(
    hidden: tf.Tensor3D,
    o: { mask: tf.Tensor | null; encoderHiddenStates: tf.Tensor3D | null; encoderMask: tf.Tensor | null; mode: BertMode; keepHidden?: tf.Tensor3D[] },
  ): tf.Tensor3D {
    const [start, end] = this.layerRange(o.mode);
    let h = hidden;
    for (let i = start; i < end; i++) {
      o.keepHidden?.push(h);
      h = this.layer.at(i).forward(h, o.mask, o.encoderHiddenStates, o.encoderMask);
    }
    return h;
  }
}

export interface BertModelInput {
  /** `[B, N]` integer token ids. */
  inputIds?: tf.Tensor;
  /** `[B, N]` (or `[B, N, N]`) 1 = attend, 0 = padding; all ones when omitted. */
  attentionMask?: tf.Tensor;
  tokenTypeIds?: tf.Tensor;
  positionIds?: tf.Tensor;
  /** `[B, N, hidden]` word embeddings in place of `inputIds` (position and type embeddings still added). */
  inputsEmbeds?: tf.Tensor3D;
  /** `[B, N, hidden]` hidden states that skip the embeddings (the text-mode output fed to `mode: 'fusion'`). */
  encoderEmbeds?: tf.Tensor3D;
  /** `[B, M, encoder_width]` vision tokens for the cross-attention layers. */
  encoderHiddenStates?: tf.Tensor3D;
  /** `[B, M]` 1 = attend; all ones when omitted. */
  encoderAttentionMask?: tf.Tensor;
  mode?: BertMode;
  /** Also return the input of every layer run plus the last state (`output_hidden_states`). */
  outputHiddenStates?: boolean;
}

export interface BertModelOutput {
  lastHiddenState: tf.Tensor3D;
  hiddenStates?: tf.Tensor3D[];
}

/** `BertModel` of xbert.py without a pooler (the stage-2 model builds it with `add_pooling_layer=False`). */
export class BertModel extends Module {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  /** What loading did; absent for a freshly initialised model. */
  loadReport?: TextLoadReport;

  constructor(readonly config: BertConfig, rng: Rng = new Rng(0)) {
    super();
    this.embeddings = this.addModule('embeddings', new BertEmbeddings(config, rng));
    this.encoder = this.addModule('encoder', new BertEncoder(config, rng));
  }

  /**
   * The BERT of a checkpoint: a stage-2 file (`text_encoder.bert.*`), a fine-tuned one (`text_encoder.*`), a
   * Hugging Face BERT (`bert.*`) or a bare dict. Sizes from `config` or else the checkpoint's shapes.
   */
  static async fromPretrained(source: PretrainedSource, opts: FromPretrainedOptions = {}): Promise<BertModel> {
    return fromPretrained(source, opts, 'embeddings.word_embeddings.weight', BERT_PREFIXES, (c, r) => new BertModel(c, r), '');
  }

  forward(input: BertModelInput): BertModelOutput {
    const mode = input.mode ?? 'multi_modal';
    const given = [input.inputIds, input.inputsEmbeds, input.encoderEmbeds].filter((t) => t).length;
    if (given !== 1) throw new BertInputError('inputIds', 'pass exactly one of inputIds, inputsEmbeds, encoderEmbeds');
    if (input.inputIds && input.inputIds.rank !== 2) throw new BertInputError('inputIds', `expected [B, N], got [${input.inputIds.shape}]`);
    const [start, end] = this.encoder.layerRange(mode);
    const needsVision = end > Math.max(start, this.config.fusion_layer);
    if (needsVision && !input.encoderHiddenStates) {
      throw new BertInputError('encoderHiddenStates', `mode '${mode}' runs cross-attention layers ${Math.max(start, this.config.fusion_layer)}…${end - 1}: pass the vision tokens`);
    }
    const enc = input.encoderHiddenStates;
    if (enc && (enc.rank !== 3 || enc.shape[2] !== this.config.encoder_width)) {
      throw new BertInputError('encoderHiddenStates', `expected [B, M, ${this.config.encoder_width}] (encoder_width), got [${enc.shape}]`);
    }
    const keep: tf.Tensor3D[] | undefined = input.outputHiddenStates ? [] : undefined;
    const last = tf.tidy(() => {
      const x =
        input.encoderEmbeds ??
        this.embeddings.forward({ inputIds: input.inputIds, inputsEmbeds: input.inputsEmbeds, tokenTypeIds: input.tokenTypeIds, positionIds: input.positionIds });
      const [b, n] = x.shape;
      const mask = input.attentionMask ? extendedAttentionMask(input.attentionMask) : null;
      if (mask && (mask.shape[0] !== b || mask.shape[3] !== n)) throw new BertInputError('attentionMask', `expected [${b}, ${n}], got [${input.attentionMask!.shape}]`);
      const encMask = enc && input.encoderAttentionMask ? invertAttentionMask(input.encoderAttentionMask) : null;
      const out = this.encoder.forward(x, { mask, encoderHiddenStates: enc ?? null, encoderMask: encMask, mode, keepHidden: keep });
      if (keep) keep.forEach((t) => tf.keep(t));
      return out;
    });
    if (keep) {
      // The embeddings output given by the caller (`encoderEmbeds`) is theirs, not ours to return twice.
      return { lastHiddenState: last, hiddenStates: [...keep.map((t) => (t === input.encoderEmbeds ? tf.clone(t) : t)), tf.clone(last)] };
    }
    return { lastHiddenState: last };
  }
}

/** `BertPredictionHeadTransform`: dense → act → LayerNorm. */
export class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  private readonly act: 'none' | 'tanh';

  constructor(config: BertConfig, rng: Rng) {
    super();
    this.dense = this.addModule('dense', new Linear(config.hidden_size, config.hidden_size, { rng, std: config.initializer_range }));
    this.LayerNorm = this.addModule('LayerNorm', new LayerNorm(config.hidden_size, config.layer_norm_eps));
    this.act = geluKind(config.hidden_act);
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.LayerNorm.forward(gelu(this.dense.forward(x), this.act)));
  }
}

/**
 * `BertLMPredictionHead`: transform, then the decoder whose weight is the word-embedding matrix and whose bias is
 * `bias` (tied as transformers ties them). The state dict lists the tied pair under both names, as PyTorch
 * saves it; `parameters()` lists each tensor once, under its first name, as `named_parameters()` does.
 */
export class BertLMPredictionHead extends Module {
  readonly bias: tf.Variable;
  readonly transform: BertPredictionHeadTransform;

  constructor(config: BertConfig, private readonly wordEmbeddings: tf.Variable, rng: Rng) {
    super();
    this.bias = this.addParameter('bias', tf.zeros([config.vocab_size]));
    this.transform = this.addModule('transform', new BertPredictionHeadTransform(config, rng));
  }

  /** Tied aliases: state-dict entries marked as buffers, so they are saved and loaded but never trained twice. */
  override namedParameterInfo(prefix = ''): ParameterInfo[] {
    return [
      ...super.namedParameterInfo(prefix),
      { name: `${prefix}decoder.weight`, variable: this.wordEmbeddings as tf.Variable, layout: 'none', buffer: true },
      { name: `${prefix}decoder.bias`, variable: this.bias, layout: 'none', buffer: true },
    ];
  }

  /** Logits `[..., vocab]`. */
  forward(hidden: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const h = this.transform.forward(hidden);
      const c = h.shape[h.rank - 1];
      const flat = tf.matMul(tf.reshape(h, [-1, c]), this.wordEmbeddings, false, true);
      return tf.reshape(tf.add(flat, this.bias), [...h.shape.slice(0, -1), this.bias.shape[0]]);
    });
  }
}

/** Names of tied aliases inside a `BertForMaskedLM` (relative keys); a checkpoint may omit them. */
export const TIED_ALIASES = ['cls.predictions.decoder.weight', 'cls.predictions.decoder.bias'];

export class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;

  constructor(config: BertConfig, wordEmbeddings: tf.Variable, rng: Rng) {
    super();
    this.predictions = this.addModule('predictions', new BertLMPredictionHead(config, wordEmbeddings, rng));
  }

  forward(hidden: tf.Tensor): tf.Tensor {
    return this.predictions.forward(hidden);
  }
}

export interface MaskedLMOutput extends BertModelOutput {
  /** `[B, N, vocab]`. */
  logits: tf.Tensor3D;
  /** Mean cross-entropy over the labels that are not −100 (when `labels` is given). */
  loss?: tf.Scalar;
}

/** `BertForMaskedLM` of xbert.py: `bert` + `cls` (the MLM head), keys `bert.*`, `cls.predictions.*`. */
export class BertForMaskedLM extends Module {
  readonly bert: BertModel;
  readonly cls: BertOnlyMLMHead;
  /** What loading did; absent for a freshly initialised model. */
  loadReport?: TextLoadReport;

  constructor(readonly config: BertConfig, rng: Rng = new Rng(0)) {
    super();
    this.bert = this.addModule('bert', new BertModel(config, rng));
    this.cls = this.addModule('cls', new BertOnlyMLMHead(config, this.bert.embeddings.word_embeddings.weight, rng));
  }

  /** `text_encoder.*` of a stage-2 checkpoint (or `bert.*` + `cls.*` of a Hugging Face BertForMaskedLM). */
  static async fromPretrained(source: PretrainedSource, opts: FromPretrainedOptions = {}): Promise<BertForMaskedLM> {
    return fromPretrained(source, opts, 'bert.embeddings.word_embeddings.weight', ['text_encoder.', ''], (c, r) => new BertForMaskedLM(c, r), 'bert.');
  }

  /** The BERT forward in any mode, then the MLM head over every position; `labels` `[B, N]` (−100 = ignored). */
  forward(input: BertModelInput & { labels?: tf.Tensor }): MaskedLMOutput {
    const out = this.bert.forward(input);
    const logits = this.cls.forward(out.lastHiddenState) as tf.Tensor3D;
    const res: MaskedLMOutput = { ...out, logits };
    if (input.labels) res.loss = maskedLmLoss(logits, input.labels);
    return res;
  }
}

/** torch's CrossEntropyLoss(ignore_index=−100) over `[B, N, V]` logits: the mean over non-ignored labels. */
export function maskedLmLoss(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const v = logits.shape[logits.rank - 1];
    const flat = tf.reshape(logits, [-1, v]);
    const lab = tf.reshape(tf.cast(labels, 'int32'), [-1]);
    const valid = tf.cast(tf.notEqual(lab, -100), 'float32');
    const target = tf.oneHot(tf.maximum(lab, tf.zerosLike(lab)) as tf.Tensor1D, v);
    const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(flat, -1), target), -1));
    return tf.div(tf.sum(tf.mul(nll, valid)), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}

export interface FromPretrainedOptions {
  /** BERT config fields (a config.json object or its text); what is absent is read off the checkpoint's shapes. */
  config?: BertConfigInput | Record<string, unknown> | string;
  /** Key prefix of the part; detected when omitted. */
  keyPrefix?: string;
  allowMissing?: boolean;
  seed?: number;
}

/** Where a BertModel's keys may live, most specific first. */
const BERT_PREFIXES = ['text_encoder.bert.', 'text_encoder.', 'bert.', ''];

async function fromPretrained<M extends Module & { loadReport?: TextLoadReport }>(
  source: PretrainedSource,
  opts: FromPretrainedOptions,
  probe: string,
  prefixes: string[],
  make: (c: BertConfig, r: Rng) => M,
  bertPath: string,
): Promise<M> {
  const { src, file, close } = await openSource(source);
  let model: M | undefined;
  try {
    const prefix = opts.keyPrefix ?? findPrefix(src, probe, prefixes, file);
    const user = typeof opts.config === 'string' ? JSON.parse(opts.config) : (opts.config ?? {});
    const config = parseBertConfig({ ...inferBertConfig(src, prefix + bertPath), ...user }, file);
    model = make(config, new Rng(opts.seed ?? 0)).eval();
    model.loadReport = await loadTextWeights(model, src, {
      file,
      prefix,
      optional: (k) => k.endsWith('embeddings.position_ids') || TIED_ALIASES.includes(k),
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

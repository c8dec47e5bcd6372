import * as tf from '@tensorflow/tfjs-core';
import { Dropout, LayerNorm, Module, ModuleList, type Rng } from '@iv2/core';
import type { BertConfig } from '../text/config.js';
import { Embedding } from '../text/embedding.js';
import { BertInputError } from '../text/errors.js';
import { BertAttention, BertIntermediate, BertOutput, extendedAttentionMask, invertAttentionMask } from '../text/xbert.js';
import { dropPathList, type QFormerConfig, qformerBertConfig } from './config.js';

// The BLIP-2 Q-Former of `models/blip2/Qformer.py` (VideoChat2's copy): learned queries (and optionally the
// instruction's tokens after them) share the self-attention; only the query rows cross-attend to the vision
// tokens, every `cross_attention_freq` layers, and the query rows have their own FFN (`*_query`).

/** `BertEmbeddings` of Qformer.py: word + position embeddings of the text, after the query embeddings; LayerNorm. */
export class QFormerEmbeddings extends Module {
  readonly word_embeddings: Embedding | null;
  readonly position_embeddings: Embedding | null;
  readonly LayerNorm: LayerNorm;
  private readonly dropout: Dropout;

  constructor(readonly config: QFormerConfig, rng: Rng) {
    super();
    const c = config;
    // Without instruction input the official constructor sets both tables to None: no keys, no parameters.
    this.word_embeddings = c.qformer_text_input ? this.addModule('word_embeddings', new Embedding(c.vocab_size, c.hidden_size, c.pad_token_id, rng, c.initializer_range)) : null;
    this.position_embeddings = c.qformer_text_input ? this.addModule('position_embeddings', new Embedding(c.max_position_embeddings, c.hidden_size, null, rng, c.initializer_range)) : null;
    this.LayerNorm = this.addModule('LayerNorm', new LayerNorm(c.hidden_size, c.layer_norm_eps));
    this.dropout = new Dropout(c.hidden_dropout_prob, rng);
  }

  override train(mode = true): this {
    super.train(mode);
    this.dropout.train(mode);
    return this;
  }

  /** `[B, Q + n, hidden]`: the queries, then the text tokens at positions 0…n−1. */
  forward(queryEmbeds: tf.Tensor3D | null, inputIds: tf.Tensor | null): tf.Tensor3D {
    return tf.tidy(() => {
      let x: tf.Tensor;
      if (inputIds) {
        if (!this.word_embeddings || !this.position_embeddings) {
          throw new BertInputError('inputIds', 'this Q-Former was built without instruction input (qformer_text_input: false)');
        }
        const n = inputIds.shape[1]!;
        if (n > this.config.max_position_embeddings) throw new BertInputError('inputIds', `${n} tokens exceed max_position_embeddings ${this.config.max_position_embeddings}`);
        const words = this.word_embeddings.forward(inputIds);
        const pos = this.position_embeddings.forward(tf.range(0, n, 1, 'int32'));
        x = tf.add(words, pos);
        if (queryEmbeds) x = tf.concat([queryEmbeds, x], 1);
      } else {
        if (!queryEmbeds) throw new BertInputError('queryEmbeds', 'pass query embeddings, input ids, or both');
        x = queryEmbeds;
      }
      return this.dropout.forward(this.LayerNorm.forward(x)) as tf.Tensor3D;
    });
  }
}

/** `BertLayer` of Qformer.py. */
export class QFormerLayer extends Module {
  readonly attention: BertAttention;
  readonly crossattention: BertAttention | null;
  readonly intermediate: BertIntermediate | null;
  readonly output: BertOutput | null;
  readonly intermediate_query: BertIntermediate;
  readonly output_query: BertOutput;

  constructor(config: QFormerConfig, bert: BertConfig, readonly layerNum: number, dropPath: number, rng: Rng) {
    super();
    this.attention = this.addModule('attention', new BertAttention(bert, false, rng, dropPath));
    this.crossattention = layerNum % config.cross_attention_freq === 0 ? this.addModule('crossattention', new BertAttention(bert, true, rng, dropPath)) : null;
    // The text FFN exists only with instruction input (the official constructor sets it to None otherwise).
    this.intermediate = config.qformer_text_input ? this.addModule('intermediate', new BertIntermediate(bert, rng)) : null;
    this.output = config.qformer_text_input ? this.addModule('output', new BertOutput(bert, rng, dropPath)) : null;
    this.intermediate_query = this.addModule('intermediate_query', new BertIntermediate(bert, rng));
    this.output_query = this.addModule('output_query', new BertOutput(bert, rng, dropPath));
  }

  forward(hidden: tf.Tensor3D, mask: tf.Tensor | null, vision: tf.Tensor3D, visionMask: tf.Tensor | null, queryLength: number): tf.Tensor3D {
    return tf.tidy(() => {
      const a = this.attention.forward(hidden, mask);
      const [b, n, c] = a.shape;
      const textFfn = (t: tf.Tensor3D) => {
        if (!this.intermediate || !this.output) throw new BertInputError('inputIds', `layer ${this.layerNum} has no text FFN (qformer_text_input: false)`);
        return this.output.forward(this.intermediate.forward(t), t);
      };
      if (queryLength === 0) return textFfn(a);
      let q = queryLength === n ? a : (tf.slice(a, [0, 0, 0], [b, queryLength, c]) as tf.Tensor3D);
      if (this.crossattention) q = this.crossattention.forward(q, visionMask, vision);
      const out = this.output_query.forward(this.intermediate_query.forward(q), q);
      if (queryLength === n) return out;
      const text = textFfn(tf.slice(a, [0, queryLength, 0], [b, n - queryLength, c]) as tf.Tensor3D);
      return tf.concat([out, text], 1) as tf.Tensor3D;
    });
  }
}

export class QFormerEncoder extends Module {
  readonly layer: ModuleList<QFormerLayer>;

  constructor(config: QFormerConfig, rng: Rng) {
    super();
    const bert = qformerBertConfig(config);
    const dp = dropPathList(config);
    this.layer = this.addModule('layer', new ModuleList(dp.map((p, i) => new QFormerLayer(config, bert, i, p, rng))));
  }
}

export interface QFormerModelInput {
  /** `[B, Q, hidden]` learned queries. */
  queryEmbeds?: tf.Tensor3D;
  /** `[B, n]` instruction ids (instruction-input Q-Formers only). */
  inputIds?: tf.Tensor;
  /** `[B, Q + n]` (queries then text), 1 = attend; all ones when omitted. */
  attentionMask?: tf.Tensor;
  /** `[B, M, encoder_width]` vision tokens. */
  encoderHiddenStates: tf.Tensor3D;
  /** `[B, M]`, 1 = attend; all ones when omitted (as `encode_img` passes). */
  encoderAttentionMask?: tf.Tensor;
}

/** `BertModel` of Qformer.py (encoder use, `is_decoder=False`): embeddings and the layer stack; no pooler. */
export class QFormerBertModel extends Module {
  readonly embeddings: QFormerEmbeddings;
  readonly encoder: QFormerEncoder;

  constructor(readonly config: QFormerConfig, rng: Rng) {
    super();
    this.embeddings = this.addModule('embeddings', new QFormerEmbeddings(config, rng));
    this.encoder = this.addModule('encoder', new QFormerEncoder(config, rng));
  }

  /** The last hidden state `[B, Q + n, hidden]`. */
  forward(input: QFormerModelInput): tf.Tensor3D {
    const enc = input.encoderHiddenStates;
    if (!enc || enc.rank !== 3 || enc.shape[2] !== this.config.encoder_width) {
      throw new BertInputError('encoderHiddenStates', `expected [B, M, ${this.config.encoder_width}] (encoder_width), got [${enc?.shape}]`);
    }
    return tf.tidy(() => {
      const x = this.embeddings.forward(input.queryEmbeds ?? null, input.inputIds ?? null);
      const [b, n] = x.shape;
      const queryLength = input.queryEmbeds ? input.queryEmbeds.shape[1] : 0;
      let mask: tf.Tensor | null = null;
      if (input.attentionMask) {
        if (input.attentionMask.shape[0] !== b || input.attentionMask.shape[input.attentionMask.rank - 1] !== n) {
          throw new BertInputError('attentionMask', `expected [${b}, ${n}] (queries then text), got [${input.attentionMask.shape}]`);
        }
        mask = extendedAttentionMask(input.attentionMask);
      }
      const visionMask = input.encoderAttentionMask ? invertAttentionMask(input.encoderAttentionMask) : null;
      let h = x;
      for (const layer of this.encoder.layer.items) h = layer.forward(h, mask, enc, visionMask, queryLength);
      return h;
    });
  }
}

/** `BertLMHeadModel` as VideoChat2 keeps it: `cls` is set to None, so only `bert` remains (keys `bert.*`). */
export class QFormerLMHeadModel extends Module {
  readonly bert: QFormerBertModel;

  constructor(config: QFormerConfig, rng: Rng) {
    super();
    this.bert = this.addModule('bert', new QFormerBertModel(config, rng));
  }
}

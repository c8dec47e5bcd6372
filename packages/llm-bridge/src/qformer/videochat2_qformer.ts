import * as tf from '@tensorflow/tfjs-core';
import { LayerNorm, Linear, Module, Rng, truncNormal } from '@iv2/core';
import { BertInputError } from '../text/errors.js';
import { findPrefix, loadTextWeights, openSource, type PretrainedSource, storedShape, type TextLoadReport } from '../text/load.js';
import { parseQFormerConfig, type QFormerConfig, type QFormerConfigInput, QFORMER_PRESETS, QFormerConfigError } from './config.js';
import { QFormerLMHeadModel } from './qformer.js';

// The vision-to-LLM connector of VideoChat2 as `encode_img` of `videochat2_it_mistral.py` runs it: vision tokens →
// `vision_layernorm` → Q-Former fed with `cat(query_tokens, extra_query_tokens)` (and the instruction) →
// `mistral_proj` / `llama_proj` on the query rows. Keys are the model's own top-level ones.

export interface EncodeImgOutput {
  /** `[B, T·L, C]` after `vision_layernorm` (the cross-attention memory). */
  visionEmbeds: tf.Tensor3D;
  /** `[B, Q(+n), hidden]`: the Q-Former's last hidden state, text rows included when the instruction is fed. */
  queryOutput: tf.Tensor3D;
  /** `[B, Q, llm_hidden_size]`: the projector on the query rows (the LLM's soft video tokens). */
  projected: tf.Tensor3D;
}

export interface QFormerFromPretrainedOptions {
  /** A key of {@link QFORMER_PRESETS}; otherwise sizes are read off the checkpoint. */
  preset?: string;
  /** Official config fields over the preset / the checkpoint's shapes (e.g. `num_attention_heads`, dropouts). */
  config?: QFormerConfigInput;
  allowMissing?: boolean;
  seed?: number;
}

/**
 * `vision_layernorm`, `qformer` (`qformer.bert.*`), `query_tokens`, `extra_query_tokens` and the projector, as in
 * a VideoChat2 checkpoint. Subclass it to add the vision encoder and the LLM beside them under flat keys.
 */
export class QFormer extends Module {
  readonly vision_layernorm: LayerNorm | null;
  readonly qformer: QFormerLMHeadModel;
  readonly query_tokens: tf.Variable;
  readonly extra_query_tokens: tf.Variable | null;
  readonly projector: Linear;
  /** What loading did; absent for a freshly initialised model. */
  loadReport?: TextLoadReport;

  constructor(readonly config: QFormerConfig, rng: Rng = new Rng(0)) {
    super();
    const c = config;
    this.vision_layernorm = c.vit_add_ln ? this.addModule('vision_layernorm', new LayerNorm(c.encoder_width, 1e-12)) : null;
    this.qformer = this.addModule('qformer', new QFormerLMHeadModel(c, rng));
    this.query_tokens = this.addParameter('query_tokens', truncNormal(rng, [1, c.num_query_token, c.hidden_size], c.initializer_range));
    // Official init of the extra queries: zeros.
    this.extra_query_tokens = c.extra_num_query_token > 0 ? this.addParameter('extra_query_tokens', tf.zeros([1, c.extra_num_query_token, c.hidden_size])) : null;
    this.projector = this.addModule(c.projector, new Linear(c.hidden_size, c.llm_hidden_size, { rng }));
  }

  static create(opts: { preset?: string; config?: QFormerConfigInput; seed?: number } = {}): QFormer {
    return new QFormer(parseQFormerConfig({ ...presetOf(opts.preset), ...opts.config }), new Rng(opts.seed ?? 0)).eval();
  }

  /**
   * The connector of a VideoChat2 checkpoint (bare, or wrapped in `module.`/`model.`): sizes from the preset/config
   * or else from the checkpoint's shapes (heads default to hidden/64). Vision-encoder, LLM and LoRA keys are reported
   * as unused; the `position_ids` buffer is ignored.
   */
  static async fromPretrained(source: PretrainedSource, opts: QFormerFromPretrainedOptions = {}): Promise<QFormer> {
    const { src, file, close } = await openSource(source);
    let model: QFormer | undefined;
    try {
      const prefix = findPrefix(src, 'query_tokens', [''], file);
      const inferred = opts.preset ? {} : inferQFormerConfig(src, prefix);
      const config = parseQFormerConfig({ ...presetOf(opts.preset), ...inferred, ...opts.config }, file);
      model = new QFormer(config, new Rng(opts.seed ?? 0)).eval();
      model.loadReport = await loadTextWeights(model, src, {
        file,
        prefix,
        ignore: (k) => k.endsWith('embeddings.position_ids'),
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

  /** `cat(query_tokens, extra_query_tokens)` expanded to the batch: `[B, Q, hidden]`. */
  queries(batch: number): tf.Tensor3D {
    return tf.tidy(() => {
      const q = this.extra_query_tokens ? tf.concat([this.query_tokens, this.extra_query_tokens], 1) : this.query_tokens;
      return tf.tile(q, [batch, 1, 1]) as tf.Tensor3D;
    });
  }

  get numQueries(): number {
    return this.config.num_query_token + this.config.extra_num_query_token;
  }

  /**
   * `encode_img` after the vision encoder: `visionTokens` `[B, T, L, C]` (or `[B, T·L, C]`). With
   * `qformer_text_input`, `inputIds`/`attentionMask` `[B, n]` are the instruction (BERT ids, `[CLS] … [SEP]`).
   */
  encodeImg(visionTokens: tf.Tensor, instruction: { inputIds?: tf.Tensor; attentionMask?: tf.Tensor } = {}): EncodeImgOutput {
    const c = this.config;
    if ((visionTokens.rank !== 3 && visionTokens.rank !== 4) || visionTokens.shape[visionTokens.rank - 1] !== c.encoder_width) {
      throw new BertInputError('visionTokens', `expected [B, T, L, ${c.encoder_width}] or [B, T·L, ${c.encoder_width}], got [${visionTokens.shape}]`);
    }
    if (c.qformer_text_input !== !!instruction.inputIds) {
      throw new BertInputError('inputIds', c.qformer_text_input ? 'this Q-Former reads the instruction: pass its inputIds and attentionMask' : 'this Q-Former has no instruction input (qformer_text_input: false)');
    }
    return tf.tidy(() => {
      const b = visionTokens.shape[0];
      const flat = tf.reshape(visionTokens, [b, -1, c.encoder_width]) as tf.Tensor3D;
      const vision = (this.vision_layernorm ? this.vision_layernorm.forward(flat) : flat) as tf.Tensor3D;
      const queryEmbeds = this.queries(b);
      let attentionMask: tf.Tensor | undefined;
      if (instruction.inputIds) {
        const n = instruction.inputIds.shape[1]!;
        const text = instruction.attentionMask ?? tf.ones([b, n], 'int32');
        attentionMask = tf.concat([tf.ones([b, this.numQueries], 'float32'), tf.cast(text, 'float32')], 1);
      }
      const queryOutput = this.qformer.bert.forward({ queryEmbeds, inputIds: instruction.inputIds, attentionMask, encoderHiddenStates: vision });
      const rows = tf.slice(queryOutput, [0, 0, 0], [b, this.numQueries, c.hidden_size]);
      const projected = this.projector.forward(rows) as tf.Tensor3D;
      return { visionEmbeds: vision, queryOutput, projected };
    });
  }
}

function presetOf(name?: string): QFormerConfigInput {
  if (!name) return {};
  const p = QFORMER_PRESETS[name];
  if (!p) throw new QFormerConfigError('preset', `unknown '${name}'; known: ${Object.keys(QFORMER_PRESETS).join(', ')}`);
  const { description, ...config } = p;
  void description;
  return config;
}

/** Q-Former sizes read off a checkpoint's shapes (`prefix` = where `query_tokens` lives). */
export function inferQFormerConfig(src: { has(k: string): boolean; info(k: string): { shape: number[] } }, prefix: string): QFormerConfigInput {
  const shape = (k: string) => storedShape(src as never, prefix + k);
  const out: QFormerConfigInput = {};
  const q = shape('query_tokens');
  if (!q) return out;
  out.num_query_token = q[1];
  out.hidden_size = q[2];
  out.num_attention_heads = Math.max(1, Math.round(q[2] / 64));
  out.extra_num_query_token = shape('extra_query_tokens')?.[1] ?? 0;
  const bert = 'qformer.bert.';
  const word = shape(`${bert}embeddings.word_embeddings.weight`);
  out.qformer_text_input = !!word && src.has(`${prefix}${bert}encoder.layer.0.intermediate.dense.weight`);
  if (word) out.vocab_size = word[0];
  const pos = shape(`${bert}embeddings.position_embeddings.weight`);
  if (pos) out.max_position_embeddings = pos[0];
  let layers = 0;
  const cross: number[] = [];
  while (src.has(`${prefix}${bert}encoder.layer.${layers}.attention.self.query.weight`)) {
    if (src.has(`${prefix}${bert}encoder.layer.${layers}.crossattention.self.key.weight`)) cross.push(layers);
    layers++;
  }
  if (layers) out.num_hidden_layers = layers;
  if (cross.length) {
    out.encoder_width = shape(`${bert}encoder.layer.${cross[0]}.crossattention.self.key.weight`)![1];
    out.cross_attention_freq = cross.length > 1 ? cross[1] - cross[0] : layers;
  }
  const inter = shape(`${bert}encoder.layer.0.intermediate_query.dense.weight`);
  if (inter) out.intermediate_size = inter[0];
  out.vit_add_ln = src.has(`${prefix}vision_layernorm.weight`);
  if (out.encoder_width === undefined && out.vit_add_ln) out.encoder_width = shape('vision_layernorm.weight')![0];
  for (const p of ['mistral_proj', 'llama_proj'] as const) {
    const w = shape(`${p}.weight`);
    if (w) {
      out.projector = p;
      out.llm_hidden_size = w[0];
      break;
    }
  }
  return out;
}

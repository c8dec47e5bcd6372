import { z } from 'zod';
import { type BertConfig, parseBertConfig } from '../text/config.js';

/**
 * What VideoChat2 builds its connector from, under the official names: the Q-Former's BERT config
 * (bert-base-uncased's config.json as `Blip2Base.init_Qformer` edits it) and the `VideoChat2_it_mistral` /
 * `VideoChat2_it_vicuna` constructor options that shape `encode_img`.
 */
export const QFormerConfigSchema = z
  .object({
    vocab_size: z.number().int().positive().default(30523),
    hidden_size: z.number().int().positive().default(768),
    num_hidden_layers: z.number().int().positive().default(12),
    num_attention_heads: z.number().int().positive().default(12),
    intermediate_size: z.number().int().positive().default(3072),
    hidden_act: z.enum(['gelu', 'gelu_new', 'gelu_pytorch_tanh']).default('gelu'),
    max_position_embeddings: z.number().int().positive().default(512),
    layer_norm_eps: z.number().positive().default(1e-12),
    initializer_range: z.number().positive().default(0.02),
    pad_token_id: z.number().int().min(0).default(0),
    /** `qformer_hidden_dropout_prob` / `qformer_attention_probs_dropout_prob` (VideoChat2 default 0.1). */
    hidden_dropout_prob: z.number().min(0).max(1).default(0.1),
    attention_probs_dropout_prob: z.number().min(0).max(1).default(0.1),
    /** `qformer_drop_path_rate`: layer i drops its residual branches with rate·i/(L−1) (`drop_path_list`). */
    drop_path_rate: z.number().min(0).max(1).default(0.1),
    /** Layers whose index is a multiple of this add cross-attention to the vision tokens. */
    cross_attention_freq: z.number().int().positive().default(2),
    /** Width of the vision tokens (the vision encoder's `encoder_embed_dim`). */
    encoder_width: z.number().int().positive().default(1408),
    num_query_token: z.number().int().positive().default(32),
    extra_num_query_token: z.number().int().min(0).default(64),
    /** The instruction enters the Q-Former after the queries; false deletes the text embeddings and text FFNs. */
    qformer_text_input: z.boolean().default(false),
    /** `vit_add_ln`: a LayerNorm (eps 1e-12) on the vision tokens; false = identity (no `vision_layernorm.*` keys). */
    vit_add_ln: z.boolean().default(true),
    /** Width of the LLM the projector maps to. */
    llm_hidden_size: z.number().int().positive().default(4096),
    /** The projector's attribute name: `mistral_proj` (Mistral class) or `llama_proj` (Vicuna class). */
    projector: z.enum(['mistral_proj', 'llama_proj']).default('mistral_proj'),
  })
  .superRefine((c, ctx) => {
    if (c.hidden_size % c.num_attention_heads) {
      ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `hidden_size ${c.hidden_size} is not divisible by ${c.num_attention_heads} heads` });
    }
  });

export type QFormerConfigInput = z.input<typeof QFormerConfigSchema>;
export type QFormerConfig = z.output<typeof QFormerConfigSchema>;

/** A Q-Former config that does not validate; `field` is the official name. */
export class QFormerConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly source = 'q-former config',
  ) {
    super(`${source}: ${field}: ${reason}`);
    this.name = 'QFormerConfigError';
  }
}

export function parseQFormerConfig(input: QFormerConfigInput | Record<string, unknown> = {}, source?: string): QFormerConfig {
  const r = QFormerConfigSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new QFormerConfigError(issue.path.join('.') || '(root)', issue.message, source);
  }
  return r.data;
}

/** The BERT config the shared layer classes read (no late fusion: cross-attention placement is the Q-Former's own). */
export function qformerBertConfig(c: QFormerConfig): BertConfig {
  return parseBertConfig({
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    intermediate_size: c.intermediate_size,
    hidden_act: c.hidden_act,
    hidden_dropout_prob: c.hidden_dropout_prob,
    attention_probs_dropout_prob: c.attention_probs_dropout_prob,
    max_position_embeddings: c.max_position_embeddings,
    initializer_range: c.initializer_range,
    layer_norm_eps: c.layer_norm_eps,
    pad_token_id: c.pad_token_id,
    fusion_layer: c.num_hidden_layers,
    encoder_width: c.encoder_width,
  });
}

/** `drop_path_list`: `torch.linspace(0, drop_path_rate, num_hidden_layers)`. */
export function dropPathList(c: QFormerConfig): number[] {
  const n = c.num_hidden_layers;
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0 : (c.drop_path_rate * i) / (n - 1)));
}

/**
 * Stage-3 connectors keyed by released model names. `VideoChat2_mistral_7b` is `scripts/videochat_mistral/config_7b_stage3.py`
 * (UMT-L/16 tokens of width 1024, instruction in the Q-Former, drop path 0.2); `InternVideo2-Chat-8B` puts the
 * same Q-Former on InternVideo2-1B tokens (1408) and trains without the instruction input (paper Tab. 19).
 * Both: bert-base-uncased + `[DEC]` (vocab 30523), 32 + 64 queries, `vit_add_ln`, `mistral_proj` 768 → 4096.
 */
export const QFORMER_PRESETS: Record<string, QFormerConfigInput & { description: string }> = {
  VideoChat2_mistral_7b: {
    description: 'VideoChat2_it_mistral as config_7b_stage3.py builds it: UMT-L tokens (1024), instruction in the Q-Former',
    encoder_width: 1024,
    qformer_text_input: true,
    drop_path_rate: 0.2,
    projector: 'mistral_proj',
  },
  'InternVideo2-Chat-8B': {
    description: 'InternVideo2-1B tokens (1408) into the VideoChat2 Q-Former without instruction input, mistral_proj to Mistral-7B',
    encoder_width: 1408,
    qformer_text_input: false,
    drop_path_rate: 0.2,
    projector: 'mistral_proj',
  },
};

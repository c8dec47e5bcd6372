import { z } from 'zod';

/**
 * The BERT config of the stage-2 text encoder: the fields of `config_bert.json` / `config_bert_large.json`
 * (transformers' `BertConfig`) plus what `build_bert` sets on it (`fusion_layer`, `encoder_width`). Unknown
 * fields of a real config file (`architectures`, `model_type`, `use_cache`, …) are accepted and kept.
 */
export const BertConfigSchema = z
  .object({
    vocab_size: z.number().int().positive().default(30522),
    hidden_size: z.number().int().positive().default(768),
    num_hidden_layers: z.number().int().positive().default(12),
    num_attention_heads: z.number().int().positive().default(12),
    intermediate_size: z.number().int().positive().default(3072),
    /** Only the exact erf GELU (`gelu`) is what BERT checkpoints use; `gelu_new` is the tanh form. */
    hidden_act: z.enum(['gelu', 'gelu_new', 'gelu_pytorch_tanh']).default('gelu'),
    hidden_dropout_prob: z.number().min(0).max(1).default(0.1),
    attention_probs_dropout_prob: z.number().min(0).max(1).default(0.1),
    max_position_embeddings: z.number().int().positive().default(512),
    type_vocab_size: z.number().int().positive().default(2),
    initializer_range: z.number().positive().default(0.02),
    layer_norm_eps: z.number().positive().default(1e-12),
    pad_token_id: z.number().int().min(0).default(0),
    position_embedding_type: z.literal('absolute').default('absolute'),
    /** Layers `fusion_layer…` add cross-attention to the vision tokens; `num_hidden_layers` = text only. */
    fusion_layer: z.number().int().min(0).default(9),
    /** Width of the vision tokens the cross-attention keys and values read. */
    encoder_width: z.number().int().positive().default(768),
    cross_module: z.literal('ca').default('ca'),
    gradient_checkpointing: z.boolean().optional(),
  })
  .passthrough()
  .superRefine((c, ctx) => {
    if (c.hidden_size % c.num_attention_heads) {
      ctx.addIssue({ code: 'custom', path: ['num_attention_heads'], message: `hidden_size ${c.hidden_size} is not divisible by ${c.num_attention_heads} heads` });
    }
    if (c.fusion_layer > c.num_hidden_layers) {
      ctx.addIssue({ code: 'custom', path: ['fusion_layer'], message: `exceeds num_hidden_layers ${c.num_hidden_layers}` });
    }
    if (c.pad_token_id >= c.vocab_size) ctx.addIssue({ code: 'custom', path: ['pad_token_id'], message: `outside the vocabulary (${c.vocab_size})` });
  });

export type BertConfigInput = z.input<typeof BertConfigSchema>;
export type BertConfig = z.output<typeof BertConfigSchema>;

/** A BERT config that does not validate; `field` is the official config.json field. */
export class BertConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly source = 'bert config',
  ) {
    super(`${source}: ${field}: ${reason}`);
    this.name = 'BertConfigError';
  }
}

/** Validates a config.json object (or its text); `source` names the file in errors. */
export function parseBertConfig(input: BertConfigInput | Record<string, unknown> | string, source?: string): BertConfig {
  let obj: unknown = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new BertConfigError('(root)', `not JSON: ${(e as Error).message}`, source);
    }
  }
  const r = BertConfigSchema.safeParse(obj);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new BertConfigError(issue.path.join('.') || '(root)', issue.message, source);
  }
  return r.data;
}

/** GELU flavour of `hidden_act` for @iv2/core's gelu op. */
export function geluKind(act: BertConfig['hidden_act']): 'none' | 'tanh' {
  return act === 'gelu' ? 'none' : 'tanh';
}

const BASE = { vocab_size: 30522, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 };
const LARGE = { vocab_size: 30522, hidden_size: 1024, num_hidden_layers: 24, num_attention_heads: 16, intermediate_size: 4096 };

/**
 * The text encoders of `configs/model.py` (`TextEncoders["bert"]`, `TextEncoders["bert_large"]`): the
 * bert-base/large-uncased configs with the official `fusion_layer`. `encoder_width` is the vision width
 * (`build_bert` sets it from the vision encoder).
 */
export const BERT_ARCHITECTURES: Record<string, BertConfigInput> = {
  bert_base: { ...BASE, fusion_layer: 9 },
  bert_large: { ...LARGE, fusion_layer: 19 },
};

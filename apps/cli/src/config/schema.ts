import { z } from 'zod';

// The `iv2 train` configuration. Field names follow the official configs: the stage-2 / VideoChat2 Python configs
// (`optimizer.opt`, `opt_betas`, `max_grad_norm`, `scheduler.sched`, `min_lr_multi`, `criterion.loss_weight`,
// `vtm_hard_neg`, `mlm_masking_prob`, `freeze_vit`, `lora_r`, …) and the stage-1 argparse flags (`mask_type`,
// `mask_ratio`, `clip_loss_ratio`, `mae_loss_ratio`, `layer_decay`, `clip_grad`, `save_ckpt_freq`). Everything is
// strict: an unknown key is an error that lists the keys allowed there.

const backend = z.enum(['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow']);

/** Official InternVideo2 constructor arguments (validated by @iv2/encoder), over an optional preset. */
const visionEncoder = z
  .object({
    preset: z.string().optional().describe('Released checkpoint or factory name, e.g. InternVideo2-Stage2_1B-224p-f4'),
    pretrained: z.string().optional().describe('Checkpoint to start the vision encoder from (.safetensors, .pth)'),
  })
  .catchall(z.unknown())
  .describe('InternVideo2 constructor arguments under their official names (img_size, patch_size, embed_dim, depth, …)');

const textEncoder = z
  .strictObject({
    name: z.enum(['bert_base', 'bert_large', 'bert_tiny']).default('bert_base').describe('configs/model.py TextEncoders key'),
    config: z.record(z.string(), z.unknown()).optional().describe('BERT config.json fields over the named one'),
    fusion_layer: z.number().int().min(0).optional(),
    pretrained: z.string().optional(),
    vocab: z.string().optional().describe('vocab.txt / tokenizer.json; "build" makes a WordPiece vocabulary from the training captions'),
    vocab_size: z.number().int().positive().default(30522).describe('Target size when the vocabulary is built'),
  });

const teacher = z
  .strictObject({
    kind: z.enum(['encoder', 'features', 'pixels']).describe('a frozen iv2 VideoEncoder, precomputed features, or teacherless pixel reconstruction'),
    preset: z.string().optional(),
    pretrained: z.string().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    features: z.string().optional().describe('safetensors / shards of precomputed teacher features (kind: features)'),
    clip_return_interval: z.number().positive().default(1),
  });

const llm = z.strictObject({
  model_path: z.string().optional().describe('Hugging Face folder (config.json, *.safetensors, tokenizer.json)'),
  config: z.record(z.string(), z.unknown()).optional().describe('config.json fields for a model built from scratch'),
  tokenizer: z.string().optional(),
});

const model = z.strictObject({
  model_cls: z
    .enum(['PretrainInternVideo2', 'DistInternVideo2', 'InternVideo2_Stage2_visual', 'VideoChat2_it_mistral', 'VideoChat2_it_llama'])
    .optional()
    .describe('Official model class; implied by the stage when omitted'),
  vision_encoder: visionEncoder.default({}),
  text_encoder: textEncoder.optional(),
  teacher: teacher.optional(),
  embed_dim: z.number().int().positive().default(512).describe('Contrastive dimension (vision_proj / text_proj)'),
  temp: z.number().positive().default(0.07),
  pretrained_path: z.string().optional().describe('A whole-model checkpoint to start from (official keys)'),
  // Stage 3 (VideoChat2 config names)
  num_query_token: z.number().int().positive().default(32),
  extra_num_query_token: z.number().int().min(0).default(64),
  qformer_text_input: z.boolean().default(false),
  qformer: z.record(z.string(), z.unknown()).optional().describe('Q-Former BERT config fields (hidden_size, num_hidden_layers, cross_attention_freq, …)'),
  llm: llm.optional(),
  vision_return_layer: z.number().int().default(-2).describe('Vision encoder block whose tokens the Q-Former reads (official -2)'),
  freeze_vit: z.boolean().default(false),
  freeze_qformer: z.boolean().default(false),
  use_lora: z.boolean().default(true),
  lora_r: z.number().int().positive().default(16),
  lora_alpha: z.number().positive().default(32),
  lora_dropout: z.number().min(0).max(1).default(0.1),
  lora_target_modules: z.array(z.string()).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head']),
  max_txt_len: z.number().int().positive().default(512),
  system: z.string().default(''),
  start_token: z.string().default('<Video>'),
  end_token: z.string().default('</Video>'),
});

const dataset = z.strictObject({
  anno_path: z.string().describe('Annotation file (official formats: retrieval/pre-train JSON, stage-1 list, instruction JSON) or shard pattern'),
  data_root: z.string().default('').describe('Folder the annotation paths are relative to'),
  media_type: z.enum(['video', 'image']).default('video'),
  format: z.enum(['auto', 'ret', 'pt', 'cls', 'mae_list', 'instruction', 'shards']).default('auto'),
});

const data = z.strictObject({
  train: z.array(dataset).min(1),
  num_frames: z.number().int().positive().default(4),
  img_size: z.number().int().positive().optional().describe('Default: the vision encoder’s img_size'),
  sample_type: z.enum(['rand', 'middle', 'sparse']).default('rand'),
  batch_size: z.number().int().positive().default(32),
  max_txt_l: z.number().int().positive().default(32),
  cache_frames: z.boolean().default(true).describe('Decode every clip once and keep the frames in memory'),
});

const criterion = z.strictObject({
  loss_weight: z
    .strictObject({
      vtc: z.number().min(0).default(1),
      vtm: z.number().min(0).default(1),
      mlm: z.number().min(0).default(1),
      uta: z.number().min(0).default(0),
      clip: z.number().min(0).default(1).describe('stage 1: intermediate teacher layers (clip_loss_ratio[0])'),
      clip_final: z.number().min(0).default(1).describe('stage 1: final pooled feature (clip_loss_ratio[1])'),
      mae: z.number().min(0).default(1).describe('stage 1: MAE teacher (mae_loss_ratio)'),
      pixel: z.number().min(0).default(1).describe('stage 1 teacherless: normalised-pixel reconstruction'),
      lm: z.number().min(0).default(1).describe('stage 3: answer-only next-token loss'),
    })
    .prefault({}),
  vtm_hard_neg: z.boolean().default(true),
  mlm_masking_prob: z.number().min(0).max(1).default(0.5),
  mask_type: z.enum(['attention', 'tube', 'random']).default('attention'),
  mask_ratio: z.number().min(0).max(1).default(0.8),
  video_mask_ratio: z.number().min(0).max(1).default(0.8).describe('stage 2 random video masking (only_mask)'),
  norm_pix_loss: z.boolean().default(true),
});

const optimizer = z.strictObject({
  opt: z.enum(['adamW']).default('adamW'),
  lr: z.number().positive(),
  opt_betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.98]),
  opt_eps: z.number().positive().default(1e-8),
  weight_decay: z.number().min(0).default(0.05),
  max_grad_norm: z.number().positive().optional().describe('clip_grad of the stage-1 scripts; none = no clipping'),
  layer_decay: z.number().positive().max(1).optional().describe('Layer-wise lr decay over vision blocks (fine-tuning)'),
  different_lr: z
    .strictObject({ enable: z.boolean().default(false), module_names: z.array(z.string()).default([]), lr: z.number().positive().default(1e-3) })
    .optional(),
  gradient_accumulation_steps: z.number().int().positive().default(1),
});

const scheduler = z.strictObject({
  sched: z.enum(['cosine', 'constant', 'step']).default('cosine'),
  epochs: z.number().positive().default(1),
  warmup_epochs: z.number().min(0).default(0),
  min_lr_multi: z.number().min(0).default(0.01).describe('stage 2 / 3 floor as a fraction of lr (also during warm-up)'),
  min_lr: z.number().min(0).optional().describe('stage 1 absolute floor (warmupCosine); overrides min_lr_multi'),
  max_steps: z.number().int().positive().optional().describe('Stop after this many optimizer steps (overrides epochs)'),
});

const evaluation = z.strictObject({
  every_n_steps: z.number().int().positive().optional(),
  test: z.array(dataset).default([]),
  k_test: z.number().int().positive().default(128),
  tasks: z.array(z.enum(['retrieval', 'zero_shot_cls', 'qa'])).default(['retrieval']),
});

export const TrainConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    stage: z.enum(['stage1', 'stage2', 'stage3']).describe('stage1 = distillation or pixel reconstruction, stage2 = VTC/VTM/MLM, stage3 = VideoChat2'),
    output_dir: z.string().default('runs/iv2'),
    seed: z.number().int().min(0).default(42),
    backend: backend.default('auto'),
    model: model.prefault({}),
    data,
    criterion: criterion.prefault({}),
    optimizer,
    scheduler: scheduler.prefault({}),
    freeze: z.array(z.string()).default([]).describe('Parameter-name prefixes to keep frozen (official keys, e.g. vision_encoder.blocks.0.)'),
    evaluation: evaluation.prefault({}),
    log_freq: z.number().int().positive().default(10),
    save_ckpt_freq: z.number().int().positive().default(500).describe('Steps between checkpoints'),
    keep_last: z.number().int().positive().default(3),
  })
  .superRefine((c, ctx) => {
    if (c.stage === 'stage1' && !c.model.teacher) {
      ctx.addIssue({ code: 'custom', path: ['model', 'teacher'], message: 'stage1 needs a teacher (kind: encoder | features | pixels)' });
    }
    if (c.stage === 'stage2' && !c.model.text_encoder) {
      ctx.addIssue({ code: 'custom', path: ['model', 'text_encoder'], message: 'stage2 needs a text_encoder (name: bert_base | bert_large | bert_tiny)' });
    }
    if (c.stage === 'stage3' && !c.model.llm) {
      ctx.addIssue({ code: 'custom', path: ['model', 'llm'], message: 'stage3 needs an llm (model_path or config)' });
    }
  });

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** The JSON Schema editors use (`$schema` in a YAML/JSON config); written to configs/train.schema.json. */
export function trainConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(TrainConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}

import { lambdaCosine, layerDecayScale, type Schedule, warmupCosine } from '@iv2/core';
import { z } from 'zod';
import { ObjectiveConfigError } from '../errors.js';

/**
 * Stage-1 / distillation optimisation under the argparse names of `run_pretraining.py` / `run_distill.py`
 * (training.md §1.6–1.7). `lr` and `min_lr` are per 256 clips and scale linearly with the global batch; warm-up
 * starts from 0 (the scaled `warmup_lr` never reaches the scheduler); per-iteration cosine.
 */
export const Stage1OptimSchema = z.object({
  lr: z.number().positive().default(1.5e-4),
  min_lr: z.number().min(0).default(1e-5),
  warmup_epochs: z.number().min(0).default(40),
  epochs: z.number().positive().default(301),
  weight_decay: z.number().min(0).default(0.05),
  opt_betas: z.tuple([z.number(), z.number()]).default([0.9, 0.98]),
  opt_eps: z.number().positive().default(1e-6),
  clip_grad: z.number().min(0).default(3.0),
  /** Per device; the global batch is `batch_size × num_devices`. */
  batch_size: z.number().int().positive().default(32),
  num_devices: z.number().int().positive().default(128),
  /** Fine-tuning only (1 = none). */
  layer_decay: z.number().positive().max(1).default(1),
});

/**
 * Stage-2 optimisation under the names of `scripts/pretraining/stage2/{1B,6B}/config.py` (training.md §2.4): absolute lr
 * (no batch scaling), LambdaLR cosine with `min_lr_multi` as a floor that also bounds the warm-up.
 */
export const Stage2OptimSchema = z.object({
  optimizer: z
    .object({
      opt: z.literal('adamW').default('adamW'),
      lr: z.number().positive().default(5e-5),
      opt_betas: z.tuple([z.number(), z.number()]).default([0.9, 0.98]),
      weight_decay: z.number().min(0).default(0.05),
      max_grad_norm: z.number().default(3.0),
    })
    .prefault({}),
  scheduler: z
    .object({
      sched: z.literal('cosine').default('cosine'),
      epochs: z.number().positive().default(10),
      min_lr_multi: z.number().min(0).default(0.01),
      warmup_epochs: z.number().min(0).default(1),
    })
    .prefault({}),
  batch_size: z.number().int().positive().default(64),
});

export type Stage1Optim = z.output<typeof Stage1OptimSchema>;
export type Stage2Optim = z.output<typeof Stage2OptimSchema>;

/** The released settings by script name (training.md §1.6, §1.7, §2.4; VideoChat2's `config_7b_stage3.py`). */
export const OPTIM_PRESETS = {
  '1B_pt': { stage: 1, optim: { batch_size: 32, num_devices: 128 } },
  '6B_pt': { stage: 1, optim: { batch_size: 8, num_devices: 256 } },
  'B14_dist_1B_stage2': { stage: 1, optim: { lr: 1e-3, min_lr: 1e-5, warmup_epochs: 20, epochs: 101, clip_grad: 5.0, batch_size: 128, num_devices: 32 } },
  'S14_dist_1B_stage2': { stage: 1, optim: { lr: 1e-3, min_lr: 1e-5, warmup_epochs: 20, epochs: 101, clip_grad: 5.0, batch_size: 128, num_devices: 32 } },
  'L14_dist_1B_stage2': { stage: 1, optim: { lr: 1e-3, min_lr: 1e-5, warmup_epochs: 20, epochs: 101, clip_grad: 5.0, batch_size: 64, num_devices: 32 } },
  'stage2_1B': { stage: 2, optim: { scheduler: { epochs: 10, warmup_epochs: 1 } } },
  'stage2_6B': { stage: 2, optim: { scheduler: { epochs: 5, warmup_epochs: 1 } } },
  'stage2_6B_retrieval_ft': { stage: 2, optim: { optimizer: { lr: 5e-6 }, scheduler: { epochs: 5, warmup_epochs: 1 }, batch_size: 8 } },
  'videochat2_stage3': {
    stage: 3,
    optim: { optimizer: { lr: 2e-5, opt_betas: [0.9, 0.999], weight_decay: 0.02, max_grad_norm: -1 }, scheduler: { epochs: 3, warmup_epochs: 0.6, min_lr_multi: 0.25 }, batch_size: 4 },
  },
} as const;

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ObjectiveConfigError(i.path.join('.') || '(root)', i.message);
  }
  return r.data as z.output<S>;
}

export interface TrainerSettings {
  schedule: Schedule;
  clipGrad?: number;
  adamw: { lr: number; betas: [number, number]; eps: number; weightDecay: number; layerScale?: (name: string) => number };
  totalSteps: number;
}

/** Trainer settings of a stage-1 recipe: linear lr scaling by the global batch, warm-up from 0, cosine to `min_lr`. */
export function stage1Trainer(input: z.input<typeof Stage1OptimSchema>, stepsPerEpoch: number, depth?: number): TrainerSettings {
  const o = parse(Stage1OptimSchema, input);
  const scale = (o.batch_size * o.num_devices) / 256;
  const base = o.lr * scale;
  const totalSteps = Math.round(o.epochs * stepsPerEpoch);
  return {
    schedule: warmupCosine({ base, final: o.min_lr * scale, totalSteps, warmupSteps: Math.round(o.warmup_epochs * stepsPerEpoch), warmupStart: 0 }),
    clipGrad: o.clip_grad > 0 ? o.clip_grad : undefined,
    adamw: { lr: base, betas: o.opt_betas, eps: o.opt_eps, weightDecay: o.weight_decay, layerScale: o.layer_decay < 1 && depth ? layerDecayScale(depth, o.layer_decay) : undefined },
    totalSteps,
  };
}

/** Trainer settings of a stage-2 (or VideoChat2) recipe: absolute lr, LambdaLR cosine with the `min_lr_multi` floor. */
export function stage2Trainer(input: z.input<typeof Stage2OptimSchema>, stepsPerEpoch: number): TrainerSettings {
  const o = parse(Stage2OptimSchema, input);
  const totalSteps = Math.round(o.scheduler.epochs * stepsPerEpoch);
  return {
    schedule: lambdaCosine({ base: o.optimizer.lr, totalSteps, warmupSteps: Math.round(o.scheduler.warmup_epochs * stepsPerEpoch), minLrMulti: o.scheduler.min_lr_multi }),
    clipGrad: o.optimizer.max_grad_norm > 0 ? o.optimizer.max_grad_norm : undefined,
    adamw: { lr: o.optimizer.lr, betas: o.optimizer.opt_betas, eps: 1e-8, weightDecay: o.optimizer.weight_decay },
    totalSteps,
  };
}

/** Trainer settings of a released preset (see {@link OPTIM_PRESETS}), with overrides. */
export function presetTrainer(name: keyof typeof OPTIM_PRESETS, stepsPerEpoch: number, overrides: Record<string, unknown> = {}): TrainerSettings {
  const p = OPTIM_PRESETS[name];
  if (!p) throw new ObjectiveConfigError('preset', `unknown '${String(name)}'; known: ${Object.keys(OPTIM_PRESETS).join(', ')}`);
  const merged = deepMerge(p.optim as Record<string, unknown>, overrides);
  return p.stage === 1 ? stage1Trainer(merged, stepsPerEpoch) : stage2Trainer(merged, stepsPerEpoch);
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? deepMerge(a[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

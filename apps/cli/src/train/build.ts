import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { layerDecayScale, lambdaCosine, constant, stepDecay, type Schedule, warmupCosine } from '@iv2/core';
import { getPreset, InternVideo2, parseConfig, VideoEncoder } from '@iv2/encoder';
import { BERT_ARCHITECTURES, BertTokenizer, InternVideo2Stage2Text, trainBertTokenizer } from '@iv2/llm-bridge';
import type { TrainConfig } from '../config/schema.js';

/** Text towers by the official `configs/model.py` names, plus a laptop-sized one. */
export const TEXT_ENCODERS: Record<string, Record<string, unknown>> = {
  bert_base: BERT_ARCHITECTURES.bert_base as Record<string, unknown>,
  bert_large: BERT_ARCHITECTURES.bert_large as Record<string, unknown>,
  // initializer_range 0.2: at BERT's 0.02 a tower this small, trained from scratch, starts with identical [CLS] states.
  bert_tiny: { hidden_size: 64, num_hidden_layers: 3, num_attention_heads: 4, intermediate_size: 128, fusion_layer: 2, max_position_embeddings: 64, initializer_range: 0.2 },
};

/** A stage that `iv2 train` cannot run (yet), or data it cannot read: names the field. */
export class TrainSetupError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'TrainSetupError';
  }
}

/** The vision encoder of a config: preset + official arguments, from a checkpoint when `pretrained` is set. */
export async function buildVision(c: TrainConfig, extra: Record<string, unknown> = {}, seed = c.seed): Promise<InternVideo2> {
  const { preset, pretrained, ...args } = c.model.vision_encoder;
  const config = { ...args, ...extra };
  if (pretrained) {
    const enc = await VideoEncoder.fromPretrained(pretrained, { preset, config, allowMissing: true, seed });
    return enc.model.train();
  }
  const base = preset ? getPreset(preset).config : {};
  return new InternVideo2(parseConfig({ ...base, ...config }), undefined).train();
}

/** The WordPiece tokenizer: a vocab.txt / tokenizer.json, or one built from the training captions. */
export async function buildTokenizer(c: TrainConfig, captions: string[]): Promise<BertTokenizer> {
  const t = c.model.text_encoder!;
  if (!t.vocab || t.vocab === 'build') return trainBertTokenizer(captions, { vocabSize: t.vocab_size, minFrequency: 1 });
  if (!existsSync(t.vocab)) throw new TrainSetupError('model.text_encoder.vocab', `${t.vocab} does not exist`);
  return BertTokenizer.fromFile(t.vocab);
}

/** The stage-2 text side (BERT with late fusion + heads) sized for the vision encoder and the vocabulary. */
export async function buildText(c: TrainConfig, vision: InternVideo2, vocabSize: number): Promise<InternVideo2Stage2Text> {
  const t = c.model.text_encoder!;
  const bert = { ...TEXT_ENCODERS[t.name], ...t.config, vocab_size: vocabSize, encoder_width: vision.config.embed_dim, ...(t.fusion_layer !== undefined ? { fusion_layer: t.fusion_layer } : {}) };
  const config = { bert, embed_dim: c.model.embed_dim, vision_width: vision.config.clip_embed_dim, temp: c.model.temp };
  if (t.pretrained) return InternVideo2Stage2Text.fromPretrained(t.pretrained, { config, allowMissing: true, seed: c.seed });
  return InternVideo2Stage2Text.create({ config, seed: c.seed + 2 });
}

/** The official schedules: stage 1 warm-up from 0 then cosine to `min_lr`; stages 2–3 LambdaLR with `min_lr_multi`. */
export function buildSchedule(c: TrainConfig, totalSteps: number, stepsPerEpoch: number): Schedule {
  const s = c.scheduler;
  const lr = c.optimizer.lr;
  const warmup = Math.round(s.warmup_epochs * stepsPerEpoch);
  if (s.sched === 'constant') return constant(lr);
  if (s.sched === 'step') return stepDecay(lr, Math.max(1, stepsPerEpoch), 0.1);
  if (c.stage === 'stage1' || s.min_lr !== undefined) {
    return warmupCosine({ base: lr, final: s.min_lr ?? lr * s.min_lr_multi, totalSteps, warmupSteps: warmup });
  }
  return lambdaCosine({ base: lr, totalSteps, warmupSteps: warmup, minLrMulti: s.min_lr_multi });
}

/** Layer-wise lr decay over the vision blocks (official fine-tuning), for keys under `prefix`. */
export function buildLayerScale(c: TrainConfig, vision: InternVideo2, prefix: string): ((name: string) => number) | undefined {
  const d = c.optimizer.layer_decay;
  const diff = c.optimizer.different_lr;
  if (d === undefined && !diff?.enable) return undefined;
  const f = d !== undefined ? layerDecayScale(vision.config.depth, d) : () => 1;
  return (name) => {
    if (diff?.enable && diff.module_names.some((m) => name.startsWith(m))) return diff.lr / c.optimizer.lr;
    return name.startsWith(prefix) ? f(name.slice(prefix.length)) : 1;
  };
}

/** Writes the resolved config next to the run, so `iv2 eval RUN` rebuilds the same models. */
export function writeRunConfig(c: TrainConfig, tokenizer?: BertTokenizer): void {
  mkdirSync(c.output_dir, { recursive: true });
  writeFileSync(join(c.output_dir, 'config.json'), `${JSON.stringify(c, null, 1)}\n`);
  if (tokenizer) writeFileSync(join(c.output_dir, 'vocab.txt'), `${tokenizer.vocabulary().join('\n')}\n`);
}

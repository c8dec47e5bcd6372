import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCheckpoint } from '../train/checkpoints.js';

export type ExportStage = 'stage1' | 'stage2' | 'stage3';

/** Heads that only stage-1 training uses (the teacherless pixel decoder too) (dropped by `--drop-heads`, as the CLIP/S/B/L loaders drop them). */
export const STAGE1_TRAINING_ONLY = /^(vision_encoder\.)?(clip_decoder\.|final_clip_decoder\.|mae_decoder\.|pixel_decoder\.|clip_pos_embed$|clip_img_pos_embed$|mae_pos_embed$)/;

/** Which stage's layout a key set is in: VideoChat2 (qformer / LLM keys), stage 2 (text_encoder.), else stage 1. */
export function detectStage(keys: string[]): ExportStage {
  if (keys.some((k) => /^(qformer\.|query_tokens$|mistral_model\.|llama_model\.|lm\.|llm\.)/.test(k))) return 'stage3';
  if (keys.some((k) => k.startsWith('text_encoder.'))) return 'stage2';
  return 'stage1';
}

/** A model file from a run folder, a checkpoint folder, or a file path. */
export function modelFileOf(input: string): string {
  if (existsSync(input) && statSync(input).isFile()) return input;
  const c = resolveCheckpoint(input);
  if (c) return join(c.dir, 'model.safetensors');
  throw new Error(`${input}: not a checkpoint file, a checkpoint folder or a run folder with checkpoints`);
}

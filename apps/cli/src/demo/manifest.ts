import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InternVideo2ConfigInput } from '@iv2/encoder';
import type { BertTokenizer } from '@iv2/llm-bridge';
// The manifest format the playground reads (bundled into this CLI by tsup).
import type { VisionSizes } from '../../../playground/src/lib/demo_config.js';
import { MANIFEST_FILE, stage2Manifest } from '../../../playground/src/lib/manifest.js';
import { CheckpointManager } from '../train/checkpoints.js';
import type { Stage2Sizes } from './stage2.js';

/**
 * Writes `stage2_manifest.json` (both towers' sizes and the WordPiece vocabulary) beside the newest stage-2
 * checkpoint under `stageDir` (`<stageDir>/checkpoints/step-…/model.safetensors`), so that the playground and any
 * other reader rebuild the model from the checkpoint alone. Returns the manifest's path.
 */
export function writeStage2Manifest(stageDir: string, o: { vision: InternVideo2ConfigInput; text: Stage2Sizes; tokenizer: BertTokenizer; run?: Record<string, unknown> }): string {
  const latest = new CheckpointManager(join(stageDir, 'checkpoints')).latest();
  if (!latest) throw new Error(`${stageDir}: no complete checkpoint to write a manifest beside`);
  // Only the stage-2 model's own arguments: stage-1 heads (clip_*) are not in a stage-2 checkpoint.
  const { clip_return_layer: _r, clip_student_decoder: _d, clip_teacher_embed_dim: _e, clip_teacher_final_dim: _f, ...vision } = o.vision as Record<string, unknown>;
  const m = stage2Manifest({ vision: vision as VisionSizes, text: o.text }, o.tokenizer, { run: { step: latest.step, ...o.run } });
  const path = join(latest.dir, MANIFEST_FILE);
  writeFileSync(path, `${JSON.stringify(m, null, 1)}\n`);
  return path;
}

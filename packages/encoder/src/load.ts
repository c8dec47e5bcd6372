import { type HostTensor, type LoadReport, loadStateDict, type TensorSource } from '@iv2/core';
import { gridOf, type InternVideo2Config } from './config.js';
import type { InternVideo2 } from './internvideo2/internvideo2.js';
import { interpolatePosEmbed } from './internvideo2/pos_embed.js';

/** The checkpoint lacks weights the model needs, or has them in another shape. */
export class CheckpointMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly missing: string[],
    readonly mismatched: Array<{ key: string; expected: number[]; got: number[] }>,
  ) {
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.length} key(s): ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', …' : ''}`);
    if (mismatched.length) parts.push(`shape mismatch: ${mismatched.map((m) => `${m.key} [${m.got}] vs model [${m.expected}]`).join(', ')}`);
    super(`${file}: checkpoint does not fit the model: ${parts.join('; ')}`);
    this.name = 'CheckpointMismatchError';
  }
}

/** The checkpoint's frame count cannot be read off its shapes. */
export class AmbiguousFramesError extends Error {
  constructor(readonly file: string, readonly rows: number, readonly candidates: number[]) {
    super(
      `${file}: pos_embed has ${rows} patch rows, which fits ${candidates.length ? `${candidates.join(' or ')} frames` : 'no square grid'}: pass checkpointNumFrames`,
    );
    this.name = 'AmbiguousFramesError';
  }
}

const PREFIXES = ['', 'vision_encoder.', 'module.vision_encoder.', 'backbone.', 'encoder.', 'module.', 'model.'];

/** Where the vision keys live in a checkpoint: the first prefix under which `patch_embed.proj.weight` exists. */
export function detectPrefix(src: TensorSource): string | null {
  for (const p of PREFIXES) if (src.has(`${p}patch_embed.proj.weight`)) return p;
  return null;
}

/** Frames of a stored position table, from its patch rows and the model's grid when unambiguous. */
export function inferCheckpointFrames(patchRows: number, modelSide: number, file: string): number {
  if (patchRows % (modelSide * modelSide) === 0) return patchRows / (modelSide * modelSide);
  const candidates: number[] = [];
  for (let t = 1; t <= patchRows; t++) {
    if (patchRows % t) continue;
    const s = Math.round(Math.sqrt(patchRows / t));
    if (s * s * t === patchRows) candidates.push(t);
  }
  if (candidates.length === 1) return candidates[0];
  throw new AmbiguousFramesError(file, patchRows, candidates);
}

export interface LoadWeightsOptions {
  file: string;
  prefix?: string;
  checkpointNumFrames?: number;
  /** Accept missing keys (they keep their initial values); default false. */
  allowMissing?: boolean;
}

export interface WeightsReport extends LoadReport {
  /** Checkpoint keys not used by this model (other towers, heads the model lacks). */
  unused: string[];
  prefix: string;
  resized: Array<{ key: string; from: number[]; to: number[] }>;
}

/**
 * Loads official weights into `model`: finds the vision prefix, resizes position tables to the model's frames and
 * resolution as `interpolate_pos_embed_internvideo2` does, and reports unused, missing and mismatched keys.
 */
export async function loadWeights(model: InternVideo2, src: TensorSource, o: LoadWeightsOptions): Promise<WeightsReport> {
  const cfg: InternVideo2Config = model.config;
  const prefix = o.prefix ?? detectPrefix(src);
  if (prefix === null) {
    throw new CheckpointMismatchError(o.file, ['patch_embed.proj.weight'], []);
  }
  const g = gridOf(cfg);
  let ckptFrames = o.checkpointNumFrames;
  const resized: WeightsReport['resized'] = [];
  const transform = (key: string, t: HostTensor, expected: number[]): HostTensor => {
    if (!/pos_embed$/.test(key) || t.shape.join() === expected.join()) return t;
    const extra = key === 'mae_pos_embed' ? 0 : 1;
    const patchRows = t.shape[1] - extra;
    const image = key === 'img_pos_embed' || key === 'clip_img_pos_embed';
    const from = image ? 1 : (ckptFrames ??= inferCheckpointFrames(patchRows, g.h, o.file));
    const out = interpolatePosEmbed(t, { fromFrames: from, toFrames: image ? 1 : g.t, toSide: g.h, extraTokens: extra });
    resized.push({ key, from: t.shape, to: out.shape });
    return out;
  };
  const unused: string[] = [];
  const report = await loadStateDict(model, src, {
    strict: false,
    prefix,
    transform,
    sourceName: o.file,
  });
  for (const k of report.unexpected) unused.push(k);
  if ((!o.allowMissing && report.missing.length) || report.mismatched.length) {
    throw new CheckpointMismatchError(o.file, o.allowMissing ? [] : report.missing, report.mismatched);
  }
  return { ...report, unused, prefix, resized };
}

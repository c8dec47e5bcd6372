import { EncoderConfigError, parseConfig } from '@iv2/encoder';
import { BertTokenizer } from '@iv2/llm-bridge';
import type { Stage2Arch, TextSizes, VisionSizes } from './demo_config.js';

/**
 * What a stage-2 checkpoint needs beside it to be rebuilt anywhere: both towers' sizes and the tokenizer (the
 * demo's WordPiece vocabulary is learned from its own captions, so it travels with the weights). `iv2 demo` and
 * `iv2 page-train` write it next to `model.safetensors`; the page reads it before the weights.
 */
export interface Stage2Manifest {
  format: 'iv2-stage2';
  version: 1;
  /** The weights, relative to the manifest (`model.safetensors`). */
  checkpoint: string;
  vision: VisionSizes;
  text: TextSizes;
  tokenizer: { type: 'wordpiece'; do_lower_case: boolean; vocab: string[] };
  /** Optional facts about the run that wrote it (step, seed, the data it saw). */
  run?: Record<string, unknown>;
}

export const MANIFEST_FILE = 'stage2_manifest.json';

/** A manifest that cannot be used: names the file and the field. */
export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}: ${field}: ${reason}`);
    this.name = 'ManifestError';
  }
}

const VISION_REQUIRED = ['img_size', 'patch_size', 'embed_dim', 'depth', 'num_heads', 'attn_pool_num_heads', 'clip_embed_dim', 'num_frames'] as const;
const TEXT_REQUIRED = ['hidden', 'layers', 'fusionLayer', 'heads', 'intermediate', 'embedDim', 'maxTxtL'] as const;
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** The manifest of a model with these sizes and this tokenizer. */
export function stage2Manifest(arch: Stage2Arch, tokenizer: BertTokenizer, o: { checkpoint?: string; run?: Record<string, unknown>; doLowerCase?: boolean } = {}): Stage2Manifest {
  const vision = Object.fromEntries(Object.entries(arch.vision).filter(([, v]) => v !== undefined)) as VisionSizes;
  const text = Object.fromEntries(Object.entries(arch.text).filter(([k, v]) => v !== undefined && k !== 'initializerRange')) as unknown as TextSizes;
  return {
    format: 'iv2-stage2', version: 1, checkpoint: o.checkpoint ?? 'model.safetensors', vision, text,
    tokenizer: { type: 'wordpiece', do_lower_case: o.doLowerCase ?? true, vocab: tokenizer.vocabulary() },
    ...(o.run ? { run: o.run } : {}),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;

/**
 * Checks both towers' sizes (`vision` as the official constructor arguments, `text` as {@link TextSizes}); `fail`
 * makes the error for a field (`vision.patch_size`, `text.layers`, …).
 */
export function checkArch(v: unknown, t: unknown, fail: (field: string, reason: string) => Error, at = ''): asserts v is VisionSizes {
  if (!isObj(v)) throw fail(`${at}vision`, 'expected the vision tower\'s constructor arguments');
  for (const k of VISION_REQUIRED) if (!posInt(v[k])) throw fail(`${at}vision.${k}`, `expected a positive integer, got ${JSON.stringify(v[k])}`);
  try {
    parseConfig(v);
  } catch (e) {
    if (e instanceof EncoderConfigError) throw fail(`${at}vision.${e.field}`, e.reason);
    throw e;
  }
  if (!isObj(t)) throw fail(`${at}text`, 'expected the text tower\'s sizes');
  for (const k of TEXT_REQUIRED) if (!posInt(t[k])) throw fail(`${at}text.${k}`, `expected a positive integer, got ${JSON.stringify(t[k])}`);
  if ((t.fusionLayer as number) > (t.layers as number)) throw fail(`${at}text.fusionLayer`, `${t.fusionLayer} exceeds text.layers ${t.layers}`);
  if ((t.hidden as number) % (t.heads as number)) throw fail(`${at}text.heads`, `hidden ${t.hidden} is not divisible by ${t.heads} heads`);
  if (t.initializerRange !== undefined && !(typeof t.initializerRange === 'number' && t.initializerRange > 0)) throw fail(`${at}text.initializerRange`, 'expected a positive number');
}

/** Checks a manifest (parsed JSON or its text); every problem is a {@link ManifestError} naming `file` and the field. */
export function parseStage2Manifest(input: unknown, file = MANIFEST_FILE): Stage2Manifest {
  let j = input;
  if (typeof j === 'string') {
    try {
      j = JSON.parse(j);
    } catch (e) {
      throw new ManifestError(file, '(root)', `not JSON (${(e as Error).message})`);
    }
  }
  if (!isObj(j)) throw new ManifestError(file, '(root)', 'not a JSON object');
  if (j.format !== 'iv2-stage2') throw new ManifestError(file, 'format', `expected "iv2-stage2", got ${JSON.stringify(j.format)}`);
  if (j.version !== 1) throw new ManifestError(file, 'version', `expected 1, got ${JSON.stringify(j.version)}`);
  if (typeof j.checkpoint !== 'string' || !j.checkpoint) throw new ManifestError(file, 'checkpoint', 'expected the weights file name');
  checkArch(j.vision, j.text, (field, reason) => new ManifestError(file, field, reason));
  const tk = j.tokenizer;
  if (!isObj(tk)) throw new ManifestError(file, 'tokenizer', 'expected { type, do_lower_case, vocab }');
  if (tk.type !== 'wordpiece') throw new ManifestError(file, 'tokenizer.type', `expected "wordpiece", got ${JSON.stringify(tk.type)}`);
  if (typeof tk.do_lower_case !== 'boolean') throw new ManifestError(file, 'tokenizer.do_lower_case', 'expected true or false');
  if (!Array.isArray(tk.vocab) || !tk.vocab.every((x) => typeof x === 'string')) throw new ManifestError(file, 'tokenizer.vocab', 'expected the tokens in id order');
  const missing = SPECIAL.filter((s) => !(tk.vocab as string[]).includes(s));
  if (missing.length) throw new ManifestError(file, 'tokenizer.vocab', `lacks ${missing.join(', ')}`);
  if (new Set(tk.vocab).size !== tk.vocab.length) throw new ManifestError(file, 'tokenizer.vocab', 'has repeated tokens');
  return j as unknown as Stage2Manifest;
}

export function manifestArch(m: Stage2Manifest): Stage2Arch {
  return { vision: m.vision, text: m.text };
}

export function manifestTokenizer(m: Stage2Manifest, file = MANIFEST_FILE): BertTokenizer {
  return BertTokenizer.fromVocab(m.tokenizer.vocab, { doLowerCase: m.tokenizer.do_lower_case, source: `${file} (tokenizer.vocab)` });
}

/** A one-line summary of the sizes (for the page's model line and error messages). */
export function describeArch(a: Stage2Arch): string {
  const v = a.vision;
  return `vision ${v.depth}×${v.embed_dim} (${v.num_frames} frames at ${v.img_size}², patch ${v.patch_size}, tubelet ${v.tubelet_size ?? 1}), text ${a.text.layers}×${a.text.hidden}`;
}

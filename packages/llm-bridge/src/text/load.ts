import { type CheckpointInput, type LoadReport, loadStateDict, type Module, openCheckpoint, type TensorSource } from '@iv2/core';
import type { BertConfig } from './config.js';
import { TextCheckpointMismatchError, TextWeightsNotFoundError } from './errors.js';

/** What loading did, with the checkpoint's own key names in `unused`. */
export interface TextLoadReport extends LoadReport {
  /** Checkpoint keys this model does not use (the vision tower, other heads, optimizer state). */
  unused: string[];
  /** Where the model's keys were found (`text_encoder.`, `''`, …). */
  prefix: string;
}

export type PretrainedSource = CheckpointInput | TensorSource;

function isTensorSource(s: PretrainedSource): s is TensorSource {
  return typeof (s as TensorSource).keys === 'function' && typeof (s as TensorSource).info === 'function';
}

/** Opens a checkpoint (path, URL, bytes, Blob) or takes an open `TensorSource`; `close` only closes what it opened. */
export async function openSource(source: PretrainedSource): Promise<{ src: TensorSource; file: string; close(): Promise<void> }> {
  if (isTensorSource(source)) return { src: source, file: '<tensor source>', close: async () => {} };
  const src = await openCheckpoint(source as CheckpointInput);
  const file = typeof source === 'string' ? source : source instanceof URL ? source.href : '<checkpoint>';
  return { src, file, close: () => src.close() };
}

/** The first prefix under which `probe` exists (data-parallel `module.` / `model.` wrappers tried too). */
export function findPrefix(src: TensorSource, probe: string, prefixes: string[], file: string): string {
  for (const wrap of ['', 'module.', 'model.']) {
    for (const p of prefixes) if (src.has(`${wrap}${p}${probe}`)) return `${wrap}${p}`;
  }
  throw new TextWeightsNotFoundError(file, probe, prefixes);
}

/** Shape of `key` as stored, or undefined. */
export function storedShape(src: TensorSource, key: string): number[] | undefined {
  return src.has(key) ? src.info(key).shape : undefined;
}

/**
 * Loads the keys under `prefix` into `module`. Keys the official loaders also tolerate missing (`optional`: the
 * `position_ids` buffer, tied aliases that a deduplicating export drops) are not reported missing; anything else
 * missing or of another shape throws {@link TextCheckpointMismatchError}.
 */
export async function loadTextWeights(
  module: Module,
  src: TensorSource,
  o: { file: string; prefix: string; optional?: (key: string) => boolean; ignore?: (key: string) => boolean; allowMissing?: boolean },
): Promise<TextLoadReport> {
  // loadStateDict strips a data-parallel wrapper that every key carries before it looks for the prefix.
  const keys = src.keys();
  let prefix = o.prefix;
  for (const w of ['module.', '_orig_mod.']) {
    if (prefix.startsWith(w) && keys.length && keys.every((k) => k.startsWith(w))) prefix = prefix.slice(w.length);
  }
  const report = await loadStateDict(module, src, {
    strict: false,
    prefix,
    rename: o.ignore ? (k) => (o.ignore!(k) ? null : k) : undefined,
    sourceName: o.file,
  });
  const missing = report.missing.filter((k) => !o.optional?.(k));
  if ((!o.allowMissing && missing.length) || report.mismatched.length) {
    throw new TextCheckpointMismatchError(o.file, o.allowMissing ? [] : missing.map((k) => o.prefix + k), report.mismatched);
  }
  return { ...report, missing: report.missing, unused: report.unexpected, prefix: o.prefix };
}

/** BERT sizes read off a checkpoint's shapes (`prefix` = where `embeddings.` lives). Heads: hidden / 64. */
export function inferBertConfig(src: TensorSource, prefix: string): Partial<BertConfig> {
  const shape = (k: string) => storedShape(src, prefix + k);
  const word = shape('embeddings.word_embeddings.weight');
  if (!word) return {};
  const out: Partial<BertConfig> = { vocab_size: word[0], hidden_size: word[1], num_attention_heads: Math.max(1, Math.round(word[1] / 64)) };
  const pos = shape('embeddings.position_embeddings.weight');
  if (pos) out.max_position_embeddings = pos[0];
  const types = shape('embeddings.token_type_embeddings.weight');
  if (types) out.type_vocab_size = types[0];
  let layers = 0;
  while (src.has(`${prefix}encoder.layer.${layers}.attention.self.query.weight`)) layers++;
  if (layers) out.num_hidden_layers = layers;
  const inter = shape('encoder.layer.0.intermediate.dense.weight');
  if (inter) out.intermediate_size = inter[0];
  let fusion = layers;
  for (let i = 0; i < layers; i++) {
    const kw = shape(`encoder.layer.${i}.crossattention.self.key.weight`);
    if (kw) {
      fusion = i;
      out.encoder_width = kw[1];
      break;
    }
  }
  if (layers) out.fusion_layer = fusion;
  return out;
}


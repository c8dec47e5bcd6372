import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor, TensorSource } from '../checkpoint/types.js';
import { StateDictMismatchError } from './errors.js';
import { fromTorchLayout, tfjsShapeToTorch } from './layout.js';
import type { Module } from './module.js';

export type StateDictInput = TensorSource | Map<string, HostTensor | tf.Tensor> | Record<string, HostTensor | tf.Tensor>;

export interface LoadStateDictOptions {
  /** Throw {@link StateDictMismatchError} on any missing, unexpected or mismatched key (default true). */
  strict?: boolean;
  /** Source keys start with this (`vision_encoder.`): it is stripped, and keys without it are unexpected. */
  prefix?: string;
  /** Maps a source key (after prefix stripping) to a module key, or `null` to ignore it. */
  rename?: (key: string) => string | null;
  /** Rewrites a tensor before the shape check (e.g. position-table interpolation). */
  transform?: (key: string, t: HostTensor, expectedShape: number[]) => HostTensor | Promise<HostTensor>;
  /** Named in errors. */
  sourceName?: string;
}

export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  mismatched: Array<{ key: string; expected: number[]; got: number[] }>;
}

/** A uniform view over the accepted state-dict containers. */
function asSource(input: StateDictInput): { keys: string[]; get(k: string): Promise<HostTensor> } {
  if (typeof (input as TensorSource).keys === 'function' && typeof (input as TensorSource).get === 'function' && !(input instanceof Map)) {
    const src = input as TensorSource;
    return { keys: src.keys(), get: (k) => src.get(k) };
  }
  const map = input instanceof Map ? input : new Map(Object.entries(input as Record<string, HostTensor | tf.Tensor>));
  return {
    keys: [...map.keys()],
    async get(k) {
      const v = map.get(k)!;
      if (v instanceof tf.Tensor) {
        return { dtype: v.dtype as HostTensor['dtype'], shape: v.shape, data: (await v.data()) as HostTensor['data'] };
      }
      return v;
    },
  };
}

/** Data-parallel wrappers save every key under `module.`: strip it when every key has it. */
function unwrapKey(keys: string[]): (k: string) => string {
  for (const w of ['module.', '_orig_mod.']) {
    if (keys.length && keys.every((k) => k.startsWith(w))) return (k) => k.slice(w.length);
  }
  return (k) => k;
}

/**
 * Copies a PyTorch state dict (official keys and layouts) into `module`. Returns what was loaded, missing,
 * unexpected and shape-mismatched; strict mode throws with all of them listed.
 */
export async function loadStateDict(module: Module, input: StateDictInput, opts: LoadStateDictOptions = {}): Promise<LoadReport> {
  const strict = opts.strict ?? true;
  const src = asSource(input);
  const unwrap = unwrapKey(src.keys);
  const slots = new Map(module.namedParameterInfo().map((p) => [p.name, p]));
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [] };
  const seen = new Set<string>();
  for (const rawKey of src.keys) {
    let key = unwrap(rawKey);
    if (opts.prefix) {
      if (!key.startsWith(opts.prefix)) {
        report.unexpected.push(rawKey);
        continue;
      }
      key = key.slice(opts.prefix.length);
    }
    const renamed = opts.rename ? opts.rename(key) : key;
    if (renamed === null) continue;
    const slot = slots.get(renamed);
    if (!slot) {
      report.unexpected.push(rawKey);
      continue;
    }
    const expected = tfjsShapeToTorch(slot.variable.shape, slot.layout);
    let t = await src.get(rawKey);
    if (opts.transform) t = await opts.transform(renamed, t, expected);
    if (t.shape.join(',') !== expected.join(',')) {
      report.mismatched.push({ key: renamed, expected, got: [...t.shape] });
      continue;
    }
    tf.tidy(() => {
      const host = tf.tensor(t.data, t.shape, t.dtype);
      const v = fromTorchLayout(slot.variable.dtype === host.dtype ? host : tf.cast(host, slot.variable.dtype), slot.layout);
      slot.variable.assign(v);
    });
    seen.add(renamed);
    report.loaded.push(renamed);
  }
  for (const k of slots.keys()) if (!seen.has(k)) report.missing.push(k);
  if (strict && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
    throw new StateDictMismatchError(report.missing, report.unexpected, report.mismatched, opts.sourceName);
  }
  return report;
}

import { CheckpointKeyError } from './errors.js';
import type { TensorSource } from './types.js';

/** Wrappers the official training scripts save around the state dict (`model`, DeepSpeed's `module`, …), in order. */
export const STATE_DICT_WRAPPERS = ['model', 'module', 'state_dict'] as const;

/**
 * A key mapping rule: a literal prefix/substring (`'vision_encoder.'`) or a RegExp, replaced by `to` (RegExp groups
 * `$1` allowed); `to: null` drops the matching keys.
 */
export interface RenameRule {
  from: string | RegExp;
  to: string | null;
}

/** A key mapping: returns the new key, or null to drop the entry. */
export type KeyMap = (key: string) => string | null;

type Dict<T> = Record<string, T> | Map<string, T>;

const entriesOf = <T>(d: Dict<T>): Array<[string, T]> => (d instanceof Map ? [...d.entries()] : Object.entries(d));

/**
 * Finds the state dict inside a loaded checkpoint object: the first wrapper of {@link STATE_DICT_WRAPPERS} whose
 * value is itself a dict, else the object itself.
 */
export function unwrapStateDict<T>(obj: Dict<unknown>): { dict: Dict<T>; wrapper: string | null } {
  for (const w of STATE_DICT_WRAPPERS) {
    const inner = obj instanceof Map ? obj.get(w) : obj[w];
    if (inner instanceof Map || (inner && typeof inner === 'object' && !Array.isArray(inner) && !ArrayBuffer.isView(inner))) {
      return { dict: inner as Dict<T>, wrapper: w };
    }
  }
  return { dict: obj as Dict<T>, wrapper: null };
}

/** Keeps the keys under `prefix`, without it (`vision_encoder.blocks.0…` → `blocks.0…`); others are dropped. */
export function stripPrefix(prefix: string): KeyMap {
  return (k) => (k.startsWith(prefix) ? k.slice(prefix.length) : null);
}

/** Puts `prefix` in front of every key. */
export function addPrefix(prefix: string): KeyMap {
  return (k) => prefix + k;
}

/** Applies the rules in order, each to the result of the previous one; a rule with `to: null` that matches drops the key. */
export function renameByRules(rules: RenameRule[]): KeyMap {
  return (key) => {
    let k = key;
    for (const r of rules) {
      const hit = typeof r.from === 'string' ? k.includes(r.from) : new RegExp(r.from.source, r.from.flags.replace('g', '')).test(k);
      if (!hit) continue;
      if (r.to === null) return null;
      k = typeof r.from === 'string' ? k.replace(r.from, r.to) : k.replace(r.from, r.to);
    }
    return k;
  };
}

/** Composes key maps left to right; a null from any of them drops the key. */
export function chainKeyMaps(...maps: KeyMap[]): KeyMap {
  return (key) => {
    let k: string | null = key;
    for (const m of maps) {
      if (k === null) return null;
      k = m(k);
    }
    return k;
  };
}

/** Builds new → old key pairs; two keys mapped to one name is an error naming both. */
function remap(keys: string[], map: KeyMap, file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const old of keys) {
    const k = map(old);
    if (k === null) continue;
    const prev = out.get(k);
    if (prev !== undefined) throw new CheckpointKeyError(`both '${prev}' and '${old}' are renamed to it`, file, k);
    out.set(k, old);
  }
  return out;
}

/** A plain dict with its keys mapped (a Map in, a Map out; an object in, an object out). */
export function mapKeys<T>(dict: Dict<T>, map: KeyMap): Dict<T> {
  const entries = entriesOf(dict);
  const pairs = remap(entries.map(([k]) => k), map, '<state dict>');
  const byOld = new Map(entries);
  if (dict instanceof Map) return new Map([...pairs].map(([k, old]) => [k, byOld.get(old)!]));
  return Object.fromEntries([...pairs].map(([k, old]) => [k, byOld.get(old)!]));
}

/** A lazy view of a checkpoint under mapped keys: nothing is read until `get`, and `close` closes the source. */
export function mapSourceKeys(source: TensorSource, map: KeyMap, name = '<checkpoint>'): TensorSource {
  const pairs = remap(source.keys(), map, name);
  const old = (k: string) => {
    const o = pairs.get(k);
    if (o === undefined) throw new CheckpointKeyError('no such tensor after renaming', name, k);
    return o;
  };
  return {
    keys: () => [...pairs.keys()],
    has: (k) => pairs.has(k),
    info: (k) => source.info(old(k)),
    get: (k) => source.get(old(k)),
    metadata: source.metadata,
    close: source.close ? () => source.close!() : undefined,
  };
}

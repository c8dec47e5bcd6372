import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type TrainConfig, TrainConfigSchema } from './schema.js';

/** A config that does not validate: `field` is the dotted path, `allowed` what would have been accepted. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly reason: string,
    readonly allowed?: string[],
  ) {
    super(`${file}: ${field || '(root)'}: ${reason}${allowed?.length ? ` (allowed: ${allowed.join(', ')})` : ''}`);
    this.name = 'ConfigError';
  }
}

/** Keys allowed in the object schema at `path`, for "unknown key" messages. */
function keysAt(path: PropertyKey[]): string[] {
  let s: z.ZodType = TrainConfigSchema as unknown as z.ZodType;
  const unwrap = (t: z.ZodType): z.ZodType => {
    let cur = t as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; element?: z.ZodType; schema?: z.ZodType } };
    for (let i = 0; i < 8; i++) {
      const d = cur.def;
      const next = d.innerType ?? d.in ?? d.schema;
      if (['default', 'prefault', 'optional', 'nullable', 'pipe', 'readonly'].includes(d.type) && next) cur = next as never;
      else break;
    }
    return cur as unknown as z.ZodType;
  };
  for (const p of path) {
    s = unwrap(s);
    const d = (s as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType } }).def;
    if (d.type === 'object' && d.shape) s = d.shape[String(p)];
    else if (d.type === 'array' && d.element) s = d.element;
    if (!s) return [];
  }
  const d = (unwrap(s) as unknown as { def: { type: string; shape?: Record<string, unknown> } }).def;
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}

function toError(file: string, issues: z.core.$ZodIssue[]): ConfigError {
  const issue = issues[0];
  const field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    return new ConfigError(file, [field, keys[0]].filter(Boolean).join('.'), `unknown key`, keysAt(issue.path));
  }
  if (issue.code === 'invalid_value') {
    const values = (issue as { values: unknown[] }).values.map((v) => JSON.stringify(v));
    return new ConfigError(file, field, 'not an allowed value', values);
  }
  if (issue.code === 'invalid_union') return new ConfigError(file, field, issue.message);
  return new ConfigError(file, field, issue.message);
}

/** Applies `key.sub=value` overrides (values parsed as YAML scalars: numbers, booleans, lists) to a raw config. */
export function applyOverrides(raw: Record<string, unknown>, sets: string[], file = '--set'): Record<string, unknown> {
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new ConfigError(file, s, 'expected key=value');
    const path = s.slice(0, eq).split('.');
    const value = parseYaml(s.slice(eq + 1));
    let o = raw as Record<string, unknown>;
    for (const k of path.slice(0, -1)) {
      if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
      o = o[k] as Record<string, unknown>;
    }
    o[path[path.length - 1]] = value;
  }
  return raw;
}

export function parseTrainConfig(raw: unknown, file = '<config>'): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) throw toError(file, r.error.issues);
  return r.data;
}

/** Reads a YAML or JSON config file, applies `--set` overrides and validates it. */
export function loadTrainConfig(file: string, sets: string[] = []): TrainConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, '', `cannot read: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null) throw new ConfigError(file, '', 'expected a mapping at the top level');
  return parseTrainConfig(applyOverrides(raw as Record<string, unknown>, sets, file), file);
}

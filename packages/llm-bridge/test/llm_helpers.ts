// Shared by the LLM-side suites: fixture reading and the error measure of the golden checks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { SafetensorsReader, type BackendName } from '@iv2/core';

// Every backend our machines run. tfjs-node ('tensorflow') cannot install here (its install downloads
// libtensorflow), so it is not in the list.
export const BACKENDS: BackendName[] = (process.env.IV2_BACKENDS?.split(',') as BackendName[]) ?? ['cpu', 'wasm', 'webgpu'];

export function readJson(dir: string, file = 'config.json'): Record<string, any> {
  return JSON.parse(readFileSync(join(dir, file), 'utf8'));
}

export async function readIO(dir: string, file = 'io.safetensors'): Promise<Map<string, tf.Tensor>> {
  const r = await SafetensorsReader.open(join(dir, file));
  const out = new Map<string, tf.Tensor>();
  for (const k of r.keys()) {
    const t = await r.get(k);
    out.set(k, tf.tensor(t.data, t.shape, t.dtype));
  }
  await r.close();
  return out;
}

/** max |a − b| / max(1, |b|) elementwise (shapes must agree). */
export async function maxRelErr(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor): Promise<number> {
  const x = a instanceof tf.Tensor ? await a.data() : a;
  if (a instanceof tf.Tensor && a.shape.join() !== b.shape.join()) throw new Error(`shape [${a.shape}] vs [${b.shape}]`);
  const y = await b.data();
  if (x.length !== y.length) throw new Error(`${x.length} values vs ${y.length}`);
  let m = 0;
  for (let i = 0; i < y.length; i++) {
    const e = Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i]));
    m = Number.isNaN(e) ? Infinity : Math.max(m, e);
  }
  return m;
}

export async function rows(t: tf.Tensor): Promise<number[][]> {
  return (await t.array()) as number[][];
}

/**
 * The fixtures' stand-in LLM tokenizer: one id per whitespace-separated word (its index in `vocab`), unknown words
 * → `<unk>`; `<s>` first when special tokens are added.
 */
export class WordTokenizer {
  readonly index: Map<string, number>;
  readonly bosToken = '<s>';
  readonly eosToken = '</s>';
  readonly chatTemplate: string | null = null;
  constructor(
    readonly vocab: string[],
    readonly lower = false,
  ) {
    this.index = new Map(vocab.map((w, i) => [w, i]));
  }
  get bosTokenId() {
    return this.index.get('<s>') ?? null;
  }
  get eosTokenId() {
    return this.index.get('</s>') ?? null;
  }
  get padTokenId() {
    return this.eosTokenId;
  }
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const words = text.split(/\s+/).filter(Boolean).map((w) => (this.lower ? w.toLowerCase() : w));
    const ids = words.map((w) => this.index.get(w) ?? this.index.get('<unk>') ?? 0);
    return (opts.addSpecialTokens ?? true) && this.bosTokenId != null ? [this.bosTokenId, ...ids] : ids;
  }
  decode(ids: number[]): string {
    return ids.map((i) => this.vocab[i]).join(' ');
  }
}

import { join } from 'node:path';
import { Rng } from '@iv2/core';
import { ShardFormatError } from '../errors.js';
import { readTar, TarWriter } from './tar.js';

/** A WebDataset sample: `__key__` plus one byte array per extension (`mp4`, `json`, `txt`, …). */
export interface ShardSample {
  __key__: string;
  [ext: string]: Uint8Array | string;
}

export interface ShardWriterOptions {
  dir: string;
  /** File name pattern with one `%d` (zero-padded to 6): default `shard-%d.tar`. */
  pattern?: string;
  maxCount?: number;
  maxBytes?: number;
}

/** Writes samples into numbered tar shards, starting a new shard at `maxCount` samples or `maxBytes`. */
export class ShardWriter {
  private tar: TarWriter | null = null;
  private count = 0;
  readonly shards: string[] = [];
  constructor(private readonly opts: ShardWriterOptions) {}

  async write(sample: ShardSample): Promise<void> {
    const key = sample.__key__;
    if (!key || key.includes('.')) throw new RangeError(`sample key must be non-empty and dot-free: '${key}'`);
    const maxCount = this.opts.maxCount ?? 1000;
    const maxBytes = this.opts.maxBytes ?? 1 << 30;
    if (this.tar && (this.count >= maxCount || this.tar.bytes >= maxBytes)) await this.finishShard();
    if (!this.tar) {
      const name = (this.opts.pattern ?? 'shard-%d.tar').replace('%d', String(this.shards.length).padStart(6, '0'));
      const path = join(this.opts.dir, name);
      this.tar = await TarWriter.create(path);
      this.shards.push(path);
    }
    for (const [ext, v] of Object.entries(sample)) {
      if (ext === '__key__') continue;
      await this.tar.add(`${key}.${ext}`, typeof v === 'string' ? new TextEncoder().encode(v) : v);
    }
    this.count++;
  }

  private async finishShard(): Promise<void> {
    await this.tar?.close();
    this.tar = null;
    this.count = 0;
  }

  async close(): Promise<string[]> {
    await this.finishShard();
    return this.shards;
  }
}

/** Groups consecutive members by key (the name up to the first dot of the base name), as WebDataset does. */
export async function* readShard(path: string, signal?: AbortSignal): AsyncGenerator<ShardSample> {
  let cur: ShardSample | null = null;
  for await (const m of readTar(path, signal)) {
    const slash = m.name.lastIndexOf('/');
    const dot = m.name.indexOf('.', slash + 1);
    if (dot < 0) throw new ShardFormatError(path, `member ${m.name} has no extension`);
    const key = m.name.slice(0, dot);
    const ext = m.name.slice(dot + 1);
    if (cur && cur.__key__ !== key) {
      yield cur;
      cur = null;
    }
    if (!cur) cur = { __key__: key };
    cur[ext] = m.data;
  }
  if (cur) yield cur;
}

/** Where to resume a shard stream: the epoch, shard position in the epoch's order and samples already taken from it. */
export interface ShardPosition {
  epoch: number;
  shard: number;
  sample: number;
}

/**
 * Streams samples from shards in a seeded order: shards shuffled per epoch, then a bounded shuffle buffer (like
 * WebDataset's `shuffle(n)`), so memory stays at `bufferSize` samples. Each yielded sample carries the position
 * to resume from. Resuming replays the shard order and the buffer, skipping what was already taken.
 */
export async function* streamShards(
  shards: string[],
  opts: { seed?: number; epoch?: number; bufferSize?: number; resume?: ShardPosition; signal?: AbortSignal } = {},
): AsyncGenerator<{ sample: ShardSample; position: ShardPosition }> {
  const epoch = opts.resume?.epoch ?? opts.epoch ?? 0;
  const rng = new Rng(((opts.seed ?? 0) * 0x9e3779b1 + epoch * 0x632be5ab + 3) >>> 0);
  const order = rng.shuffle([...shards]);
  const size = Math.max(1, opts.bufferSize ?? 1);
  // The yielded sequence is a pure function of (seed, epoch): count yields and skip up to the resume point.
  const skip = opts.resume ? opts.resume.sample : 0;
  let yielded = 0;
  const buffer: ShardSample[] = [];
  let s = 0;
  for (; s < order.length; s++) {
    for await (const sample of readShard(order[s], opts.signal)) {
      buffer.push(sample);
      if (buffer.length >= size) {
        const k = rng.int(0, buffer.length);
        const out = buffer[k];
        buffer[k] = buffer[buffer.length - 1];
        buffer.pop();
        yielded++;
        if (yielded > skip) yield { sample: out, position: { epoch, shard: s, sample: yielded } };
      }
    }
  }
  while (buffer.length) {
    const k = rng.int(0, buffer.length);
    const out = buffer[k];
    buffer[k] = buffer[buffer.length - 1];
    buffer.pop();
    yielded++;
    if (yielded > skip) yield { sample: out, position: { epoch, shard: s - 1, sample: yielded } };
  }
}

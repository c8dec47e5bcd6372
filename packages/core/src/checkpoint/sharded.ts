import { CheckpointFormatError, CheckpointKeyError } from './errors.js';
import { SafetensorsReader } from './safetensors.js';
import type { CheckpointDType, HostTensor, TensorSource } from './types.js';

/**
 * A checkpoint split over several safetensors files with a `*.safetensors.index.json` (`weight_map`: key → file).
 * Shards are opened on first use; headers only, as for a single file.
 */
export class ShardedSafetensors implements TensorSource {
  readonly metadata: Record<string, string>;
  private readonly readers = new Map<string, Promise<SafetensorsReader>>();
  private infos = new Map<string, { dtype: CheckpointDType; shape: number[] }>();

  private constructor(
    readonly file: string,
    private readonly weightMap: Map<string, string>,
    private readonly dir: string,
    metadata: Record<string, string>,
  ) {
    this.metadata = metadata;
  }

  static async open(indexPath: string): Promise<ShardedSafetensors> {
    const { readFile } = await import('node:fs/promises');
    const { dirname, join, resolve, sep } = await import('node:path');
    let index: { weight_map?: Record<string, string>; metadata?: Record<string, unknown> };
    try {
      index = JSON.parse(await readFile(indexPath, 'utf8'));
    } catch (e) {
      throw new CheckpointFormatError(`index is not readable JSON: ${(e as Error).message}`, indexPath);
    }
    if (!index.weight_map || typeof index.weight_map !== 'object') throw new CheckpointFormatError('index has no weight_map', indexPath);
    const dir = dirname(indexPath);
    for (const [k, f] of Object.entries(index.weight_map)) {
      // Shards must sit beside the index: a path escaping the folder is refused.
      if (typeof f !== 'string' || !resolve(join(dir, f)).startsWith(resolve(dir) + sep)) {
        throw new CheckpointFormatError(`weight_map entry ${JSON.stringify(f)} is not a file beside the index`, indexPath, k);
      }
    }
    const meta = Object.fromEntries(Object.entries(index.metadata ?? {}).map(([k, v]) => [k, String(v)]));
    const s = new ShardedSafetensors(indexPath, new Map(Object.entries(index.weight_map)), dir, meta);
    // Headers of every shard, so that info() is synchronous and shapes are checked up front.
    for (const shard of new Set(s.weightMap.values())) {
      const r = await s.shard(shard);
      for (const k of r.keys()) if (s.weightMap.get(k) === shard) s.infos.set(k, r.info(k));
    }
    for (const k of s.weightMap.keys()) if (!s.infos.has(k)) throw new CheckpointFormatError(`key listed in weight_map is missing from ${s.weightMap.get(k)}`, indexPath, k);
    return s;
  }

  private shard(name: string): Promise<SafetensorsReader> {
    let r = this.readers.get(name);
    if (!r) {
      r = import('node:path').then(({ join }) => SafetensorsReader.open(join(this.dir, name)));
      this.readers.set(name, r);
    }
    return r;
  }

  keys(): string[] {
    return [...this.weightMap.keys()];
  }

  has(key: string): boolean {
    return this.weightMap.has(key);
  }

  info(key: string): { dtype: CheckpointDType; shape: number[] } {
    const i = this.infos.get(key);
    if (!i) throw new CheckpointKeyError('no such tensor', this.file, key);
    return i;
  }

  async getRaw(key: string) {
    const f = this.weightMap.get(key);
    if (!f) throw new CheckpointKeyError('no such tensor', this.file, key);
    return (await this.shard(f)).getRaw(key);
  }

  async get(key: string): Promise<HostTensor> {
    const f = this.weightMap.get(key);
    if (!f) throw new CheckpointKeyError('no such tensor', this.file, key);
    return (await this.shard(f)).get(key);
  }

  async close(): Promise<void> {
    for (const r of this.readers.values()) await (await r).close();
    this.readers.clear();
  }
}

import { type ByteReader, bytesReader, fileReader } from './byte_reader.js';
import { DTYPE_SIZE, decodeTensor, f32ToBf16, f32ToF16, isCheckpointDType } from './dtypes.js';
import { CheckpointFormatError, CheckpointKeyError } from './errors.js';
import type { CheckpointDType, HostTensor, TensorSource } from './types.js';

interface Entry {
  dtype: CheckpointDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Largest header we accept (the format's own reference implementation uses 100 MB). */
const MAX_HEADER = 100 * 1024 * 1024;

/** A safetensors file read lazily: the header at open, each tensor's bytes on `get`. */
export class SafetensorsReader implements TensorSource {
  private constructor(
    private readonly reader: ByteReader,
    private readonly entries: Map<string, Entry>,
    private readonly dataStart: number,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(source: string | Uint8Array | ByteReader): Promise<SafetensorsReader> {
    const reader =
      typeof source === 'string' ? await fileReader(source) : source instanceof Uint8Array ? bytesReader(source) : source;
    try {
      return await SafetensorsReader.parse(reader);
    } catch (e) {
      await reader.close();
      throw e;
    }
  }

  private static async parse(reader: ByteReader): Promise<SafetensorsReader> {
    const file = reader.name;
    if (reader.size < 8) throw new CheckpointFormatError(`file has ${reader.size} bytes, fewer than the 8-byte header length`, file);
    const lenBytes = await reader.read(0, 8);
    const len = Number(new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true));
    if (len > MAX_HEADER) throw new CheckpointFormatError(`header length ${len} exceeds the ${MAX_HEADER}-byte limit`, file);
    if (8 + len > reader.size) {
      throw new CheckpointFormatError(`header length ${len} runs past the end of the file (${reader.size} bytes)`, file);
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await reader.read(8, len)));
    } catch (e) {
      throw new CheckpointFormatError(`header (bytes 8..${8 + len}) is not valid UTF-8 JSON: ${(e as Error).message}`, file);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) {
      throw new CheckpointFormatError('header is not a JSON object', file);
    }
    const dataStart = 8 + len;
    const dataSize = reader.size - dataStart;
    const entries = new Map<string, Entry>();
    let metadata: Record<string, string> = {};
    for (const [key, raw] of Object.entries(header)) {
      if (key === '__metadata__') {
        metadata = raw as Record<string, string>;
        continue;
      }
      const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof r?.dtype !== 'string' || !isCheckpointDType(r.dtype)) {
        throw new CheckpointFormatError(`unknown dtype ${JSON.stringify(r?.dtype)}`, file, key);
      }
      if (!Array.isArray(r.shape) || !r.shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new CheckpointFormatError(`shape ${JSON.stringify(r.shape)} is not a list of non-negative integers`, file, key);
      }
      const off = r.data_offsets;
      if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isInteger(o) && o >= 0) || off[0] > off[1]) {
        throw new CheckpointFormatError(`data_offsets ${JSON.stringify(off)} are not [begin, end]`, file, key);
      }
      const [begin, end] = off as [number, number];
      if (end > dataSize) {
        throw new CheckpointFormatError(
          `data_offsets [${begin}, ${end}] run past the data section (${dataSize} bytes, from byte ${dataStart})`,
          file,
          key,
        );
      }
      const numel = (r.shape as number[]).reduce((a, b) => a * b, 1);
      const want = numel * DTYPE_SIZE[r.dtype];
      if (end - begin !== want) {
        throw new CheckpointFormatError(
          `${end - begin} bytes stored, but ${r.dtype} ${JSON.stringify(r.shape)} needs ${want}`,
          file,
          key,
        );
      }
      entries.set(key, { dtype: r.dtype, shape: r.shape as number[], begin, end });
    }
    // Tensors must not overlap (the format also forbids holes; we only refuse overlaps).
    const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin);
    for (let i = 1; i < sorted.length; i++) {
      const [pk, p] = sorted[i - 1];
      const [k, e] = sorted[i];
      if (e.begin < p.end && e.end > e.begin && p.end > p.begin) {
        throw new CheckpointFormatError(`bytes [${e.begin}, ${e.end}] overlap those of '${pk}' [${p.begin}, ${p.end}]`, file, k);
      }
    }
    return new SafetensorsReader(reader, entries, dataStart, metadata);
  }

  get file(): string {
    return this.reader.name;
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  info(key: string): { dtype: CheckpointDType; shape: number[] } {
    const e = this.entry(key);
    return { dtype: e.dtype, shape: [...e.shape] };
  }

  /** The stored bytes, unconverted. */
  async getRaw(key: string): Promise<{ dtype: CheckpointDType; shape: number[]; bytes: Uint8Array }> {
    const e = this.entry(key);
    const bytes = await this.reader.read(this.dataStart + e.begin, e.end - e.begin);
    if (bytes.byteLength !== e.end - e.begin) {
      throw new CheckpointFormatError(`file ends inside the tensor's bytes`, this.file, key);
    }
    return { dtype: e.dtype, shape: [...e.shape], bytes };
  }

  async get(key: string): Promise<HostTensor> {
    const raw = await this.getRaw(key);
    return decodeTensor(raw.bytes, raw.dtype, raw.shape, { file: this.file, key });
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  private entry(key: string): Entry {
    const e = this.entries.get(key);
    if (!e) throw new CheckpointKeyError('no such tensor', this.file, key);
    return e;
  }
}

/** A tensor to write: host data in a tfjs dtype and the dtype to store it as, or raw stored bytes. */
export type TensorToWrite =
  | (HostTensor & { storeAs?: CheckpointDType })
  | { dtype: CheckpointDType; shape: number[]; bytes: Uint8Array };

function encode(t: TensorToWrite): { dtype: CheckpointDType; shape: number[]; bytes: Uint8Array } {
  if ('bytes' in t) return t;
  const n = t.shape.reduce((a, b) => a * b, 1);
  const storeAs: CheckpointDType = t.storeAs ?? (t.dtype === 'float32' ? 'F32' : t.dtype === 'int32' ? 'I32' : 'BOOL');
  // Same layout on little-endian hosts (all that run tfjs): copy the bytes as they are.
  if ((storeAs === 'F32' && t.data instanceof Float32Array) || (storeAs === 'I32' && t.data instanceof Int32Array)) {
    return { dtype: storeAs, shape: t.shape, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, n * 4) };
  }
  const bytes = new Uint8Array(n * DTYPE_SIZE[storeAs]);
  const dv = new DataView(bytes.buffer);
  const d = t.data;
  for (let i = 0; i < n; i++) {
    const v = Number(d[i]);
    switch (storeAs) {
      case 'F32': dv.setFloat32(i * 4, v, true); break;
      case 'F64': dv.setFloat64(i * 8, v, true); break;
      case 'F16': dv.setUint16(i * 2, f32ToF16(v), true); break;
      case 'BF16': dv.setUint16(i * 2, f32ToBf16(v), true); break;
      case 'I64': dv.setBigInt64(i * 8, BigInt(v), true); break;
      case 'I32': dv.setInt32(i * 4, v, true); break;
      case 'I16': dv.setInt16(i * 2, v, true); break;
      case 'I8': dv.setInt8(i, v); break;
      case 'U8': dv.setUint8(i, v); break;
      case 'BOOL': dv.setUint8(i, v ? 1 : 0); break;
    }
  }
  return { dtype: storeAs, shape: t.shape, bytes };
}

// The reference implementation lays tensors out by dtype (widest enum first), then by name, lists them in that
// order, puts `__metadata__` last and pads the header with spaces to 8 bytes. Following it gives identical bytes.
const DTYPE_ORDER: CheckpointDType[] = ['I64', 'F64', 'F32', 'I32', 'BF16', 'F16', 'I16', 'I8', 'U8', 'BOOL'];
function layoutOrder<T extends { dtype: CheckpointDType }>(items: Array<[string, T]>): Array<[string, T]> {
  return [...items].sort(
    (a, b) => DTYPE_ORDER.indexOf(a[1].dtype) - DTYPE_ORDER.indexOf(b[1].dtype) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
}

function headerBytes(
  order: Array<[string, { dtype: CheckpointDType; shape: number[] }]>,
  metadata?: Record<string, string>,
): { json: Uint8Array; dataSize: number } {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const [k, { dtype, shape }] of order) {
    const size = shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
    header[k] = { dtype, shape, data_offsets: [off, off + size] };
    off += size;
  }
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - (new TextEncoder().encode(text).byteLength % 8)) % 8);
  return { json: new TextEncoder().encode(text), dataSize: off };
}

/** Serialises tensors to safetensors bytes, laid out as the reference implementation does. */
export function serializeSafetensors(
  tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Uint8Array {
  const map = tensors instanceof Map ? tensors : new Map(Object.entries(tensors));
  const order = layoutOrder([...map.entries()].map(([k, t]) => [k, encode(t)] as [string, ReturnType<typeof encode>]));
  const { json, dataSize: off } = headerBytes(order, metadata);
  const encoded = order.map(([, e]) => e);
  const out = new Uint8Array(8 + json.byteLength + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let p = 8 + json.byteLength;
  for (const e of encoded) {
    out.set(e.bytes, p);
    p += e.bytes.byteLength;
  }
  return out;
}

/**
 * Writes a safetensors file atomically (a temporary file in the same folder, fsync, rename), streaming one
 * tensor at a time: `tensors` may be an async producer so that nothing is held whole.
 */
export async function saveSafetensors(
  path: string,
  entries: Array<[string, { dtype: CheckpointDType; shape: number[] }]>,
  produce: (key: string) => Promise<TensorToWrite> | TensorToWrite,
  metadata?: Record<string, string>,
): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const sorted = layoutOrder(entries);
  const { json } = headerBytes(sorted, metadata);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await fs.open(tmp, 'wx');
  try {
    const len = new Uint8Array(8);
    new DataView(len.buffer).setBigUint64(0, BigInt(json.byteLength), true);
    await fh.write(len);
    await fh.write(json);
    for (const [k, { dtype, shape }] of sorted) {
      const e = encode(await produce(k));
      if (e.dtype !== dtype || e.shape.join() !== shape.join()) {
        throw new CheckpointFormatError(`produced ${e.dtype} ${JSON.stringify(e.shape)}, declared ${dtype} ${JSON.stringify(shape)}`, path, k);
      }
      await fh.write(e.bytes);
    }
    await fh.sync();
    await fh.close();
    await fs.rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

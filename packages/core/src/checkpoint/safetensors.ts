import { writeFileAtomic } from './atomic_file.js';
import { type ByteReader, bytesReader, fileReader } from './byte_reader.js';
import { DTYPE_SIZE, decodeTensor, f32ToBf16, f32ToF16, isCheckpointDType } from './dtypes.js';
import { CheckpointDTypeError, CheckpointFormatError, CheckpointKeyError } from './errors.js';
import { JsonNumber, type JsonValue, parseStrictJson } from './strict_json.js';
import type { CheckpointDType, HostTensor, TensorSource } from './types.js';

interface Entry {
  dtype: CheckpointDType;
  shape: number[];
  begin: number;
  end: number;
}

/** Largest header accepted, as in the reference implementation (`MAX_HEADER_SIZE`, decimal). */
const MAX_HEADER = 100_000_000;
const U64_MAX = (1n << 64n) - 1n;
/** Element types the format defines that have no tfjs counterpart here: valid files, refused by name. */
const FOREIGN_DTYPES = new Set(['U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3']);

/**
 * A safetensors file read lazily: the header at open, each tensor's bytes on `get`. A file is accepted only
 * where the reference implementation (the `safetensors` crate, `Metadata::validate` and `read_metadata`) accepts
 * it: the tensors' byte ranges, ordered by offsets, cover the data section exactly from its first byte to the
 * file's last (no hole, no overlap, nothing after), each range holds exactly shape × dtype bytes, and shape
 * products must not overflow 64 bits. Where JavaScript cannot hold what the file says exactly (a dimension past
 * 2^53, an unsigned or 8-bit float dtype, a key given twice) the file is refused with a typed error rather than
 * read approximately.
 */
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
    const fail = (msg: string, key?: string) => new CheckpointFormatError(msg, file, key);
    if (reader.size < 8) throw fail(`file has ${reader.size} bytes, fewer than the 8-byte header length`);
    const lenBytes = await reader.read(0, 8);
    if (lenBytes.byteLength < 8) throw fail('file ends inside the 8-byte header length');
    const len64 = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8).getBigUint64(0, true);
    if (len64 > BigInt(MAX_HEADER)) throw fail(`header length ${len64} exceeds the ${MAX_HEADER}-byte limit`);
    const len = Number(len64);
    if (8 + len > reader.size) throw fail(`header length ${len} runs past the end of the file (${reader.size} bytes)`);
    let header: JsonValue;
    try {
      // ignoreBOM: a leading U+FEFF is kept, and refused by the JSON grammar as the reference does.
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(await reader.read(8, len));
      header = parseStrictJson(text);
    } catch (e) {
      throw fail(`header (bytes 8..${8 + len}) is not valid UTF-8 JSON: ${(e as Error).message}`);
    }
    if (!(header instanceof Map)) throw fail('header is not a JSON object');
    const dataStart = 8 + len;
    const dataSize = reader.size - dataStart;
    const u64 = (v: JsonValue | undefined, what: string, key: string): bigint => {
      const n = v instanceof JsonNumber ? v.unsignedInteger() : null;
      if (n === null || n > U64_MAX) throw fail(`${what} ${v instanceof JsonNumber ? v.text : JSON.stringify(v)} is not an unsigned 64-bit integer`, key);
      return n;
    };
    const parsed: Array<{ key: string; dtype: string; shape: bigint[]; begin: bigint; end: bigint }> = [];
    let metadata: Record<string, string> = {};
    for (const [key, raw] of header) {
      if (key === '__metadata__') {
        if (raw === null) continue;
        if (!(raw instanceof Map) || [...raw.values()].some((v) => typeof v !== 'string')) {
          throw fail('__metadata__ is not an object of strings');
        }
        metadata = Object.fromEntries(raw as Map<string, string>);
        continue;
      }
      if (!(raw instanceof Map)) throw fail('tensor entry is not an object', key);
      const dtype = raw.get('dtype');
      if (typeof dtype !== 'string' || (!isCheckpointDType(dtype) && !FOREIGN_DTYPES.has(dtype))) {
        throw fail(`unknown dtype ${JSON.stringify(dtype instanceof JsonNumber ? dtype.text : dtype ?? null)}`, key);
      }
      const shape = raw.get('shape');
      if (!Array.isArray(shape)) throw fail(`shape is not a list`, key);
      const off = raw.get('data_offsets');
      if (!Array.isArray(off) || off.length !== 2) throw fail(`data_offsets are not [begin, end]`, key);
      parsed.push({ key, dtype, shape: shape.map((d) => u64(d, 'dimension', key)), begin: u64(off[0], 'data offset', key), end: u64(off[1], 'data offset', key) });
    }
    // The reference's order: by (begin, end); each range must start where the previous one ended.
    parsed.sort((a, b) => (a.begin !== b.begin ? (a.begin < b.begin ? -1 : 1) : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
    let cursor = 0n;
    let prev: string | undefined;
    for (const t of parsed) {
      if (t.begin !== cursor) {
        throw fail(
          t.begin > cursor
            ? `data_offsets [${t.begin}, ${t.end}] leave bytes ${cursor}..${t.begin} of the data section unused${prev === undefined ? '' : ` after '${prev}'`}`
            : `data_offsets [${t.begin}, ${t.end}] overlap those of '${prev}' (which end at ${cursor})`,
          t.key,
        );
      }
      if (t.end < t.begin) throw fail(`data_offsets [${t.begin}, ${t.end}] end before they begin`, t.key);
      let numel = 1n;
      for (const d of t.shape) {
        numel *= d;
        if (numel > U64_MAX) throw fail(`shape [${t.shape.join(', ')}] overflows 64 bits`, t.key);
      }
      const size = FOREIGN_DTYPES.has(t.dtype) ? (t.dtype.startsWith('F8') ? 1n : BigInt(Number(t.dtype.slice(1)) / 8)) : BigInt(DTYPE_SIZE[t.dtype as CheckpointDType]);
      const want = numel * size;
      if (want > U64_MAX) throw fail(`shape [${t.shape.join(', ')}] × ${t.dtype} overflows 64 bits`, t.key);
      if (t.end - t.begin !== want) throw fail(`${t.end - t.begin} bytes stored, but ${t.dtype} [${t.shape.join(', ')}] needs ${want}`, t.key);
      cursor = t.end;
      prev = t.key;
    }
    if (cursor !== BigInt(dataSize)) {
      throw fail(
        cursor < BigInt(dataSize)
          ? `the tensors cover ${cursor} bytes of the ${dataSize}-byte data section: ${BigInt(dataSize) - cursor} bytes after${prev === undefined ? ' the header' : ` '${prev}'`} belong to no tensor`
          : `data_offsets [${parsed.at(-1)!.begin}, ${cursor}] run past the data section (${dataSize} bytes, from byte ${dataStart})`,
        prev,
      );
    }
    // Valid for the format; refused here only where tfjs could not hold it exactly.
    const entries = new Map<string, Entry>();
    for (const t of parsed) {
      if (FOREIGN_DTYPES.has(t.dtype)) throw new CheckpointDTypeError(`dtype ${t.dtype} has no tfjs counterpart`, file, t.key);
      if (t.shape.some((d) => d > BigInt(Number.MAX_SAFE_INTEGER))) throw fail(`shape [${t.shape.join(', ')}] has a dimension past 2^53`, t.key);
      entries.set(t.key, { dtype: t.dtype as CheckpointDType, shape: t.shape.map(Number), begin: Number(t.begin), end: Number(t.end) });
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
 * Writes a safetensors file atomically ({@link writeFileAtomic}: a temporary file in the same folder, fsync,
 * rename, fsync of the folder; leftovers of killed writes to the same path are removed), streaming one tensor at a
 * time: `produce` may be async so that nothing is held whole.
 */
export async function saveSafetensors(
  path: string,
  entries: Array<[string, { dtype: CheckpointDType; shape: number[] }]>,
  produce: (key: string) => Promise<TensorToWrite> | TensorToWrite,
  metadata?: Record<string, string>,
): Promise<void> {
  const sorted = layoutOrder(entries);
  const { json } = headerBytes(sorted, metadata);
  await writeFileAtomic(path, async (fh) => {
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
  });
}

import { type ByteReader } from './byte_reader.js';
import { DTYPE_SIZE, decodeTensor } from './dtypes.js';
import { CheckpointFormatError, CheckpointKeyError } from './errors.js';
import { type BrokenTensor, type OpaqueObject, PickleTruncatedError, type StorageRef, type TensorRef, type UnpickleOptions, unpickle, unpickleAt } from './pickle.js';
import type { CheckpointDType, HostTensor, TensorSource } from './types.js';
import { STATE_DICT_WRAPPERS } from './state_dict.js';
import { crc32, readZipDirectory } from './zip.js';

/** How a PyTorch checkpoint is read. */
export interface TorchLoadOptions extends UnpickleOptions {
  /**
   * Check each zip entry's bytes against its CRC-32 when first read (default true). PyTorch itself does not, so a
   * flipped byte in a storage would otherwise come back as a wrong value without any error.
   */
  verifyChecksums?: boolean;
}

const STORAGE_DTYPE: Record<string, CheckpointDType> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

/** Where a storage's bytes lie in the file (and, in the zip layout, their CRC-32). */
interface StorageSpan {
  offset: number;
  size: number;
  crc32?: number;
}

/** `torch.serialization.MAGIC_NUMBER`, the first pickle of a legacy file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;
/** The legacy pickles of a real state dict take kilobytes to a few megabytes; a longer one is a broken file. */
const MAX_LEGACY_PICKLES = 256 << 20;


function isTensor(x: unknown): x is TensorRef {
  return !!x && (x as TensorRef).kind === 'tensor';
}

function isBroken(x: unknown): x is BrokenTensor {
  return !!x && (x as BrokenTensor).kind === 'broken-tensor';
}

/** A dict's items (the unpickler builds every dict as a Map); anything else has none. */
function entries(x: unknown): Array<[string, unknown]> {
  if (x instanceof Map) return [...x.entries()].map(([k, v]) => [String(k), v]);
  return [];
}

/** A persistent id `('storage', torch.XStorage, key, location, numel[, view_metadata])` as a storage description. */
function storageRef(pid: unknown, file: string): StorageRef {
  const t = pid as [string, { kind: string; name: string }, string, string, number, unknown];
  const count = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  const storageType = Array.isArray(t) && t[1] && t[1].kind === 'global' ? t[1].name.replace(/^torch\./, '') : '';
  if (!Array.isArray(t) || t.length < 5 || t[0] !== 'storage' || !STORAGE_DTYPE[storageType] || typeof t[2] !== 'string' || !count(t[4])) {
    throw new CheckpointFormatError(`unsupported persistent id ${JSON.stringify(t, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`, file);
  }
  const ref: StorageRef = { kind: 'storage', storageType, key: t[2], numel: t[4] };
  // Legacy views: (view_key, offset, size) of the root storage `key`.
  const view = t[5];
  if (Array.isArray(view)) {
    if (view.length < 3 || !count(view[1]) || !count(view[2])) throw new CheckpointFormatError(`storage view ${JSON.stringify(view)} is not (key, offset, size)`, file);
    ref.elementOffset = view[1] as number;
    ref.numel = view[2] as number;
  }
  return ref;
}

/**
 * A PyTorch checkpoint (`torch.save`, `.pt`/`.pth`/`.bin`) read without running anything from it: the pickle goes
 * through a restricted reader and tensors are read lazily from their storages. Both layouts are read: the zip
 * archive (PyTorch ≥ 1.6) and the legacy stream (`_use_new_zipfile_serialization=False`: magic, protocol and
 * sys_info pickles, the main pickle, the sorted storage keys, then each storage as an int64 element count and its
 * bytes).
 */
export class TorchCheckpoint implements TensorSource {
  /** Non-tensor entries next to the weights (epoch, args, …) and where the state dict was found. */
  readonly skipped: string[] = [];
  /** Lenient reads only: tensors the file names but that cannot be built, with the reason. */
  readonly unreadable: Array<{ key: string; reason: string }> = [];
  private readonly verified = new Set<string>();
  private verifyChecksums = true;
  readonly wrapper: string | null;
  readonly metadata: Record<string, string> = {};

  private constructor(
    private readonly reader: ByteReader,
    readonly format: 'zip' | 'legacy',
    private readonly storages: Map<string, StorageSpan>,
    private readonly tensors: Map<string, TensorRef>,
    wrapper: string | null,
  ) {
    this.wrapper = wrapper;
  }

  /** Opens either layout, told apart by the first bytes (`PK` for zip, a pickle PROTO opcode for legacy). */
  static async open(reader: ByteReader, opts: TorchLoadOptions = {}): Promise<TorchCheckpoint> {
    const head = await reader.read(0, Math.min(2, reader.size));
    if (head[0] === 0x80) return TorchCheckpoint.openLegacy(reader, opts);
    const zip = await readZipDirectory(reader);
    const pkl = [...zip.keys()].find((k) => k.endsWith('/data.pkl') || k === 'data.pkl');
    if (!pkl) throw new CheckpointFormatError('zip archive has no data.pkl: not a torch.save checkpoint', reader.name);
    const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const e = zip.get(pkl)!;
    if (e.method !== 0) throw new CheckpointFormatError(`data.pkl is compressed (method ${e.method}); torch.save stores it uncompressed`, reader.name);
    const bytes = await reader.read(e.dataOffset, e.size);
    if ((opts.verifyChecksums ?? true) && crc32(bytes) !== e.crc32) {
      throw new CheckpointFormatError(`${pkl} does not match its CRC-32 (the file is damaged)`, reader.name);
    }
    const root = unpickle(bytes, reader.name, (pid) => storageRef(pid, reader.name), opts);
    const storages = new Map<string, StorageSpan>();
    for (const [name, entry] of zip) {
      if (!name.startsWith(`${prefix}data/`)) continue;
      if (entry.method !== 0) throw new CheckpointFormatError(`storage ${name} is compressed (method ${entry.method}); torch.save stores storages uncompressed`, reader.name);
      storages.set(name.slice(prefix.length + 5), { offset: entry.dataOffset, size: entry.size, crc32: entry.crc32 });
    }
    return TorchCheckpoint.fromRoot(reader, 'zip', storages, root, opts);
  }

  private static async openLegacy(reader: ByteReader, opts: TorchLoadOptions): Promise<TorchCheckpoint> {
    const file = reader.name;
    // The pickles come first and are small next to the storages: read a growing window until they all parse.
    for (let window = Math.min(reader.size, 1 << 20); ; window = Math.min(reader.size, window * 4)) {
      const bytes = await reader.read(0, window);
      try {
        const magic = unpickleAt(bytes, 0, file, () => null);
        if (magic.value !== LEGACY_MAGIC) {
          throw new CheckpointFormatError('a pickle that is not a torch.save checkpoint (magic number missing; tar-format checkpoints are not read)', file);
        }
        const proto = unpickleAt(bytes, magic.end, file, () => null);
        if (proto.value !== LEGACY_PROTOCOL) throw new CheckpointFormatError(`legacy protocol version ${String(proto.value)} at byte ${magic.end}, expected ${LEGACY_PROTOCOL}`, file);
        const sys = unpickleAt(bytes, proto.end, file, () => null);
        const little = sys.value instanceof Map ? sys.value.get('little_endian') : undefined;
        if (little !== true) throw new CheckpointFormatError(`sys_info at byte ${proto.end} does not say little_endian: big-endian checkpoints are not read`, file);
        const types = new Map<string, string>();
        const main = unpickleAt(bytes, sys.end, file, (pid) => {
          const ref = storageRef(pid, file);
          types.set(ref.key, ref.storageType);
          return ref;
        }, opts);
        const keys = unpickleAt(bytes, main.end, file, () => null);
        if (!Array.isArray(keys.value) || keys.value.some((k) => typeof k !== 'string')) {
          throw new CheckpointFormatError(`storage key list expected at byte ${main.end}`, file);
        }
        const storages = await TorchCheckpoint.legacySpans(reader, keys.end, keys.value as string[], types);
        return TorchCheckpoint.fromRoot(reader, 'legacy', storages, main.value, opts);
      } catch (e) {
        if (e instanceof PickleTruncatedError && window < reader.size && window < MAX_LEGACY_PICKLES) continue;
        throw e;
      }
    }
  }

  /** Walks the storage records (int64 element count, then the bytes) reading 8 bytes per storage. */
  private static async legacySpans(reader: ByteReader, start: number, keys: string[], types: Map<string, string>): Promise<Map<string, StorageSpan>> {
    const spans = new Map<string, StorageSpan>();
    let p = start;
    for (const key of keys) {
      const type = types.get(key);
      const dtype = type && STORAGE_DTYPE[type];
      if (!dtype) throw new CheckpointFormatError(`storage ${key} has no known type (${type ?? 'never referenced'})`, reader.name);
      if (p + 8 > reader.size) throw new CheckpointFormatError(`storage ${key}: its size at byte ${p} lies past the end of the file (${reader.size} bytes)`, reader.name);
      const n = await reader.read(p, 8);
      const numel = Number(new DataView(n.buffer, n.byteOffset, 8).getBigInt64(0, true));
      const size = numel * DTYPE_SIZE[dtype];
      if (numel < 0 || p + 8 + size > reader.size) {
        throw new CheckpointFormatError(`storage ${key} at byte ${p} (${numel} elements) runs past the end of the file (${reader.size} bytes)`, reader.name);
      }
      spans.set(key, { offset: p + 8, size });
      p += 8 + size;
    }
    return spans;
  }

  /**
   * Finds the state dict (the root, or the first wrapper holding tensors), lists what is not a tensor, and checks
   * that every tensor can be built from its storage (dtype, storage present and of its declared size, view inside
   * it). A tensor that cannot be built fails the read, or in a lenient read is listed in `unreadable` by name.
   */
  private static fromRoot(reader: ByteReader, format: 'zip' | 'legacy', storages: Map<string, StorageSpan>, root: unknown, opts: TorchLoadOptions): TorchCheckpoint {
    let dict = root;
    let wrapper: string | null = null;
    const holdsTensors = (d: unknown) => entries(d).some(([, v]) => isTensor(v) || isBroken(v));
    for (const w of STATE_DICT_WRAPPERS) {
      const inner = entries(root).find(([k]) => k === w)?.[1];
      if (inner && holdsTensors(inner)) {
        dict = inner;
        wrapper = w;
        break;
      }
    }
    const tensors = new Map<string, TensorRef>();
    const ck = new TorchCheckpoint(reader, format, storages, tensors, wrapper);
    ck.verifyChecksums = opts.verifyChecksums ?? true;
    const refuse = (key: string, reason: string) => {
      if (!opts.lenient) throw new CheckpointFormatError(`tensor cannot be built: ${reason}`, reader.name, key);
      ck.unreadable.push({ key, reason });
    };
    if (dict instanceof Map) {
      for (const k of dict.keys()) {
        if (typeof k !== 'string' && (isTensor(dict.get(k)) || isBroken(dict.get(k)))) {
          throw new CheckpointFormatError(`state dict key ${String(k)} is not a string`, reader.name);
        }
      }
    }
    for (const [k, v] of entries(dict)) {
      if (isBroken(v)) refuse(k, v.reason);
      else if (isTensor(v)) {
        const why = ck.unbuildable(v, format);
        if (why) refuse(k, why);
        else tensors.set(k, v);
      } else ck.skipped.push(`${k}${v && (v as OpaqueObject).kind === 'opaque' ? ` (${(v as OpaqueObject).className})` : ''}`);
    }
    if (wrapper) for (const [k] of entries(root)) if (k !== wrapper) ck.skipped.push(k);
    if (!tensors.size && !ck.unreadable.length) throw new CheckpointFormatError('no tensors found in the checkpoint', reader.name);
    return ck;
  }

  /** Why a tensor description cannot be read from this file, or null when it can. */
  private unbuildable(t: TensorRef, format: 'zip' | 'legacy'): string | null {
    const dtype = STORAGE_DTYPE[t.storage.storageType];
    if (!dtype) return `unsupported storage type ${t.storage.storageType}`;
    const size = DTYPE_SIZE[dtype];
    const span = this.storages.get(t.storage.key);
    if (!span) return `storage data/${t.storage.key} missing from the file`;
    if (format === 'zip' && t.storage.numel * size !== span.size) {
      return `storage data/${t.storage.key} holds ${span.size} bytes, not the ${t.storage.numel} × ${size} its reference declares`;
    }
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const first = t.offset + (t.storage.elementOffset ?? 0);
    // The last element the view touches must lie inside its storage.
    const last = first + t.shape.reduce((a, n, i) => a + (n > 0 ? (n - 1) * t.stride[i] : 0), 0);
    if (numel > 0 && !((last + 1) * size <= span.size)) {
      return `tensor (offset ${first}, shape [${t.shape}], stride [${t.stride}]) runs past its storage of ${span.size} bytes at byte ${span.offset}`;
    }
    return null;
  }

  get file(): string {
    return this.reader.name;
  }

  keys(): string[] {
    return [...this.tensors.keys()];
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  info(key: string): { dtype: CheckpointDType; shape: number[] } {
    const t = this.ref(key);
    return { dtype: this.dtypeOf(t, key), shape: [...t.shape] };
  }

  async get(key: string): Promise<HostTensor> {
    const raw = await this.getRaw(key);
    return decodeTensor(raw.bytes, raw.dtype, raw.shape, { file: this.file, key });
  }

  /** The tensor's elements in its stored dtype, row-major (views are made contiguous). */
  async getRaw(key: string): Promise<{ dtype: CheckpointDType; shape: number[]; bytes: Uint8Array }> {
    const t = this.ref(key);
    const dtype = this.dtypeOf(t, key);
    const size = DTYPE_SIZE[dtype];
    const span = this.storages.get(t.storage.key)!;
    const numel = t.shape.reduce((a, b) => a * b, 1);
    const first = t.offset + (t.storage.elementOffset ?? 0);
    const contiguous = t.shape.every((_, i) => t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1) || t.shape[i] === 1);
    // A storage is checked against its CRC-32 once, when first read whole; later contiguous reads take their part.
    const check = this.verifyChecksums && span.crc32 !== undefined && !this.verified.has(t.storage.key);
    if ((contiguous || numel === 0) && !check) {
      const raw = await this.reader.read(span.offset + first * size, numel * size);
      if (raw.byteLength !== numel * size) throw new CheckpointFormatError('file ends inside the tensor', this.file, key);
      return { dtype, shape: [...t.shape], bytes: raw };
    }
    const storage = await this.reader.read(span.offset, span.size);
    if (storage.byteLength !== span.size) throw new CheckpointFormatError('file ends inside the tensor', this.file, key);
    if (check) {
      if (crc32(storage) !== span.crc32) {
        throw new CheckpointFormatError(`storage data/${t.storage.key} does not match its CRC-32 (the file is damaged)`, this.file, key);
      }
      this.verified.add(t.storage.key);
    }
    if (contiguous || numel === 0) {
      const whole = first === 0 && numel * size === storage.byteLength;
      return { dtype, shape: [...t.shape], bytes: whole ? storage : storage.slice(first * size, (first + numel) * size) };
    }
    const raw = new Uint8Array(numel * size);
    const idx = new Array(t.shape.length).fill(0);
    for (let n = 0; n < numel; n++) {
      let off = first;
      for (let d = 0; d < idx.length; d++) off += idx[d] * t.stride[d];
      raw.set(storage.subarray(off * size, (off + 1) * size), n * size);
      for (let d = idx.length - 1; d >= 0; d--) {
        if (++idx[d] < t.shape[d]) break;
        idx[d] = 0;
      }
    }
    return { dtype, shape: [...t.shape], bytes: raw };
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  private ref(key: string): TensorRef {
    const t = this.tensors.get(key);
    if (!t) throw new CheckpointKeyError('no such tensor', this.file, key);
    return t;
  }

  private dtypeOf(t: TensorRef, key: string): CheckpointDType {
    const d = STORAGE_DTYPE[t.storage.storageType];
    if (!d) throw new CheckpointFormatError(`unsupported storage type ${t.storage.storageType}`, this.file, key);
    return d;
  }
}

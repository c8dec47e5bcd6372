import { type ByteReader } from './byte_reader.js';
import { DTYPE_SIZE, decodeTensor } from './dtypes.js';
import { CheckpointFormatError, CheckpointKeyError } from './errors.js';
import { type OpaqueObject, type StorageRef, type TensorRef, unpickle } from './pickle.js';
import type { CheckpointDType, HostTensor, TensorSource } from './types.js';
import { readZipDirectory, type ZipEntry } from './zip.js';

const STORAGE_DTYPE: Record<string, CheckpointDType> = {
  FloatStorage: 'F32', DoubleStorage: 'F64', HalfStorage: 'F16', BFloat16Storage: 'BF16', LongStorage: 'I64',
  IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8', ByteStorage: 'U8', BoolStorage: 'BOOL',
};

/** Wrappers the official scripts save around the state dict, tried in this order. */
const WRAPPERS = ['model', 'module', 'state_dict'];

function isTensor(x: unknown): x is TensorRef {
  return !!x && (x as TensorRef).kind === 'tensor';
}

function entries(x: unknown): Array<[string, unknown]> {
  if (x instanceof Map) return [...x.entries()].map(([k, v]) => [String(k), v]);
  if (x && typeof x === 'object' && !Array.isArray(x)) return Object.entries(x);
  return [];
}

/**
 * A PyTorch zip checkpoint (`torch.save`, `.pt`/`.pth`/`.bin`) read without running anything from it: the pickle
 * goes through a restricted reader and tensors are read lazily from their storage entries.
 */
export class TorchCheckpoint implements TensorSource {
  /** Non-tensor entries next to the weights (epoch, args, …) and where the state dict was found. */
  readonly skipped: string[] = [];
  readonly wrapper: string | null;
  readonly metadata: Record<string, string> = {};

  private constructor(
    private readonly reader: ByteReader,
    private readonly zip: Map<string, ZipEntry>,
    private readonly prefix: string,
    private readonly tensors: Map<string, TensorRef>,
    wrapper: string | null,
  ) {
    this.wrapper = wrapper;
  }

  static async open(reader: ByteReader): Promise<TorchCheckpoint> {
    const zip = await readZipDirectory(reader);
    const pkl = [...zip.keys()].find((k) => k.endsWith('/data.pkl') || k === 'data.pkl');
    if (!pkl) throw new CheckpointFormatError('zip archive has no data.pkl: not a torch.save checkpoint', reader.name);
    const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
    const e = zip.get(pkl)!;
    if (e.method !== 0) throw new CheckpointFormatError(`data.pkl is compressed (method ${e.method}); torch.save stores it uncompressed`, reader.name);
    const bytes = await reader.read(e.dataOffset, e.size);
    const root = unpickle(bytes, reader.name, (pid) => {
      const t = pid as [string, { kind: string; name: string }, string, string, number];
      if (!Array.isArray(t) || t[0] !== 'storage') throw new CheckpointFormatError(`unknown persistent id ${JSON.stringify(t)}`, reader.name);
      const storageType = t[1].name.replace(/^torch\./, '');
      return { kind: 'storage', storageType, key: String(t[2]), numel: Number(t[4]) } satisfies StorageRef;
    });
    // Find the state dict: the root, or the first wrapper holding tensors.
    let dict = root;
    let wrapper: string | null = null;
    for (const w of WRAPPERS) {
      const inner = entries(root).find(([k]) => k === w)?.[1];
      if (inner && entries(inner).some(([, v]) => isTensor(v))) {
        dict = inner;
        wrapper = w;
        break;
      }
    }
    const tensors = new Map<string, TensorRef>();
    const ck = new TorchCheckpoint(reader, zip, prefix, tensors, wrapper);
    for (const [k, v] of entries(dict)) {
      if (isTensor(v)) tensors.set(k, v);
      else ck.skipped.push(`${k}${v && (v as OpaqueObject).kind === 'opaque' ? ` (${(v as OpaqueObject).className})` : ''}`);
    }
    if (wrapper) for (const [k] of entries(root)) if (k !== wrapper) ck.skipped.push(k);
    if (!tensors.size) throw new CheckpointFormatError('no tensors found in the checkpoint', reader.name);
    return ck;
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
    const entry = this.zip.get(`${this.prefix}data/${t.storage.key}`);
    if (!entry) throw new CheckpointFormatError(`storage data/${t.storage.key} missing from the archive`, this.file, key);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    // Contiguous (row-major) tensors are one read; others are gathered element by element from their storage.
    const contiguous = t.shape.every((_, i) => t.stride[i] === t.shape.slice(i + 1).reduce((a, b) => a * b, 1) || t.shape[i] === 1);
    let raw: Uint8Array;
    if (contiguous) {
      if ((t.offset + numel) * size > entry.size) throw new CheckpointFormatError('tensor runs past its storage', this.file, key);
      raw = await this.reader.read(entry.dataOffset + t.offset * size, numel * size);
    } else {
      const storage = await this.reader.read(entry.dataOffset, entry.size);
      raw = new Uint8Array(numel * size);
      const idx = new Array(t.shape.length).fill(0);
      for (let n = 0; n < numel; n++) {
        let off = t.offset;
        for (let d = 0; d < idx.length; d++) off += idx[d] * t.stride[d];
        raw.set(storage.subarray(off * size, (off + 1) * size), n * size);
        for (let d = idx.length - 1; d >= 0; d--) {
          if (++idx[d] < t.shape[d]) break;
          idx[d] = 0;
        }
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

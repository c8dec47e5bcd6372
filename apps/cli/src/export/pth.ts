import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { type CheckpointDType, crc32 as coreCrc32, DTYPE_SIZE, f32ToBf16, f32ToF16, type HostTensor } from '@iv2/core';

// torch.save's zip format (the default since PyTorch 1.6), written so that torch.load(weights_only=True) reads it:
// `<name>/data.pkl` (pickle protocol 2 of the state dict, tensors as persistent-id storages rebuilt by
// torch._utils._rebuild_tensor_v2), `<name>/byteorder`, `<name>/data/<i>` (raw little-endian storages, each aligned
// to 64 bytes as torch aligns them), `<name>/version`. Stored (no compression), ZIP64 records where sizes or
// offsets pass 4 GiB.

const STORAGE: Partial<Record<CheckpointDType, string>> = {
  F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', F64: 'DoubleStorage',
  I64: 'LongStorage', I32: 'IntStorage', I16: 'ShortStorage', I8: 'CharStorage', U8: 'ByteStorage', BOOL: 'BoolStorage',
};

// Node's native zlib.crc32 (Node >= 20.15) where it exists: storages can be gigabytes.
function crc32(b: Uint8Array): number {
  const z = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;
  return z ? z(b) >>> 0 : coreCrc32(b);
}

/** Minimal pickle protocol-2 writer: just the opcodes a state dict needs. */
class Pickler {
  private out: number[] = [];

  private u32(n: number) {
    this.out.push(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  op(...b: number[]) {
    this.out.push(...b);
    return this;
  }

  global(module: string, name: string) {
    this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`)); // GLOBAL
    return this;
  }

  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.op(0x58); // BINUNICODE
    this.u32(b.length);
    this.out.push(...b);
    return this;
  }

  int(n: number) {
    if (!Number.isSafeInteger(n)) throw new RangeError(`pickle: ${n} is not an integer`);
    if (n >= 0 && n < 256) return this.op(0x4b, n); // BININT1
    if (n >= 0 && n < 65536) return this.op(0x4d, n & 0xff, n >>> 8); // BININT2
    if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.op(0x4a); // BININT
      this.u32(n >>> 0);
      return this;
    }
    // LONG1: little-endian two's complement, as short as it goes
    const bytes: number[] = [];
    let x = BigInt(n);
    for (;;) {
      bytes.push(Number(x & 0xffn));
      x >>= 8n;
      if ((x === 0n && !(bytes[bytes.length - 1] & 0x80)) || (x === -1n && bytes[bytes.length - 1] & 0x80)) break;
    }
    return this.op(0x8a, bytes.length, ...bytes);
  }

  tuple(items: number[]) {
    this.op(0x28); // MARK
    for (const i of items) this.int(i);
    return this.op(0x74); // TUPLE
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** Row-major strides of a contiguous tensor. */
function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** The pickle of `{key: tensor}` (an OrderedDict, as `model.state_dict()`), optionally under a wrapper key. */
export function statePickle(entries: Array<[string, { dtype: CheckpointDType; shape: number[] }]>, wrap?: string): Uint8Array {
  const p = new Pickler().op(0x80, 2); // PROTO 2
  if (wrap) p.op(0x7d, 0x28).str(wrap); // EMPTY_DICT, MARK, key
  p.global('collections', 'OrderedDict').op(0x29, 0x52); // () REDUCE
  if (entries.length) p.op(0x28); // MARK
  entries.forEach(([key, t], i) => {
    const storage = STORAGE[t.dtype];
    if (!storage) throw new RangeError(`${key}: dtype ${t.dtype} has no torch storage`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    p.str(key);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28); // MARK (args)
    // persistent id ('storage', torch.XStorage, key, 'cpu', numel)
    p.op(0x28).str('storage').global('torch', storage).str(String(i)).str('cpu').int(numel).op(0x74, 0x51); // TUPLE, BINPERSID
    p.int(0).tuple(t.shape).tuple(strides(t.shape));
    p.op(0x89); // requires_grad False
    p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward_hooks
    p.op(0x74, 0x52); // TUPLE, REDUCE
  });
  if (entries.length) p.op(0x75); // SETITEMS
  if (wrap) p.op(0x75); // SETITEMS of the wrapper
  return p.op(0x2e).finish(); // STOP
}

/** Encodes host data as the stored dtype (little-endian). */
export function encodeTensor(t: HostTensor, storeAs: CheckpointDType): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (storeAs === 'F32' && t.data instanceof Float32Array) return new Uint8Array(t.data.buffer, t.data.byteOffset, n * 4);
  const out = new Uint8Array(n * DTYPE_SIZE[storeAs]);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    const v = Number(t.data[i]);
    switch (storeAs) {
      case 'F32': dv.setFloat32(i * 4, v, true); break;
      case 'F16': dv.setUint16(i * 2, f32ToF16(v), true); break;
      case 'BF16': dv.setUint16(i * 2, f32ToBf16(v), true); break;
      case 'F64': dv.setFloat64(i * 8, v, true); break;
      case 'I64': dv.setBigInt64(i * 8, BigInt(v), true); break;
      case 'I32': dv.setInt32(i * 4, v, true); break;
      case 'I16': dv.setInt16(i * 2, v, true); break;
      case 'I8': dv.setInt8(i, v); break;
      case 'U8': dv.setUint8(i, v); break;
      case 'BOOL': dv.setUint8(i, v ? 1 : 0); break;
    }
  }
  return out;
}

interface Written {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

const ALIGN = 64;
const MAX32 = 0xffffffff;

/**
 * Writes a state dict as a torch.save zip archive, tensor by tensor (only one tensor's bytes in memory),
 * into a temporary file that is fsynced and renamed into place.
 */
export async function savePth(
  path: string,
  entries: Array<[string, { dtype: CheckpointDType; shape: number[] }]>,
  produce: (key: string) => Promise<Uint8Array> | Uint8Array,
  opts: { wrap?: string; archiveName?: string } = {},
): Promise<void> {
  const archive = opts.archiveName ?? 'archive';
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  const written: Written[] = [];
  let pos = 0;
  const write = async (b: Uint8Array) => {
    await fh.write(b);
    pos += b.length;
  };
  const addEntry = async (name: string, data: Uint8Array) => {
    const nameBytes = new TextEncoder().encode(`${archive}/${name}`);
    const crc = crc32(data);
    const zip64 = data.length >= MAX32 || pos >= MAX32;
    const z64Len = zip64 ? 20 : 0;
    // Pad with an extra field (id 'FB', as PyTorch's writer) so the data starts on a 64-byte boundary.
    const headerEnd = pos + 30 + nameBytes.length + z64Len;
    let pad = (ALIGN - ((headerEnd + 4) % ALIGN)) % ALIGN;
    const extraLen = z64Len + 4 + pad;
    const h = new Uint8Array(30 + nameBytes.length + extraLen);
    const v = new DataView(h.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, zip64 ? 45 : 20, true); // version needed
    v.setUint16(6, 0, true); // flags
    v.setUint16(8, 0, true); // stored
    v.setUint16(10, 0, true); // time
    v.setUint16(12, 0x21, true); // date 1980-01-01
    v.setUint32(14, crc, true);
    v.setUint32(18, zip64 ? MAX32 : data.length, true);
    v.setUint32(22, zip64 ? MAX32 : data.length, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, extraLen, true);
    h.set(nameBytes, 30);
    let e = 30 + nameBytes.length;
    if (zip64) {
      v.setUint16(e, 0x0001, true);
      v.setUint16(e + 2, 16, true);
      v.setBigUint64(e + 4, BigInt(data.length), true);
      v.setBigUint64(e + 12, BigInt(data.length), true);
      e += 20;
    }
    v.setUint16(e, 0x4246, true); // 'FB'
    v.setUint16(e + 2, pad, true);
    pad = 0;
    const offset = pos;
    await write(h);
    await write(data);
    written.push({ name: nameBytes, crc, size: data.length, offset });
  };
  try {
    await addEntry('data.pkl', statePickle(entries, opts.wrap));
    await addEntry('byteorder', new TextEncoder().encode('little'));
    for (let i = 0; i < entries.length; i++) await addEntry(`data/${i}`, await produce(entries[i][0]));
    await addEntry('version', new TextEncoder().encode('3\n'));
    // central directory
    const cdStart = pos;
    for (const w of written) {
      const needs64 = w.size >= MAX32 || w.offset >= MAX32;
      const fields: bigint[] = [];
      if (w.size >= MAX32) fields.push(BigInt(w.size), BigInt(w.size));
      if (w.offset >= MAX32) fields.push(BigInt(w.offset));
      const extraLen = needs64 ? 4 + 8 * fields.length : 0;
      const c = new Uint8Array(46 + w.name.length + extraLen);
      const v = new DataView(c.buffer);
      v.setUint32(0, 0x02014b50, true);
      v.setUint16(4, needs64 ? 45 : 20, true); // made by
      v.setUint16(6, needs64 ? 45 : 20, true); // needed
      v.setUint16(12, 0, true);
      v.setUint16(14, 0x21, true);
      v.setUint32(16, w.crc, true);
      v.setUint32(20, w.size >= MAX32 ? MAX32 : w.size, true);
      v.setUint32(24, w.size >= MAX32 ? MAX32 : w.size, true);
      v.setUint16(28, w.name.length, true);
      v.setUint16(30, extraLen, true);
      v.setUint32(42, w.offset >= MAX32 ? MAX32 : w.offset, true);
      c.set(w.name, 46);
      if (needs64) {
        let e = 46 + w.name.length;
        v.setUint16(e, 0x0001, true);
        v.setUint16(e + 2, 8 * fields.length, true);
        e += 4;
        for (const f of fields) {
          v.setBigUint64(e, f, true);
          e += 8;
        }
      }
      await write(c);
    }
    const cdSize = pos - cdStart;
    const count = written.length;
    const need64 = cdStart >= MAX32 || cdSize >= MAX32 || count >= 0xffff;
    if (need64) {
      const eocd64At = pos;
      const r = new Uint8Array(56 + 20);
      const v = new DataView(r.buffer);
      v.setUint32(0, 0x06064b50, true);
      v.setBigUint64(4, 44n, true);
      v.setUint16(12, 45, true);
      v.setUint16(14, 45, true);
      v.setBigUint64(24, BigInt(count), true);
      v.setBigUint64(32, BigInt(count), true);
      v.setBigUint64(40, BigInt(cdSize), true);
      v.setBigUint64(48, BigInt(cdStart), true);
      v.setUint32(56, 0x07064b50, true);
      v.setBigUint64(64, BigInt(eocd64At), true);
      v.setUint32(72, 1, true);
      await write(r);
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, 0x06054b50, true);
    v.setUint16(8, need64 ? 0xffff : count, true);
    v.setUint16(10, need64 ? 0xffff : count, true);
    v.setUint32(12, need64 ? MAX32 : cdSize, true);
    v.setUint32(16, need64 ? MAX32 : cdStart, true);
    await write(end);
    await fh.sync();
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}

// Builds small torch.save-layout zip files from hand-written pickles, for tests of the PyTorch reader.
import { crc32 } from '../../src/checkpoint/index.js';

const te = new TextEncoder();
const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64 = (n: number) => [...u32(n >>> 0), ...u32(Math.floor(n / 2 ** 32))];

/** Pickle opcodes as byte lists, to be concatenated. */
export const P = {
  proto: [0x80, 2],
  global: (mod: string, name: string) => [0x63, ...te.encode(`${mod}\n${name}\n`)],
  str: (s: string) => {
    const b = te.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number) => [0x4a, ...u32(n)],
  mark: [0x28],
  tuple: [0x74],
  tuple1: [0x85],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  emptyList: [0x5d],
  reduce: [0x52],
  setitem: [0x73],
  setitems: [0x75],
  append: [0x61],
  appends: [0x65],
  persid: [0x51],
  false: [0x89],
  stop: [0x2e],
};

const ints = (xs: number[]) => [...P.mark, ...xs.flatMap(P.int), ...P.tuple];

/** `('storage', torch.FloatStorage, key, 'cpu', numel)` through BINPERSID. */
export const storage = (key: string, numel: number) => [
  ...P.mark, ...P.str('storage'), ...P.global('torch', 'FloatStorage'), ...P.str(key), ...P.str('cpu'), ...P.int(numel), ...P.tuple, ...P.persid,
];

/** `_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`; size/stride may be raw opcodes. */
export function tensor(key: string, numel: number, size: number[] | number[][], stride?: number[] | number[][]): number[] {
  const sz = Array.isArray(size[0]) ? (size as number[][])[0] : ints(size as number[]);
  const st = stride === undefined ? ints(contiguousStride(size as number[])) : Array.isArray(stride[0]) ? (stride as number[][])[0] : ints(stride as number[]);
  return [
    ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.mark, ...storage(key, numel), ...P.int(0), ...sz, ...st, ...P.false, ...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce, ...P.tuple,
    ...P.reduce,
  ];
}

function contiguousStride(shape: number[]): number[] {
  return shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
}

/** A dict `{name: value, …}` from opcode lists, then STOP. */
export function dictPickle(items: Array<[string, number[]]>): Uint8Array {
  return new Uint8Array([...P.proto, ...P.emptyDict, ...P.mark, ...items.flatMap(([k, v]) => [...P.str(k), ...v]), ...P.setitems, ...P.stop]);
}

/** A stored (uncompressed) zip as torch.save lays it out, with a ZIP64 end record like PyTorch's writer. */
export function zipPth(pickle: Uint8Array, storages: Record<string, Uint8Array>, prefix = 'archive', opts: { zip64Entries?: boolean; zip64ExtraLen?: number } = {}): Uint8Array {
  const files: Array<[string, Uint8Array]> = [[`${prefix}/data.pkl`, pickle], ...Object.entries(storages).map(([k, b]) => [`${prefix}/data/${k}`, b] as [string, Uint8Array]), [`${prefix}/version`, te.encode('3\n')]];
  const out: number[] = [];
  const cd: number[] = [];
  for (const [name, data] of files) {
    const n = te.encode(name);
    const crc = crc32(data);
    const local = out.length;
    out.push(...u32(0x04034b50), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(crc), ...u32(data.length), ...u32(data.length), ...u16(n.length), ...u16(0), ...n, ...data);
    if (opts.zip64Entries) {
      // Sizes and local-header offset saturated in the directory, their 64-bit values in a ZIP64 extra field.
      const extra = [...u16(1), ...u16(opts.zip64ExtraLen ?? 24), ...u64(data.length), ...u64(data.length), ...u64(local)].slice(0, 4 + (opts.zip64ExtraLen ?? 24));
      cd.push(...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(crc), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(n.length), ...u16(extra.length), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(0xffffffff), ...n, ...extra);
      continue;
    }
    cd.push(...u32(0x02014b50), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(crc), ...u32(data.length), ...u32(data.length), ...u16(n.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(local), ...n);
  }
  const cdOffset = out.length;
  out.push(...cd);
  const e64 = out.length;
  out.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(files.length), ...u64(files.length), ...u64(cd.length), ...u64(cdOffset));
  out.push(...u32(0x07064b50), ...u32(0), ...u64(e64), ...u32(1));
  out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(files.length), ...u16(files.length), ...u32(cd.length), ...u32(cdOffset), ...u16(0));
  return new Uint8Array(out);
}

/** Float32 little-endian bytes. */
export const f32 = (xs: number[]) => new Uint8Array(new Float32Array(xs).buffer);

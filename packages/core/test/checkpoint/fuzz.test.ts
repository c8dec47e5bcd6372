// Seeded mutations of good checkpoint files, each opened and read in full. Every case must either read exactly
// what the reference rules read, or throw a CheckpointError subclass; anything else (a TypeError, a RangeError, a
// read that differs) fails the test. Counts are printed.
//
// safetensors: the reference is an independent re-statement, below, of the `safetensors` crate's rules
// (`SafeTensors::read_metadata`, `Metadata::validate`, serde_json's grammar and serde's field rules). A file it
// refuses must be refused; a file it accepts must read the same names, dtypes, shapes, bytes and metadata, or be
// refused with a typed error where tfjs cannot hold it (counted as "stricter").
// .pth (zip): the reference is the original file's tensors: a mutated file reads exactly those, or throws typed.
// Pickle mutations with their CRC-32 repaired reach the unpickler itself: they must throw typed or read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CheckpointError, crc32, openCheckpoint, SafetensorsReader, type TensorSource } from '../../src/checkpoint/index.js';
import { FIXTURES } from '../fixtures_path.js';

const golden = (f: string) => fileURLToPath(new URL(`../golden/${f}`, import.meta.url));

// ---------------------------------------------------------------------------------------------------------------
// Seeded randomness (mulberry32).
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T,>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] };
}
type Rng = ReturnType<typeof rng>;

// ---------------------------------------------------------------------------------------------------------------
// The reference rules for safetensors, restated independently of src/checkpoint/safetensors.ts.
const CRATE_DTYPES: Record<string, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};
const U64_MAX = 2n ** 64n - 1n;

type J = { t: 'num'; text: string } | { t: 'str'; v: string } | { t: 'obj'; entries: Array<[string, J]> } | { t: 'arr'; items: J[] } | { t: 'lit'; v: boolean | null };

/** serde_json's grammar: RFC 8259, whitespace = space/tab/LF/CR, no lone surrogates, numbers within f64. */
function crateJson(text: string): J {
  let i = 0;
  const WS = /[ \t\n\r]*/y;
  const STR = /"((?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"/y;
  const NUM = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const ws = () => {
    WS.lastIndex = i;
    WS.exec(text);
    i = WS.lastIndex;
  };
  const err = (m: string): never => {
    throw new Error(m);
  };
  const str = (): string => {
    STR.lastIndex = i;
    const m = STR.exec(text) ?? err('bad string');
    i = STR.lastIndex;
    const v = JSON.parse(m[0]) as string;
    for (let k = 0; k < v.length; k++) {
      const c = v.charCodeAt(k);
      if (c >= 0xd800 && c <= 0xdbff && k + 1 < v.length && v.charCodeAt(k + 1) >= 0xdc00 && v.charCodeAt(k + 1) <= 0xdfff) k++;
      else if (c >= 0xd800 && c <= 0xdfff) err('lone surrogate');
    }
    return v;
  };
  const val = (): J => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, J]> = [];
      ws();
      if (text[i] === '}') return i++, { t: 'obj', entries };
      for (;;) {
        ws();
        const k = str();
        ws();
        if (text[i++] !== ':') err(':');
        entries.push([k, val()]);
        ws();
        const d = text[i++];
        if (d === '}') return { t: 'obj', entries };
        if (d !== ',') err(',');
      }
    }
    if (c === '[') {
      i++;
      const items: J[] = [];
      ws();
      if (text[i] === ']') return i++, { t: 'arr', items };
      for (;;) {
        items.push(val());
        ws();
        const d = text[i++];
        if (d === ']') return { t: 'arr', items };
        if (d !== ',') err(',');
      }
    }
    if (c === '"') return { t: 'str', v: str() };
    NUM.lastIndex = i;
    const n = NUM.exec(text);
    if (n && n[0] !== '' && n[0] !== '-') {
      i = NUM.lastIndex;
      if (!Number.isFinite(Number(n[0]))) err('number out of range');
      return { t: 'num', text: n[0] };
    }
    for (const [w, v] of [['true', true], ['false', false], ['null', null]] as const) if (text.startsWith(w, i)) return (i += w.length), { t: 'lit', v };
    return err('value');
  };
  const v = val();
  ws();
  if (i !== text.length) err('trailing');
  return v;
}

const usize = (j: J | undefined): bigint => {
  if (!j || j.t !== 'num' || !/^(0|[1-9][0-9]*)$/.test(j.text)) throw new Error('not usize');
  const n = BigInt(j.text);
  if (n > U64_MAX) throw new Error('usize overflow');
  return n;
};

interface CrateTensor {
  dtype: string;
  shape: bigint[];
  bytes: Uint8Array;
}
type CrateResult = { ok: true; tensors: Map<string, CrateTensor>; metadata: Record<string, string> } | { ok: false; why: string };

function crateRead(buf: Uint8Array): CrateResult {
  try {
    if (buf.length < 8) throw new Error('HeaderTooSmall');
    const n = new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true);
    if (n > 100_000_000n) throw new Error('HeaderTooLarge');
    const stop = Number(n) + 8;
    if (stop > buf.length) throw new Error('InvalidHeaderLength');
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buf.subarray(8, stop));
    const root = crateJson(text);
    if (root.t !== 'obj') throw new Error('not a map');
    let metadata: Record<string, string> = {};
    let seenMeta = false;
    const infos = new Map<string, { dtype: string; shape: bigint[]; s: bigint; e: bigint }>();
    for (const [k, v] of root.entries) {
      if (k === '__metadata__') {
        if (seenMeta) throw new Error('duplicate field __metadata__');
        seenMeta = true;
        if (v.t === 'lit' && v.v === null) continue;
        if (v.t !== 'obj') throw new Error('metadata not a map');
        metadata = {};
        for (const [mk, mv] of v.entries) {
          if (mv.t !== 'str') throw new Error('metadata value');
          metadata[mk] = mv.v;
        }
        continue;
      }
      // serde's derived struct: from a map (unknown fields ignored, duplicates refused) or a sequence of exactly 3.
      let dtype: J | undefined;
      let shape: J | undefined;
      let offs: J | undefined;
      if (v.t === 'obj') {
        const seen = new Set<string>();
        for (const [f, fv] of v.entries) {
          if (f === 'dtype' || f === 'shape' || f === 'data_offsets') {
            if (seen.has(f)) throw new Error('duplicate field');
            seen.add(f);
          }
          if (f === 'dtype') dtype = fv;
          if (f === 'shape') shape = fv;
          if (f === 'data_offsets') offs = fv;
        }
      } else if (v.t === 'arr' && v.items.length === 3) [dtype, shape, offs] = v.items;
      else throw new Error('tensor info');
      if (!dtype || dtype.t !== 'str' || !(dtype.v in CRATE_DTYPES)) throw new Error('dtype');
      if (!shape || shape.t !== 'arr') throw new Error('shape');
      if (!offs || offs.t !== 'arr' || offs.items.length !== 2) throw new Error('offsets');
      // serde_json maps keep the last of repeated keys.
      infos.set(k, { dtype: dtype.v, shape: shape.items.map(usize), s: usize(offs.items[0]), e: usize(offs.items[1]) });
    }
    const sorted = [...infos.entries()].sort(([, a], [, b]) => (a.s < b.s ? -1 : a.s > b.s ? 1 : a.e < b.e ? -1 : a.e > b.e ? 1 : 0));
    let start = 0n;
    for (const [, t] of sorted) {
      if (t.s !== start || t.e < t.s) throw new Error('InvalidOffset');
      start = t.e;
      let numel = 1n;
      for (const d of t.shape) {
        numel *= d;
        if (numel > U64_MAX) throw new Error('ValidationOverflow');
      }
      const nbytes = numel * BigInt(CRATE_DTYPES[t.dtype]);
      if (nbytes > U64_MAX) throw new Error('ValidationOverflow');
      if (t.e - t.s !== nbytes) throw new Error('TensorInvalidInfo');
    }
    if (start + 8n + n !== BigInt(buf.length)) throw new Error('MetadataIncompleteBuffer');
    const tensors = new Map<string, CrateTensor>();
    for (const [k, t] of infos) tensors.set(k, { dtype: t.dtype, shape: t.shape, bytes: buf.subarray(stop + Number(t.s), stop + Number(t.e)) });
    return { ok: true, tensors, metadata };
  } catch (e) {
    return { ok: false, why: (e as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Mutations of a safetensors file.
const te = new TextEncoder();

function splitSt(b: Uint8Array): { header: string; data: Uint8Array } {
  const n = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true));
  return { header: new TextDecoder().decode(b.subarray(8, 8 + n)), data: b.subarray(8 + n) };
}

function joinSt(header: string | Uint8Array, data: Uint8Array, lenDelta = 0): Uint8Array {
  const h = typeof header === 'string' ? te.encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, h.length + lenDelta)), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const NUMBER_FORMS = (x: string) => ['0', '1', String(BigInt(x) + 1n), String(BigInt(x) - 1n < 0n ? 0n : BigInt(x) - 1n), '18446744073709551615', '18446744073709551616', '9007199254740993', `${x}.0`, `${x}e0`, `-${x}`, `0${x}`, '1e400', '4294967296', String(BigInt(x) * 2n)];
const DTYPE_NAMES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'U16', 'U32', 'U64', 'F8_E5M2', 'F8_E4M3', 'F8', 'f32', ''];
const HEADER_CHARS = '{}[]",:0123456789-.eE \\u\t\n';

function mutateSafetensors(orig: Uint8Array, r: Rng): { bytes: Uint8Array; op: string } {
  const { header, data } = splitSt(orig);
  const op = r.pick(['bit', 'byte', 'hchar', 'number', 'number', 'number', 'dtype', 'length', 'truncate', 'append', 'insdel', 'layout', 'layout', 'layout', 'bom', 'meta', 'dupkey'] as const);
  switch (op) {
    case 'bit': {
      const b = orig.slice();
      // mostly in the header, sometimes in the data
      const i = r.next() < 0.7 ? 8 + r.int(header.length) : r.int(b.length);
      b[i] ^= 1 << r.int(8);
      return { bytes: b, op };
    }
    case 'byte': {
      const b = orig.slice();
      b[r.int(Math.min(b.length, 8 + header.length + 64))] = r.int(256);
      return { bytes: b, op };
    }
    case 'hchar': {
      const h = te.encode(header);
      h[r.int(h.length)] = HEADER_CHARS.charCodeAt(r.int(HEADER_CHARS.length));
      return { bytes: joinSt(h, data), op };
    }
    case 'number': {
      const nums = [...header.matchAll(/\d+/g)];
      const m = r.pick(nums);
      const rep = r.pick(NUMBER_FORMS(m[0]));
      return { bytes: joinSt(header.slice(0, m.index) + rep + header.slice(m.index! + m[0].length), data), op };
    }
    case 'dtype': {
      const ds = [...header.matchAll(/"dtype":"([^"]*)"/g)];
      const m = r.pick(ds);
      const at = m.index! + 9;
      return { bytes: joinSt(header.slice(0, at) + r.pick(DTYPE_NAMES) + header.slice(at + m[1].length), data), op };
    }
    case 'length':
      return { bytes: joinSt(header, data, r.pick([-8, -1, 1, 7, 8, data.length, -header.length, 100_000_001 - header.length])), op };
    case 'truncate':
      return { bytes: orig.subarray(0, r.int(orig.length)), op };
    case 'append': {
      const extra = new Uint8Array(1 + r.int(16)).map(() => r.int(256));
      const out = new Uint8Array(orig.length + extra.length);
      out.set(orig);
      out.set(extra, orig.length);
      return { bytes: out, op };
    }
    case 'insdel': {
      const i = r.int(header.length);
      const h = r.next() < 0.5 ? header.slice(0, i) + header.slice(i + 1) : header.slice(0, i) + r.pick([' ', '0', ',', '"', '}', '\u00e9', '\ud800']) + header.slice(i);
      return { bytes: joinSt(h, data), op };
    }
    case 'layout': {
      // Structural edits of the tensor table: holes, overlaps, zero-size tensors, duplicated or dropped entries.
      const obj = JSON.parse(header) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
      const keys = Object.keys(obj).filter((k) => k !== '__metadata__');
      const k = r.pick(keys);
      const t = obj[k];
      const kind = r.pick(['zero-inside', 'zero-end', 'zero-past', 'shift', 'drop', 'clone', 'grow', 'swap'] as const);
      if (kind === 'zero-inside') obj[`${k}.z`] = { dtype: 'F32', shape: [0], data_offsets: [t.data_offsets[0] + 4 * r.int(3), t.data_offsets[0] + 4 * r.int(3)] };
      if (kind === 'zero-end') obj[`${k}.z`] = { dtype: t.dtype, shape: [2, 0], data_offsets: [data.length, data.length] };
      if (kind === 'zero-past') obj[`${k}.z`] = { dtype: t.dtype, shape: [0], data_offsets: [data.length + 4, data.length + 4] };
      if (kind === 'shift') t.data_offsets = [t.data_offsets[0] + 4, t.data_offsets[1] + 4];
      if (kind === 'drop') delete obj[k];
      if (kind === 'clone') obj[`${k}.copy`] = { ...t };
      if (kind === 'grow') (t.shape[0] += 1), (t.data_offsets[1] += 4);
      if (kind === 'swap') {
        const k2 = r.pick(keys);
        [obj[k].data_offsets, obj[k2].data_offsets] = [obj[k2].data_offsets, obj[k].data_offsets];
      }
      let h = JSON.stringify(obj);
      h += ' '.repeat((8 - (h.length % 8)) % 8);
      return { bytes: joinSt(h, data), op: `layout:${kind}` };
    }
    case 'bom':
      return { bytes: joinSt(r.pick(['\ufeff', ' ', '\t\n', '\u00a0', '\u000b']) + header, data), op };
    case 'meta': {
      const obj = JSON.parse(header);
      obj.__metadata__ = r.pick([null, { a: 1 }, 'x', { a: 'b' }, [], { '': '' }]);
      return { bytes: joinSt(JSON.stringify(obj), data), op };
    }
    case 'dupkey': {
      const m = r.pick([...header.matchAll(/"([^"]+)":\{"dtype"[^}]*\}/g)]);
      const h = header.trimEnd();
      return { bytes: joinSt(`${h.slice(0, -1)},${m[0]}}`, data), op };
    }
  }
}

interface Counts {
  cases: number;
  readSame: number;
  refusedBoth: number;
  stricter: number;
  untyped: number;
  differ: number;
  acceptedRefused: number;
}
const fresh = (): Counts => ({ cases: 0, readSame: 0, refusedBoth: 0, stricter: 0, untyped: 0, differ: 0, acceptedRefused: 0 });

const eqBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));

async function readAll(src: TensorSource & { getRaw?(k: string): Promise<{ dtype: string; shape: number[]; bytes: Uint8Array }> }) {
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  for (const k of src.keys()) out.set(k, await src.getRaw!(k));
  return out;
}

async function checkSafetensors(bytes: Uint8Array, counts: Counts, failures: string[], label: string) {
  counts.cases++;
  const ref = crateRead(bytes);
  let got: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }> | undefined;
  let meta: Record<string, string> | undefined;
  try {
    const r = await SafetensorsReader.open(bytes);
    got = await readAll(r);
    meta = r.metadata;
  } catch (e) {
    if (!(e instanceof CheckpointError)) {
      counts.untyped++;
      failures.push(`${label}: untyped ${(e as Error)?.name}: ${(e as Error)?.message}`);
      return;
    }
    if (ref.ok) counts.stricter++;
    else counts.refusedBoth++;
    return;
  }
  if (!ref.ok) {
    counts.acceptedRefused++;
    failures.push(`${label}: read a file the reference refuses (${ref.why})`);
    return;
  }
  const same =
    got.size === ref.tensors.size &&
    [...ref.tensors].every(([k, t]) => {
      const g = got!.get(k);
      return g && g.dtype === t.dtype && g.shape.length === t.shape.length && g.shape.every((d, i) => BigInt(d) === t.shape[i]) && eqBytes(g.bytes, t.bytes);
    }) &&
    JSON.stringify(Object.entries(meta!).sort()) === JSON.stringify(Object.entries(ref.metadata).sort());
  if (same) counts.readSame++;
  else {
    counts.differ++;
    failures.push(`${label}: read differs from the reference`);
  }
}

describe('seeded fuzzing of the checkpoint readers', () => {
  test('safetensors: fixtures/encoder/iv2-tiny/weights.safetensors (300 mutations) and a PyTorch-written file (100)', async () => {
    const t0 = performance.now();
    const counts = fresh();
    const failures: string[] = [];
    const ops = new Map<string, number>();
    for (const [file, n, seed] of [
      [join(FIXTURES, 'encoder/iv2-tiny/weights.safetensors'), 300, 1],
      [golden('torch_state.safetensors'), 100, 2],
    ] as const) {
      const orig = new Uint8Array(readFileSync(file));
      expect(crateRead(orig).ok, 'the reference reads the original').toBe(true);
      await checkSafetensors(orig, fresh(), failures, `${file} (unmutated)`);
      const r = rng(seed);
      for (let i = 0; i < n; i++) {
        const m = mutateSafetensors(orig, r);
        ops.set(m.op, (ops.get(m.op) ?? 0) + 1);
        await checkSafetensors(m.bytes, counts, failures, `${file} #${i} ${m.op}`);
      }
    }
    console.log(`safetensors fuzz: ${JSON.stringify(counts)} in ${(performance.now() - t0).toFixed(0)} ms; mutations ${JSON.stringify(Object.fromEntries(ops))}`);
    expect(failures).toEqual([]);
    expect(counts.untyped + counts.differ + counts.acceptedRefused).toBe(0);
    // The campaign must exercise both outcomes, or it proves nothing.
    expect(counts.readSame).toBeGreaterThan(20);
    expect(counts.refusedBoth).toBeGreaterThan(100);
  });

  test('.pth: raw mutations of a zip checkpoint read the original tensors exactly or throw typed; pickle and legacy mutations throw typed or read', async () => {
    const t0 = performance.now();
    const orig = new Uint8Array(readFileSync(golden('torch_state.pth')));
    const pristine = await readAll((await openCheckpoint(orig)) as never);
    const raw = fresh();
    const pkl = { cases: 0, read: 0, refused: 0, untyped: 0 };
    const failures: string[] = [];
    const r = rng(3);
    const view = new DataView(orig.buffer, orig.byteOffset, orig.byteLength);
    // Offsets of the zip structures' numeric fields, to aim some mutations at them.
    const fields: Array<[number, number]> = [];
    for (let i = 0; i + 4 <= orig.length; i++) {
      const sig = view.getUint32(i, true);
      if (sig === 0x04034b50) for (const [o, w] of [[14, 4], [18, 4], [22, 4], [26, 2], [28, 2]]) fields.push([i + o, w]);
      if (sig === 0x02014b50) for (const [o, w] of [[10, 2], [16, 4], [20, 4], [24, 4], [28, 2], [30, 2], [32, 2], [42, 4]]) fields.push([i + o, w]);
      if (sig === 0x06054b50) for (const [o, w] of [[8, 2], [10, 2], [12, 4], [16, 4], [20, 2]]) fields.push([i + o, w]);
      if (sig === 0x06064b50) for (const [o, w] of [[24, 8], [32, 8], [40, 8], [48, 8]]) fields.push([i + o, w]);
      if (sig === 0x07064b50) fields.push([i + 8, 8]);
    }
    const rawMutation = (): { bytes: Uint8Array; op: string } => {
      const op = r.pick(['bit', 'byte', 'field', 'field', 'field', 'truncate', 'insert', 'delete', 'append'] as const);
      const b = orig.slice();
      const dv = new DataView(b.buffer);
      if (op === 'bit') b[r.int(b.length)] ^= 1 << r.int(8);
      if (op === 'byte') b[r.int(b.length)] = r.int(256);
      if (op === 'field') {
        const [at, w] = r.pick(fields);
        const old = w === 2 ? dv.getUint16(at, true) : w === 4 ? dv.getUint32(at, true) : Number(dv.getBigUint64(at, true));
        const v = r.pick([0, 1, old + 1, Math.max(0, old - 1), old + 30, 0xffff, 0xffffffff, orig.length, 2 ** 40]);
        if (w === 2) dv.setUint16(at, v & 0xffff, true);
        else if (w === 4) dv.setUint32(at, v >>> 0, true);
        else dv.setBigUint64(at, BigInt(v), true);
      }
      if (op === 'truncate') return { bytes: orig.subarray(0, r.int(orig.length)), op };
      if (op === 'insert' || op === 'delete') {
        const i = r.int(orig.length);
        return { bytes: op === 'insert' ? new Uint8Array([...orig.subarray(0, i), r.int(256), ...orig.subarray(i)]) : new Uint8Array([...orig.subarray(0, i), ...orig.subarray(i + 1)]), op };
      }
      if (op === 'append') return { bytes: new Uint8Array([...orig, ...new Uint8Array(1 + r.int(8)).map(() => r.int(256))]), op };
      return { bytes: b, op };
    };
    for (let i = 0; i < 300; i++) {
      const m = rawMutation();
      raw.cases++;
      try {
        const got = await readAll((await openCheckpoint(m.bytes)) as never);
        const same = got.size === pristine.size && [...pristine].every(([k, t]) => {
          const g = got.get(k);
          return g && g.dtype === t.dtype && g.shape.join() === t.shape.join() && eqBytes(g.bytes, t.bytes);
        });
        if (same) raw.readSame++;
        else {
          raw.differ++;
          failures.push(`pth #${i} ${m.op}: read differs from the original`);
        }
      } catch (e) {
        if (e instanceof CheckpointError) raw.refusedBoth++;
        else {
          raw.untyped++;
          failures.push(`pth #${i} ${m.op}: untyped ${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
      }
    }
    // Pickle mutations with the CRC-32 of data.pkl repaired, so that they reach the unpickler.
    // torch.save writes sizes and CRCs after the data (flag bit 3): take them from the central directory.
    const { pklAt, cdCrcAt } = (() => {
      for (let i = 0; i + 4 <= orig.length; i++) {
        if (view.getUint32(i, true) !== 0x02014b50) continue;
        const nl = view.getUint16(i + 28, true);
        if (!new TextDecoder().decode(orig.subarray(i + 46, i + 46 + nl)).endsWith('data.pkl')) continue;
        const local = view.getUint32(i + 42, true);
        const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
        return { pklAt: { local, start, size: view.getUint32(i + 24, true) }, cdCrcAt: i + 16 };
      }
      throw new Error('no data.pkl');
    })();
    const OPCODES = [0x28, 0x29, 0x2e, 0x30, 0x31, 0x32, 0x4b, 0x4a, 0x51, 0x52, 0x58, 0x5d, 0x61, 0x62, 0x65, 0x68, 0x71, 0x73, 0x74, 0x75, 0x7d, 0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x8f, 0x90, 0x91, 0x93, 0x94, 0x4e];
    for (let i = 0; i < 300; i++) {
      const b = orig.slice();
      const k = 1 + r.int(3);
      for (let j = 0; j < k; j++) {
        const at = pklAt.start + r.int(pklAt.size);
        b[at] = r.next() < 0.6 ? r.pick(OPCODES) : r.int(256);
      }
      const c = crc32(b.subarray(pklAt.start, pklAt.start + pklAt.size));
      new DataView(b.buffer).setUint32(cdCrcAt, c, true);
      pkl.cases++;
      try {
        const ck = await openCheckpoint(b);
        for (const key of ck.keys()) await ck.get(key);
        pkl.read++;
      } catch (e) {
        if (e instanceof CheckpointError) pkl.refused++;
        else {
          pkl.untyped++;
          failures.push(`pickle #${i}: untyped ${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
      }
    }
    // The legacy layout carries no checksum, so a flipped data byte reads as another value there (as in PyTorch):
    // only typed errors are required of it, and reads that differ are counted.
    const legacyOrig = new Uint8Array(readFileSync(golden('torch_state_legacy.pth')));
    const legacy = { cases: 0, read: 0, readOther: 0, refused: 0, untyped: 0 };
    const legacyPristine = await readAll((await openCheckpoint(legacyOrig)) as never);
    for (let i = 0; i < 200; i++) {
      const b = legacyOrig.slice();
      const op = r.pick(['bit', 'byte', 'truncate'] as const);
      if (op === 'bit') b[r.int(b.length)] ^= 1 << r.int(8);
      if (op === 'byte') b[r.int(b.length)] = r.int(256);
      legacy.cases++;
      try {
        const got = await readAll((await openCheckpoint(op === 'truncate' ? b.subarray(0, r.int(b.length)) : b)) as never);
        const same = got.size === legacyPristine.size && [...legacyPristine].every(([k, t]) => got.get(k) && eqBytes(got.get(k)!.bytes, t.bytes));
        if (same) legacy.read++;
        else legacy.readOther++;
      } catch (e) {
        if (e instanceof CheckpointError) legacy.refused++;
        else {
          legacy.untyped++;
          failures.push(`legacy #${i} ${op}: untyped ${(e as Error)?.name}: ${(e as Error)?.message}`);
        }
      }
    }
    console.log(`.pth fuzz: raw ${JSON.stringify(raw)}; pickle ${JSON.stringify(pkl)}; legacy ${JSON.stringify(legacy)} in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(failures).toEqual([]);
    expect(raw.untyped + raw.differ + pkl.untyped + legacy.untyped).toBe(0);
    expect(raw.readSame).toBeGreaterThan(10);
    expect(raw.refusedBoth).toBeGreaterThan(100);
    expect(pkl.refused).toBeGreaterThan(50);
  });
});

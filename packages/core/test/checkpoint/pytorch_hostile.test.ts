// Malformed torch.save files: every one is a CheckpointError subclass naming the file, never a TypeError or
// RangeError, and never a read that silently holds less or other than the file says.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CheckpointError, CheckpointFormatError, crc32, openCheckpoint, TorchCheckpoint } from '../../src/index.js';
import { dictPickle, f32, P, storage, tensor, zipPth } from './pth_builder.js';

const golden = (f: string) => fileURLToPath(new URL(`../golden/${f}`, import.meta.url));
const ref = JSON.parse(readFileSync(golden('torch_state.json'), 'utf8'));
const KEYS = Object.keys(ref).filter((k) => k !== 'bool_keys');

async function refusal(bytes: Uint8Array, opts = {}): Promise<CheckpointError> {
  const named = { name: 'hostile.pth', size: bytes.byteLength, read: async (o: number, n: number) => bytes.subarray(o, o + n), close: async () => {} };
  const err = await openCheckpoint(named, opts).then(
    async (ck) => {
      for (const k of ck.keys()) await ck.get(k);
      return null;
    },
    (e) => e,
  );
  expect(err, 'the read must fail').toBeInstanceOf(CheckpointError);
  expect(err.message).toContain('hostile.pth');
  return err;
}

const good = () => tensor('0', 2, [2]);
const goodStorages = { '0': f32([1, 2]), '1': f32([3, 4, 5]) };

describe('pickles that cannot be what they claim', () => {
  test('a hand-built file reads (the builder itself is right)', async () => {
    const ck = await openCheckpoint(zipPth(dictPickle([['w', good()], ['b', tensor('1', 3, [3])]]), goodStorages));
    expect(Array.from((await ck.get('w')).data)).toEqual([1, 2]);
    expect(Array.from((await ck.get('b')).data)).toEqual([3, 4, 5]);
  });

  test('collections.OrderedDict called with arguments is an error, not an empty dict', async () => {
    const od = [...P.global('collections', 'OrderedDict'), ...P.emptyList, ...P.tuple1, ...P.reduce];
    const pkl = new Uint8Array([...P.proto, ...P.emptyDict, ...P.mark, ...P.str('w'), ...good(), ...P.str('cfg'), ...od, ...P.setitems, ...P.stop]);
    const err = await refusal(zipPth(pkl, goodStorages));
    expect(err.message).toMatch(/OrderedDict called with 1 argument/);
  });

  test('SETITEM on a list (or a tensor) is an error, not a dropped entry', async () => {
    const onList = new Uint8Array([...P.proto, ...P.emptyList, ...P.str('w'), ...good(), ...P.setitem, ...P.stop]);
    expect((await refusal(zipPth(onList, goodStorages))).message).toMatch(/sets items on something that is not a dict/);
    const onTensor = new Uint8Array([...P.proto, ...P.emptyDict, ...P.str('w'), ...good(), ...P.str('x'), ...P.int(1), ...P.setitem, ...P.setitem, ...P.stop]);
    expect((await refusal(zipPth(onTensor, goodStorages))).message).toMatch(/not a dict/);
  });

  test('APPENDS on something that is not a list', async () => {
    const pkl = new Uint8Array([...P.proto, ...P.emptyDict, ...P.mark, ...P.int(1), ...P.appends, ...P.stop]);
    expect((await refusal(zipPth(pkl, goodStorages))).message).toMatch(/appends to something that is not a list/);
    const tup = new Uint8Array([...P.proto, ...P.emptyTuple, ...P.int(1), ...P.append, ...P.stop]);
    expect((await refusal(zipPth(tup, goodStorages))).message).toMatch(/appends to something that is not a list/);
  });

  test('popping below a MARK, or an empty stack, is an underflow', async () => {
    const pkl = new Uint8Array([...P.proto, ...P.emptyDict, ...P.mark, ...P.setitem, ...P.stop]);
    expect((await refusal(zipPth(pkl, goodStorages))).message).toMatch(/stack underflow/);
    expect((await refusal(zipPth(new Uint8Array([...P.proto, ...P.stop]), goodStorages))).message).toMatch(/stack underflow/);
  });

  test('_rebuild_tensor_v2 with a size that is not a list: the read fails; lenient reads report the tensor by name', async () => {
    const pkl = dictPickle([['w', tensor('0', 2, [P.int(2)])], ['b', tensor('1', 3, [3])]]);
    const err = await refusal(zipPth(pkl, goodStorages));
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err.message).toMatch(/tensor cannot be built: size 2 is not a list of counts/);
    const ck = (await openCheckpoint(zipPth(pkl, goodStorages), { lenient: true })) as TorchCheckpoint;
    expect(ck.keys()).toEqual(['b']);
    expect(ck.unreadable).toEqual([{ key: 'w', reason: expect.stringMatching(/size 2 is not a list of counts/) }]);
    expect(Array.from((await ck.get('b')).data)).toEqual([3, 4, 5]);
  });

  test('strides that do not match the size, negative sizes, storages that are not storages', async () => {
    expect((await refusal(zipPth(dictPickle([['w', tensor('0', 2, [2], [1, 1])]]), goodStorages))).message).toMatch(/stride .* is not a list of 1 counts/);
    expect((await refusal(zipPth(dictPickle([['w', tensor('0', 2, [[...P.mark, ...P.int(-2), ...P.tuple]])]]), goodStorages))).message).toMatch(/size \[-2\]/);
    const noStorage = [...P.global('torch._utils', '_rebuild_tensor_v2'), ...P.mark, ...P.int(0), ...P.int(0), ...P.mark, ...P.int(2), ...P.tuple, ...P.mark, ...P.int(1), ...P.tuple, ...P.tuple, ...P.reduce];
    expect((await refusal(zipPth(dictPickle([['w', noStorage]]), goodStorages))).message).toMatch(/\[?.*its storage is not a storage/);
  });

  test('a storage shorter than its declared element count, or missing, fails the read naming the tensor', async () => {
    const short = await refusal(zipPth(dictPickle([['w', tensor('0', 3, [2])]]), goodStorages));
    expect(short.message).toMatch(/\[w\].*holds 8 bytes, not the 3 × 4/);
    const missing = await refusal(zipPth(dictPickle([['w', tensor('7', 2, [2])]]), goodStorages));
    expect(missing.message).toMatch(/\[w\].*storage data\/7 missing/);
  });

  test('a persistent id that is not a storage reference', async () => {
    const bad = [...P.mark, ...P.str('storage'), ...P.global('collections', 'OrderedDict'), ...P.str('0'), ...P.str('cpu'), ...P.int(2), ...P.tuple, ...P.persid];
    expect((await refusal(zipPth(dictPickle([['w', bad]]), goodStorages))).message).toMatch(/unsupported persistent id/);
    void storage;
  });

  test('strings that are not UTF-8 and memo entries never stored', async () => {
    const badStr = new Uint8Array([...P.proto, ...P.emptyDict, 0x58, 1, 0, 0, 0, 0xff, ...P.int(1), ...P.setitem, ...P.stop]);
    expect((await refusal(zipPth(badStr, goodStorages))).message).toMatch(/not valid UTF-8/);
    const badGet = new Uint8Array([...P.proto, 0x68, 5, ...P.stop]);
    expect((await refusal(zipPth(badGet, goodStorages))).message).toMatch(/memo entry 5 was never stored/);
  });
});

describe('zip archives', () => {
  const pth = () => new Uint8Array(readFileSync(golden('torch_state.pth')));
  const cdEntries = (b: Uint8Array) => {
    const out: number[] = [];
    for (let i = 0; i + 4 <= b.length; i++) if (b[i] === 0x50 && b[i + 1] === 0x4b && b[i + 2] === 1 && b[i + 3] === 2) out.push(i);
    return out;
  };

  test('a central-directory extra field that runs past the directory is a format error', async () => {
    const b = pth();
    const last = cdEntries(b).at(-1)!;
    new DataView(b.buffer).setUint16(last + 30, 0xfff0, true);
    expect((await refusal(b)).message).toMatch(/runs past the directory's end|extra field/);
  });

  test("the ZIP64 end record's offsets are used when one is present", async () => {
    const b = pth();
    const eocd = b.length - 22;
    expect(new DataView(b.buffer).getUint32(eocd, true)).toBe(0x06054b50);
    new DataView(b.buffer).setUint32(eocd + 16, 0, true); // a wrong 32-bit directory offset; the ZIP64 one is right
    const ck = await openCheckpoint(b);
    for (const k of KEYS) expect(Array.from((await ck.get(k)).data, Number), k).toEqual(ref[k].data.map(Number));
  });

  test('ZIP64 extra fields: saturated sizes and local-header offsets are read from them; a short one is a format error', async () => {
    const pkl = dictPickle([['w', good()], ['b', tensor('1', 3, [3])]]);
    const ck = await openCheckpoint(zipPth(pkl, goodStorages, 'archive', { zip64Entries: true }));
    expect(Array.from((await ck.get('w')).data)).toEqual([1, 2]);
    expect(Array.from((await ck.get('b')).data)).toEqual([3, 4, 5]);
    expect((await refusal(zipPth(pkl, goodStorages, 'archive', { zip64Entries: true, zip64ExtraLen: 12 }))).message).toMatch(/ZIP64 extra field of entry archive\/data.pkl is too short/);
  });

  test('a flipped byte in a storage fails the read of that tensor (CRC-32); verifyChecksums: false reads it', async () => {
    const b = pth();
    const ck0 = (await openCheckpoint(b)) as TorchCheckpoint;
    const spans = (ck0 as unknown as { storages: Map<string, { offset: number }>; tensors: Map<string, { storage: { key: string } }> });
    const key = 'pos_embed';
    const off = spans.storages.get(spans.tensors.get(key)!.storage.key)!.offset;
    b[off] ^= 0x01;
    const ck = await openCheckpoint(b);
    const err = await ck.get(key).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err.message).toMatch(/\[pos_embed\].*does not match its CRC-32/);
    const unchecked = await openCheckpoint(b, { verifyChecksums: false });
    expect(Array.from((await unchecked.get(key)).data)).not.toEqual(ref[key].data);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  test('two entries with one name, or a directory entry pointing at another entry, are refused', async () => {
    const b = pth();
    const text = new TextDecoder('latin1').decode(b);
    const cd = cdEntries(b);
    // rename the central-directory name of data/1 to data/0 (same length)
    const at = text.indexOf('torch_state/data/1', cd[0]);
    b[at + 'torch_state/data/'.length] = '0'.charCodeAt(0);
    expect((await refusal(b)).message).toMatch(/two entries are named torch_state\/data\/0/);
    const c = pth();
    const dv = new DataView(c.buffer);
    dv.setUint32(cd[2] + 42, dv.getUint32(cd[1] + 42, true), true); // data/1's record points at data/0's local header
    expect((await refusal(c)).message).toMatch(/local header at byte \d+ is not that of torch_state\/data\/1/);
  });

  test('every truncation of the file is a typed error', async () => {
    const b = pth();
    for (let n = 0; n < b.length; n += 7) await refusal(b.subarray(0, n));
  });
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  CheckpointDTypeError,
  CheckpointFormatError,
  CheckpointKeyError,
  SafetensorsReader,
  saveSafetensors,
  serializeSafetensors,
} from '../../src/checkpoint/index.js';
import { FIXTURES } from '../fixtures_path.js';

const weights = join(FIXTURES, 'encoder/iv2-tiny/weights.safetensors');

function header(obj: unknown, data = new Uint8Array(0), lenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof obj === 'string' ? obj : JSON.stringify(obj));
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

describe('SafetensorsReader', () => {
  test('reads the iv2-tiny fixture lazily with its metadata', async () => {
    const r = await SafetensorsReader.open(weights);
    expect(r.keys()).toContain('patch_embed.proj.weight');
    expect(r.info('patch_embed.proj.weight')).toEqual({ dtype: 'F32', shape: [64, 3, 1, 14, 14] });
    expect(r.metadata.format).toBe('pt');
    const t = await r.get('cls_token');
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([1, 1, 64]);
    // Same bytes as a direct read of the file at the header's offsets.
    const buf = readFileSync(weights);
    const n = Number(buf.readBigUInt64LE(0));
    const h = JSON.parse(buf.subarray(8, 8 + n).toString());
    const [b] = h.cls_token.data_offsets;
    expect(t.data[5]).toBe(buf.readFloatLE(8 + n + b + 20));
    await expect(r.get('nope')).rejects.toBeInstanceOf(CheckpointKeyError);
    await r.close();
  });

  test('serialize → read → serialize gives identical bytes for every dtype', async () => {
    const bytes = serializeSafetensors(
      {
        f32: { dtype: 'float32', shape: [3], data: new Float32Array([1.5, -2, 3e-8]) },
        f16: { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 0.1, 65504, -6e-8]), storeAs: 'F16' },
        bf16: { dtype: 'float32', shape: [3], data: new Float32Array([1, 0.1, -3.3e38]), storeAs: 'BF16' },
        i64: { dtype: 'int32', shape: [2], data: new Int32Array([-5, 2147483647]), storeAs: 'I64' },
        i32: { dtype: 'int32', shape: [1], data: new Int32Array([7]) },
        u8: { dtype: 'int32', shape: [2], data: new Int32Array([0, 255]), storeAs: 'U8' },
        b: { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
      },
      { note: 'x' },
    );
    const r = await SafetensorsReader.open(bytes);
    const again: Record<string, Awaited<ReturnType<typeof r.getRaw>>> = {};
    for (const k of r.keys()) again[k] = await r.getRaw(k);
    expect(serializeSafetensors(again, r.metadata)).toEqual(bytes);
    expect(Array.from((await r.get('f16')).data)).toEqual([1, 0.0999755859375, 65504, -5.960464477539063e-8]);
    expect(Array.from((await r.get('i64')).data)).toEqual([-5, 2147483647]);
    expect((await r.get('b')).dtype).toBe('bool');
  });

  test('saveSafetensors writes atomically and streams', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iv2-st-'));
    const p = join(dir, 'a.safetensors');
    const src = await SafetensorsReader.open(weights);
    await saveSafetensors(
      p,
      src.keys().map((k) => [k, src.info(k)]),
      (k) => src.getRaw(k),
      src.metadata,
    );
    // The fixture was written by the reference implementation: our writer must reproduce it byte for byte.
    expect(readFileSync(p).equals(readFileSync(weights))).toBe(true);
    await src.close();
  });
});

describe('hostile safetensors files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-hostile-'));
  const cases: Array<[string, Uint8Array, RegExp, new (...a: never[]) => Error]> = [
    ['too short', new Uint8Array(3), /fewer than the 8-byte/, CheckpointFormatError],
    [
      'truncated',
      serializeSafetensors({ w: { dtype: 'float32', shape: [4, 4], data: new Float32Array(16) } }).subarray(0, -10),
      /\[w\].*run past the data section/,
      CheckpointFormatError,
    ],
    ['header past end', header({}, new Uint8Array(0), 1000n), /runs past the end/, CheckpointFormatError],
    ['not JSON', header('{"a": nope'), /not valid UTF-8 JSON/, CheckpointFormatError],
    [
      'offset out of range',
      header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)),
      /run past the data section/,
      CheckpointFormatError,
    ],
    [
      'overlap',
      header(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
        new Uint8Array(12),
      ),
      /overlap/,
      CheckpointFormatError,
    ],
    [
      'size vs shape',
      header({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)),
      /needs 6/,
      CheckpointFormatError,
    ],
    ['unknown dtype', header({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)), /unknown dtype/, CheckpointFormatError],
    // The reference crate's coverage rule: the ranges, sorted, tile the data section exactly.
    [
      'hole between tensors',
      header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)),
      /\[b\].*bytes 4\.\.8 of the data section unused after 'a'/,
      CheckpointFormatError,
    ],
    [
      'bytes after the last tensor',
      header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(7)),
      /\[a\].*3 bytes after 'a' belong to no tensor/,
      CheckpointFormatError,
    ],
    ['bytes but no tensor', header({}, new Uint8Array(2)), /2 bytes after the header belong to no tensor/, CheckpointFormatError],
    [
      'first tensor not at 0',
      header({ a: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, new Uint8Array(2)),
      /\[a\].*bytes 0\.\.1 of the data section unused/,
      CheckpointFormatError,
    ],
    [
      'zero-size tensor inside another',
      header(
        { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, z: { dtype: 'F32', shape: [0], data_offsets: [4, 4] } },
        new Uint8Array(8),
      ),
      /\[a\].*overlap those of 'z'|\[z\].*overlap/,
      CheckpointFormatError,
    ],
    [
      'zero-size tensor past the end',
      header({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, z: { dtype: 'F32', shape: [0], data_offsets: [9, 9] } }, new Uint8Array(4)),
      /\[z\]/,
      CheckpointFormatError,
    ],
    ['header over 100 MB (decimal)', header({}, new Uint8Array(0), 100_000_001n), /exceeds the 100000000-byte limit/, CheckpointFormatError],
    ['byte-order mark', header('\ufeff{}'), /not valid UTF-8 JSON/, CheckpointFormatError],
    ['lone surrogate in a key', header('{"\\ud800":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'), /lone leading surrogate/, CheckpointFormatError],
    ['key given twice', header('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', new Uint8Array(1)), /appears twice/, CheckpointFormatError],
    ['offset written as a float', header('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1.0]}}', new Uint8Array(1)), /\[a\].*1\.0 is not an unsigned 64-bit integer/, CheckpointFormatError],
    ['offset with an exponent', header('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1e0]}}', new Uint8Array(1)), /1e0 is not/, CheckpointFormatError],
    ['negative zero dimension', header('{"a":{"dtype":"U8","shape":[-0],"data_offsets":[0,0]}}'), /-0 is not/, CheckpointFormatError],
    ['leading zero', header('{"a":{"dtype":"U8","shape":[01],"data_offsets":[0,1]}}', new Uint8Array(1)), /leading zero/, CheckpointFormatError],
    ['offset past 2^64', header('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,18446744073709551616]}}'), /not an unsigned 64-bit/, CheckpointFormatError],
    [
      'shape product overflows 64 bits before a zero',
      header('{"a":{"dtype":"U8","shape":[9223372036854775808,2,0],"data_offsets":[0,0]}}'),
      /\[a\].*overflows 64 bits/,
      CheckpointFormatError,
    ],
    [
      'dimension past 2^53 (valid, not representable)',
      header('{"a":{"dtype":"U8","shape":[9007199254740993,0],"data_offsets":[0,0]}}'),
      /\[a\].*dimension past 2\^53/,
      CheckpointFormatError,
    ],
    ['metadata value not a string', header({ __metadata__: { n: 1 } }), /__metadata__ is not an object of strings/, CheckpointFormatError],
    ['tensor entry as a list', header('{"a":["U8",[1],[0,1]]}', new Uint8Array(1)), /\[a\].*not an object/, CheckpointFormatError],
    ['trailing characters after the header object', header('{} x'), /trailing characters/, CheckpointFormatError],
    ['U16: valid safetensors, no tfjs dtype', header({ a: { dtype: 'U16', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /\[a\].*U16 has no tfjs counterpart/, CheckpointDTypeError],
  ];
  for (const [name, bytes, msg, cls] of cases) {
    test(`${name}: typed error naming the file, file untouched`, async () => {
      const p = join(dir, `${name.replace(/\W/g, '_')}.safetensors`);
      writeFileSync(p, bytes);
      const before = createHash('sha256').update(readFileSync(p)).digest('hex');
      const err = await SafetensorsReader.open(p).then(
        () => null,
        (e) => e,
      );
      expect(err).toBeInstanceOf(cls);
      expect(err.message).toMatch(msg);
      expect(err.message).toContain(p);
      expect(createHash('sha256').update(readFileSync(p)).digest('hex')).toBe(before);
    });
  }

  test('what the reference accepts is read: zero-size tensors at a boundary, whitespace, null metadata, unknown fields', async () => {
    const bytes = header(
      ' {"__metadata__":null,"z":{"dtype":"F32","shape":[0,3],"data_offsets":[4,4],"note":[1,{"x":2.5e3}]},' +
        '"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"BOOL","shape":[],"data_offsets":[4,5]}}\t',
      new Uint8Array([0, 0, 128, 63, 1]),
    );
    const r = await SafetensorsReader.open(bytes);
    expect(r.keys().sort()).toEqual(['a', 'e', 'z']);
    expect(r.info('z')).toEqual({ dtype: 'F32', shape: [0, 3] });
    expect(Array.from((await r.get('a')).data)).toEqual([1]);
    expect((await r.get('z')).data.length).toBe(0);
    expect(Array.from((await r.get('e')).data)).toEqual([1]);
    expect(r.metadata).toEqual({});
    const { openCheckpoint } = await import('../../src/checkpoint/index.js');
    expect((await openCheckpoint(bytes)).keys().length).toBe(3);
  });

  test('int64 outside int32 is refused with the key named', async () => {
    const bytes = serializeSafetensors({
      big: { dtype: 'I64', shape: [1], bytes: new Uint8Array(new BigInt64Array([1n << 40n]).buffer) },
    });
    const r = await SafetensorsReader.open(bytes);
    await expect(r.get('big')).rejects.toThrow(CheckpointDTypeError);
    await expect(r.get('big')).rejects.toThrow(/\[big\].*does not fit in int32/);
  });
});

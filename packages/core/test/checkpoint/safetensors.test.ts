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

  test('int64 outside int32 is refused with the key named', async () => {
    const bytes = serializeSafetensors({
      big: { dtype: 'I64', shape: [1], bytes: new Uint8Array(new BigInt64Array([1n << 40n]).buffer) },
    });
    const r = await SafetensorsReader.open(bytes);
    await expect(r.get('big')).rejects.toThrow(CheckpointDTypeError);
    await expect(r.get('big')).rejects.toThrow(/\[big\].*does not fit in int32/);
  });
});

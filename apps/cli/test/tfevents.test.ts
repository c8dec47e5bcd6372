import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { crc32c, maskedCrc32c } from '../src/logging/crc32c.js';
import { encodeEvent, frameRecord, TensorBoardWriter } from '../src/logging/tfevents.js';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));

test('CRC-32C matches the RFC 3720 (iSCSI) test vectors', () => {
  expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
});

test('the framing of a 24-byte record is the header every TensorBoard event file starts with', () => {
  // Every event file written by TensorFlow begins with these 12 bytes (length 24, masked CRC of the length).
  const rec = frameRecord(new Uint8Array(24));
  expect(Array.from(rec.subarray(0, 12))).toEqual(Array.from(hex('18 00 00 00 00 00 00 00 a3 7f 4b 22')));
  expect(maskedCrc32c(new Uint8Array(0))).toBe(((((0 >>> 15) | (0 << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('Event protos are encoded field by field as event.proto / summary.proto define them', () => {
  // wall_time 1.5 (field 1, fixed64), step 3 (field 2, varint), summary { value { tag "a", simple_value 2 } }
  expect(Array.from(encodeEvent({ wallTime: 1.5, step: 3, scalars: { a: 2 } }))).toEqual(
    Array.from(hex('09 00 00 00 00 00 00 f8 3f 10 03 2a 0a 0a 08 0a 01 61 15 00 00 00 40')),
  );
  const v = encodeEvent({ wallTime: 0, fileVersion: 'brain.Event:2' });
  expect(v.length).toBe(24);
  expect(new TextDecoder().decode(v.subarray(11))).toBe('brain.Event:2');
  // multi-byte varint step: 300 = ac 02
  expect(Array.from(encodeEvent({ wallTime: 0, step: 300 }).subarray(9))).toEqual([0x10, 0xac, 0x02]);
});

/** An independent reader: TFRecord framing with CRC checks, then a generic protobuf walk. */
function readRecords(bytes: Uint8Array): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < bytes.length) {
    const n = Number(dv.getBigUint64(p, true));
    expect(dv.getUint32(p + 8, true)).toBe(maskedCrc32c(bytes.subarray(p, p + 8)));
    const data = bytes.subarray(p + 12, p + 12 + n);
    expect(dv.getUint32(p + 12 + n, true)).toBe(maskedCrc32c(data));
    out.push(data);
    p += 16 + n;
  }
  return out;
}

function fields(b: Uint8Array): Array<[number, number | bigint | Uint8Array]> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Array<[number, number | bigint | Uint8Array]> = [];
  let p = 0;
  const varint = () => {
    let x = 0n, s = 0n;
    for (;;) {
      const c = b[p++];
      x |= BigInt(c & 0x7f) << s;
      s += 7n;
      if (!(c & 0x80)) return x;
    }
  };
  while (p < b.length) {
    const key = Number(varint());
    const [f, w] = [key >> 3, key & 7];
    if (w === 0) out.push([f, varint()]);
    else if (w === 1) (out.push([f, dv.getFloat64(p, true)]), (p += 8));
    else if (w === 5) (out.push([f, dv.getFloat32(p, true)]), (p += 4));
    else if (w === 2) {
      const n = Number(varint());
      out.push([f, b.subarray(p, p + n)]);
      p += n;
    } else throw new Error(`wire type ${w}`);
  }
  return out;
}

test('TensorBoardWriter writes a file-version record, then one event per step with every scalar', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-tb-'));
  let t = 1000;
  const w = new TensorBoardWriter(dir, { now: () => (t += 0.5) });
  w.scalars(1, { 'loss/total': 2.5, lr: 1e-4 });
  w.scalars(2, { 'loss/total': Number.NaN });
  w.close();
  const files = readdirSync(dir);
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/^events\.out\.tfevents\.1000\./);
  const recs = readRecords(readFileSync(join(dir, files[0])));
  expect(recs).toHaveLength(3);
  const first = fields(recs[0]);
  expect(first[0]).toEqual([1, 1000.5]);
  expect(new TextDecoder().decode(first[1][1] as Uint8Array)).toBe('brain.Event:2');
  const e1 = fields(recs[1]);
  expect(e1[1]).toEqual([2, 1n]);
  const values = fields(e1[2][1] as Uint8Array).map(([, v]) => fields(v as Uint8Array));
  expect(values.map((v) => new TextDecoder().decode(v[0][1] as Uint8Array))).toEqual(['loss/total', 'lr']);
  expect(values[0][1][1]).toBe(2.5);
  expect(values[1][1][1]).toBeCloseTo(1e-4, 10);
  const e2 = fields(recs[2]);
  expect(Number.isNaN(fields(fields(e2[2][1] as Uint8Array)[0][1] as Uint8Array)[1][1] as number)).toBe(true);
});

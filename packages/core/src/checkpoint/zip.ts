import type { ByteReader } from './byte_reader.js';
import { CheckpointFormatError } from './errors.js';

export interface ZipEntry {
  name: string;
  /** Offset of the entry's data (after its local header). */
  dataOffset: number;
  size: number;
  method: number;
  /** CRC-32 of the entry's (uncompressed) bytes, from the central directory. */
  crc32: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CDH = 0x02014b50;
const LFH = 0x04034b50;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (the zip polynomial). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Lists a zip archive's entries from its central directory, as torch.save writes them: stored, uncompressed, with
 * a ZIP64 end record (whose sizes and offsets are used whenever it is present). Nothing but the directory and the
 * local headers is read. Every field is bounds-checked: a malformed archive is a {@link CheckpointFormatError}
 * naming the file; two entries with one name, or a local header naming another entry, are refused.
 */
export async function readZipDirectory(r: ByteReader): Promise<Map<string, ZipEntry>> {
  const file = r.name;
  const fail = (msg: string) => new CheckpointFormatError(msg, file);
  const names = new TextDecoder('utf-8', { fatal: true });
  const tailLen = Math.min(r.size, 65557);
  const tail = await r.read(r.size - tailLen, tailLen);
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) if (tv.getUint32(i, true) === EOCD) { eocd = i; break; }
  if (eocd < 0) throw fail('zip end-of-central-directory record not found (truncated file?)');
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  const loc = eocd - 20;
  const hasLocator = loc >= 0 && tv.getUint32(loc, true) === EOCD64_LOCATOR;
  if (hasLocator) {
    const e64 = Number(tv.getBigUint64(loc + 8, true));
    if (!(e64 + 56 <= r.size)) throw fail(`ZIP64 end record at byte ${e64} lies past the end of the file`);
    const rec = await r.read(e64, 56);
    const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (rec.byteLength < 56 || rv.getUint32(0, true) !== EOCD64) throw fail(`no ZIP64 end record at byte ${e64}`);
    count = Number(rv.getBigUint64(32, true));
    cdSize = Number(rv.getBigUint64(40, true));
    cdOffset = Number(rv.getBigUint64(48, true));
  } else if (cdOffset === 0xffffffff || count === 0xffff || cdSize === 0xffffffff) {
    throw fail('ZIP64 locator missing');
  }
  if (!(cdOffset + cdSize <= r.size)) throw fail(`central directory [${cdOffset}, +${cdSize}] runs past the end of the file`);
  // Each directory entry takes at least 46 bytes: a larger count cannot be right.
  if (!(count * 46 <= cdSize)) throw fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
  const cd = await r.read(cdOffset, cdSize);
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || v.getUint32(p, true) !== CDH) throw fail(`bad central directory entry ${i}`);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let local = v.getUint32(p + 42, true);
    const x0 = p + 46 + nameLen;
    const xEnd = x0 + extraLen;
    if (xEnd + commentLen > cd.byteLength) throw fail(`central directory entry ${i} runs past the directory's end`);
    let name: string;
    try {
      name = names.decode(cd.subarray(p + 46, x0));
    } catch {
      throw fail(`central directory entry ${i} has a name that is not UTF-8`);
    }
    // ZIP64 extra field: the 64-bit values present are those whose 32-bit fields are saturated, in this order.
    for (let x = x0; x + 4 <= xEnd; ) {
      const id = v.getUint16(x, true);
      const len = v.getUint16(x + 2, true);
      if (x + 4 + len > xEnd) throw fail(`extra field of entry ${name} runs past its end`);
      if (id === 0x0001) {
        let q = x + 4;
        const u64 = () => {
          if (q + 8 > x + 4 + len) throw fail(`ZIP64 extra field of entry ${name} is too short`);
          q += 8;
          return Number(v.getBigUint64(q - 8, true));
        };
        if (v.getUint32(p + 24, true) === 0xffffffff) size = u64();
        if (v.getUint32(p + 20, true) === 0xffffffff) u64();
        if (v.getUint32(p + 42, true) === 0xffffffff) local = u64();
      }
      x += 4 + len;
    }
    if (entries.has(name)) throw fail(`two entries are named ${name}`);
    entries.set(name, { name, dataOffset: local, size, method, crc32: crc });
    p = xEnd + commentLen;
  }
  // Resolve data offsets from the local headers (their name/extra lengths may differ from the directory's).
  for (const e of entries.values()) {
    if (!(e.dataOffset + 30 <= r.size)) throw fail(`local header of ${e.name} lies past the end of the file`);
    const h = await r.read(e.dataOffset, 30);
    const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    if (h.byteLength < 30 || hv.getUint32(0, true) !== LFH) throw fail(`bad local header for ${e.name}`);
    const nameLen = hv.getUint16(26, true);
    const own = await r.read(e.dataOffset + 30, nameLen);
    if (own.byteLength !== nameLen || new TextDecoder().decode(own) !== e.name) throw fail(`the local header at byte ${e.dataOffset} is not that of ${e.name}`);
    e.dataOffset += 30 + nameLen + hv.getUint16(28, true);
    if (!(e.dataOffset + e.size <= r.size)) throw fail(`entry ${e.name} runs past the end of the file`);
  }
  return entries;
}

import type { ByteReader } from './byte_reader.js';
import { CheckpointFormatError } from './errors.js';

export interface ZipEntry {
  name: string;
  /** Offset of the entry's data (after its local header). */
  dataOffset: number;
  size: number;
  method: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const CDH = 0x02014b50;
const LFH = 0x04034b50;

/**
 * Lists a zip archive's entries from its central directory (ZIP64 included), as torch.save writes them: stored,
 * uncompressed. Nothing but the directory and the local headers is read.
 */
export async function readZipDirectory(r: ByteReader): Promise<Map<string, ZipEntry>> {
  const file = r.name;
  const tailLen = Math.min(r.size, 65557);
  const tail = await r.read(r.size - tailLen, tailLen);
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tailLen - 22; i >= 0; i--) if (tv.getUint32(i, true) === EOCD) { eocd = i; break; }
  if (eocd < 0) throw new CheckpointFormatError('zip end-of-central-directory record not found (truncated file?)', file);
  let count = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true);
  let cdOffset = tv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const loc = eocd - 20;
    if (loc < 0 || tv.getUint32(loc, true) !== EOCD64_LOCATOR) throw new CheckpointFormatError('ZIP64 locator missing', file);
    const e64 = Number(tv.getBigUint64(loc + 8, true));
    const rec = await r.read(e64, 56);
    const rv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    count = Number(rv.getBigUint64(32, true));
    cdSize = Number(rv.getBigUint64(40, true));
    cdOffset = Number(rv.getBigUint64(48, true));
  }
  if (cdOffset + cdSize > r.size) throw new CheckpointFormatError(`central directory [${cdOffset}, +${cdSize}] runs past the end of the file`, file);
  const cd = await r.read(cdOffset, cdSize);
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || v.getUint32(p, true) !== CDH) throw new CheckpointFormatError(`bad central directory entry ${i}`, file);
    const method = v.getUint16(p + 10, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let local = v.getUint32(p + 42, true);
    const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extra field: the 64-bit values present are those whose 32-bit fields are saturated, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = v.getUint16(x, true);
      const len = v.getUint16(x + 2, true);
      if (id === 0x0001) {
        let q = x + 4;
        if (v.getUint32(p + 24, true) === 0xffffffff) { size = Number(v.getBigUint64(q, true)); q += 8; }
        if (v.getUint32(p + 20, true) === 0xffffffff) q += 8;
        if (v.getUint32(p + 42, true) === 0xffffffff) local = Number(v.getBigUint64(q, true));
      }
      x += 4 + len;
    }
    entries.set(name, { name, dataOffset: local, size, method });
    p = xEnd + commentLen;
  }
  // Resolve data offsets from the local headers (their name/extra lengths may differ from the directory's).
  for (const e of entries.values()) {
    const h = await r.read(e.dataOffset, 30);
    const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    if (h.byteLength < 30 || hv.getUint32(0, true) !== LFH) throw new CheckpointFormatError(`bad local header for ${e.name}`, file);
    e.dataOffset += 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (e.dataOffset + e.size > r.size) throw new CheckpointFormatError(`entry ${e.name} runs past the end of the file`, file);
  }
  return entries;
}

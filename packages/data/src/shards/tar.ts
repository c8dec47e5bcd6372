import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ShardFormatError } from '../errors.js';

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar header for a regular file (names up to 100 bytes, or 255 with the prefix field). */
export function tarHeader(name: string, size: number, mtime = 0): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const enc = new TextEncoder();
  let base = name;
  let prefix = '';
  if (enc.encode(name).length > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || enc.encode(name.slice(cut + 1)).length > 100) throw new RangeError(`tar member name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const put = (s: string, off: number) => h.set(enc.encode(s), off);
  put(base, 0);
  put(octal(0o644, 8), 100);
  put(octal(0, 8), 108);
  put(octal(0, 8), 116);
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put('        ', 148);
  h[156] = '0'.charCodeAt(0);
  put('ustar\0', 257);
  put('00', 263);
  put(prefix, 345);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** Appends members to a tar file; `close` writes the two zero blocks that end the archive. */
export class TarWriter {
  private size = 0;
  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  static async create(path: string): Promise<TarWriter> {
    return new TarWriter(await open(path, 'w'), path);
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.size;
  }

  async add(name: string, data: Uint8Array): Promise<void> {
    await this.fh.write(tarHeader(name, data.length));
    await this.fh.write(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) await this.fh.write(new Uint8Array(pad));
    this.size += BLOCK + data.length + pad;
  }

  async close(): Promise<void> {
    await this.fh.write(new Uint8Array(2 * BLOCK));
    this.size += 2 * BLOCK;
    await this.fh.close();
  }
}

export interface TarMember {
  name: string;
  data: Uint8Array;
}

function readString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(off, end));
}

/**
 * Streams the regular-file members of a tar file; only one member is in memory at a time. Checks every header's
 * checksum and refuses truncated members.
 */
export async function* readTar(path: string, signal?: AbortSignal): AsyncGenerator<TarMember> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20, signal });
  let buf = new Uint8Array(0);
  let header: { name: string; size: number; type: string } | null = null;
  let zeroBlocks = 0;
  let offset = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const merged = new Uint8Array(buf.length + chunk.length);
    merged.set(buf);
    merged.set(chunk, buf.length);
    buf = merged;
    for (;;) {
      if (!header) {
        if (buf.length < BLOCK) break;
        const h = buf.subarray(0, BLOCK);
        if (h.every((x) => x === 0)) {
          zeroBlocks++;
          buf = buf.subarray(BLOCK);
          offset += BLOCK;
          if (zeroBlocks >= 2) return;
          continue;
        }
        let sum = 0;
        for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
        const stored = parseInt(readString(h, 148, 8).trim(), 8);
        if (sum !== stored) throw new ShardFormatError(path, `bad header checksum at byte ${offset}`);
        const prefix = readString(h, 345, 155);
        const name = (prefix ? `${prefix}/` : '') + readString(h, 0, 100);
        const size = parseInt(readString(h, 124, 12).trim() || '0', 8);
        header = { name, size, type: String.fromCharCode(h[156] || 48) };
        buf = buf.subarray(BLOCK);
        offset += BLOCK;
      }
      const padded = Math.ceil(header.size / BLOCK) * BLOCK;
      if (buf.length < padded) break;
      if (header.type === '0' || header.type === '\0') yield { name: header.name, data: buf.slice(0, header.size) };
      buf = buf.subarray(padded);
      offset += padded;
      header = null;
    }
  }
  if (header) throw new ShardFormatError(path, `truncated member ${header.name} at byte ${offset}`);
  if (buf.length > 0 && !buf.every((x) => x === 0)) throw new ShardFormatError(path, `truncated header at byte ${offset}`);
}

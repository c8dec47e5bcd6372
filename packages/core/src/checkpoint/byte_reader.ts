import { CheckpointFormatError } from './errors.js';

/** Positional reads from a file, a Blob or bytes, so that a large checkpoint is never held whole. */
export interface ByteReader {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export function bytesReader(bytes: Uint8Array, name = '<bytes>'): ByteReader {
  return {
    name,
    size: bytes.byteLength,
    async read(offset, length) {
      return bytes.subarray(offset, offset + length);
    },
    async close() {},
  };
}

export function blobReader(blob: Blob, name = '<blob>'): ByteReader {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
    async close() {},
  };
}

/**
 * HTTP range reads (`Range: bytes=a-b`), so that a remote checkpoint is fetched tensor by tensor. A server that
 * ignores ranges (answers 200 to the probe) is read whole once, as the only way left.
 */
export async function urlReader(url: string, init: RequestInit = {}): Promise<ByteReader> {
  const fail = (msg: string) => new CheckpointFormatError(msg, url);
  const get = (range: string) => fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), Range: `bytes=${range}` } });
  const probe = await get('0-0');
  if (probe.status === 200) return bytesReader(new Uint8Array(await probe.arrayBuffer()), url);
  if (probe.status === 416) return bytesReader(new Uint8Array(0), url); // an empty file has no byte 0
  if (probe.status !== 206) throw fail(`HTTP ${probe.status} ${probe.statusText}`);
  await probe.arrayBuffer();
  const total = /\/(\d+)\s*$/.exec(probe.headers.get('content-range') ?? '');
  if (!total) throw fail(`range response without a total size (Content-Range: ${probe.headers.get('content-range')})`);
  const size = Number(total[1]);
  return {
    name: url,
    size,
    async read(offset, length) {
      const end = Math.min(offset + length, size);
      if (end <= offset) return new Uint8Array(0);
      const res = await get(`${offset}-${end - 1}`);
      if (res.status !== 206) throw fail(`HTTP ${res.status} for bytes ${offset}-${end - 1}`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (bytes.byteLength !== end - offset) throw fail(`asked for ${end - offset} bytes at byte ${offset}, got ${bytes.byteLength}`);
      return bytes;
    },
    async close() {},
  };
}

/** Node only: a file handle with positional reads. */
export async function fileReader(path: string): Promise<ByteReader> {
  const fs = await import('node:fs/promises');
  const fh = await fs.open(path, 'r');
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? buf : buf.subarray(0, done);
    },
    async close() {
      await fh.close();
    },
  };
}

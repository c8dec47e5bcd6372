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

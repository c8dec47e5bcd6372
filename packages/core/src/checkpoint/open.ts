import { type ByteReader, blobReader, bytesReader, fileReader } from './byte_reader.js';
import { CheckpointFormatError } from './errors.js';
import { SafetensorsReader } from './safetensors.js';
import type { TensorSource } from './types.js';

export type CheckpointInput = string | URL | Uint8Array | ArrayBuffer | Blob | ByteReader;

/** A file path (Node), a URL (fetched whole), bytes or a Blob, as positional reads. */
export async function toByteReader(input: CheckpointInput): Promise<ByteReader> {
  if (typeof input === 'string' && !/^(https?|blob|data):/.test(input)) return fileReader(input);
  if (typeof input === 'string' || input instanceof URL) {
    const url = String(input);
    if (url.startsWith('file:')) {
      const { fileURLToPath } = await import('node:url');
      return fileReader(fileURLToPath(url));
    }
    const res = await fetch(url);
    if (!res.ok) throw new CheckpointFormatError(`HTTP ${res.status} ${res.statusText}`, url);
    return bytesReader(new Uint8Array(await res.arrayBuffer()), url);
  }
  if (input instanceof Uint8Array) return bytesReader(input);
  if (input instanceof ArrayBuffer) return bytesReader(new Uint8Array(input));
  if (typeof Blob !== 'undefined' && input instanceof Blob) return blobReader(input);
  return input as ByteReader;
}

/** Opens a checkpoint by sniffing its first bytes. Only safetensors files are read by this build of the reader. */
export async function openCheckpoint(input: CheckpointInput): Promise<TensorSource & { close(): Promise<void> }> {
  const reader = await toByteReader(input);
  const head = await reader.read(0, Math.min(16, reader.size));
  if (reader.size >= 9 && head[8] === 0x7b /* '{' */) return SafetensorsReader.open(reader);
  await reader.close();
  if (head[0] === 0x50 && head[1] === 0x4b) {
    throw new CheckpointFormatError(
      'this is a PyTorch zip checkpoint: convert it to safetensors first (see the README, "Converting checkpoints")',
      reader.name,
    );
  }
  throw new CheckpointFormatError('not a safetensors file (no JSON header after the 8-byte length)', reader.name);
}

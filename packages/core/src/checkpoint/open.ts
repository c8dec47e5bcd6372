import { type ByteReader, blobReader, bytesReader, fileReader, urlReader } from './byte_reader.js';
import { CheckpointFormatError } from './errors.js';
import { TorchCheckpoint, type TorchLoadOptions } from './pytorch.js';
import { SafetensorsReader } from './safetensors.js';
import { ShardedSafetensors } from './sharded.js';
import type { TensorSource } from './types.js';

export type CheckpointInput = string | URL | Uint8Array | ArrayBuffer | Blob | ByteReader;

/** A file path (Node), a URL (HTTP range reads), bytes or a Blob, as positional reads. */
export async function toByteReader(input: CheckpointInput): Promise<ByteReader> {
  if (typeof input === 'string' && !/^(https?|blob|data):/.test(input)) return fileReader(input);
  if (typeof input === 'string' || input instanceof URL) {
    const url = String(input);
    if (url.startsWith('file:')) {
      const { fileURLToPath } = await import('node:url');
      return fileReader(fileURLToPath(url));
    }
    return urlReader(url);
  }
  if (input instanceof Uint8Array) return bytesReader(input);
  if (input instanceof ArrayBuffer) return bytesReader(new Uint8Array(input));
  if (typeof Blob !== 'undefined' && input instanceof Blob) return blobReader(input);
  return input as ByteReader;
}

/**
 * Opens a checkpoint: a `*.safetensors.index.json` of shards, or a file sniffed by its first bytes (safetensors, or a
 * PyTorch checkpoint `.pt`/`.pth`/`.bin` in the zip or the legacy layout).
 */
export async function openCheckpoint(
  input: CheckpointInput,
  opts: TorchLoadOptions = {},
): Promise<TensorSource & { close(): Promise<void> }> {
  if (typeof input === 'string' && input.endsWith('.index.json')) return ShardedSafetensors.open(input);
  const reader = await toByteReader(input);
  const head = await reader.read(0, Math.min(64, reader.size));
  // safetensors: an 8-byte length, then a JSON object (JSON whitespace may come first).
  let j = 8;
  while (j < head.length && (head[j] === 0x20 || head[j] === 0x0a || head[j] === 0x0d || head[j] === 0x09)) j++;
  if (head[j] === 0x7b /* '{' */) return SafetensorsReader.open(reader);
  // A zip archive ('PK') or a legacy torch.save stream (pickle PROTO opcode).
  if ((head[0] === 0x50 && head[1] === 0x4b) || (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5)) {
    try {
      return await TorchCheckpoint.open(reader, opts);
    } catch (e) {
      await reader.close();
      throw e;
    }
  }
  await reader.close();
  throw new CheckpointFormatError('neither safetensors nor a PyTorch checkpoint', reader.name);
}

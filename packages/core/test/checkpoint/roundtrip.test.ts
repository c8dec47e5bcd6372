import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { type CheckpointDType, openCheckpoint, SafetensorsReader, serializeSafetensors, type TensorSource } from '../../src/index.js';

const golden = (f: string) => fileURLToPath(new URL(`../golden/${f}`, import.meta.url));

/** Loads every tensor as tfjs values (widened) and writes it back in its stored dtype. */
async function resave(src: TensorSource): Promise<Uint8Array> {
  const out: Parameters<typeof serializeSafetensors>[0] = {};
  for (const k of src.keys()) out[k] = { ...(await src.get(k)), storeAs: src.info(k).dtype };
  return serializeSafetensors(out, src.metadata);
}

test('load → save → load → save of PyTorch-written F32/F16/BF16/I64/BOOL gives torch bytes, then identical files', async () => {
  for (const file of ['torch_state.safetensors', 'torch_state.pth', 'torch_state_legacy.pth']) {
    const torchFile = await openCheckpoint(golden(file));
    const first = await resave(torchFile);
    const reread = await SafetensorsReader.open(first);
    // Widening then narrowing reproduces the bytes PyTorch stored, tensor by tensor.
    for (const k of torchFile.keys()) {
      const raw = await (torchFile as unknown as { getRaw(k: string): Promise<{ dtype: CheckpointDType; bytes: Uint8Array }> }).getRaw(k);
      const mine = await reread.getRaw(k);
      expect(mine.dtype, `${file} ${k}`).toBe(raw.dtype);
      expect(Buffer.from(mine.bytes).equals(Buffer.from(raw.bytes)), `${file} ${k}`).toBe(true);
    }
    expect(Buffer.from(await resave(reread)).equals(Buffer.from(first))).toBe(true);
    await torchFile.close?.();
  }
});

// F64 is read as float32 (tfjs has no float64): values that float32 holds exactly come back byte for byte; others
// keep their stored bytes only through getRaw.
test('F64 (float32-exact values), I16, I8, U8 and I32 survive load → save unchanged', async () => {
  const raw = (dtype: CheckpointDType, arr: ArrayBufferView) => ({ dtype, shape: [arr.byteLength / (arr as Uint8Array).BYTES_PER_ELEMENT], bytes: new Uint8Array(arr.buffer) });
  const bytes = serializeSafetensors({
    f64: raw('F64', new Float64Array([0.5, Math.fround(-1e30), 2 ** -126])),
    i16: raw('I16', new Int16Array([-32768, 32767, 0])),
    i8: raw('I8', new Int8Array([-128, 127, 5])),
    u8: raw('U8', new Uint8Array([0, 200, 255])),
    i32: raw('I32', new Int32Array([-(2 ** 31), 2 ** 31 - 1])),
  }, { format: 'pt' });
  const r = await SafetensorsReader.open(bytes);
  expect(Buffer.from(await resave(r)).equals(Buffer.from(bytes))).toBe(true);
});

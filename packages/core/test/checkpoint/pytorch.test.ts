import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { CheckpointFormatError, openCheckpoint, TorchCheckpoint, UnsafePickleError } from '../../src/index.js';

const golden = (f: string) => fileURLToPath(new URL(`../golden/${f}`, import.meta.url));
const ref = JSON.parse(readFileSync(golden('torch_state.json'), 'utf8'));
const KEYS = Object.keys(ref).filter((k) => k !== 'bool_keys');

describe('checkpoints written by PyTorch load exactly', () => {
  for (const file of ['torch_state.pth', 'torch_state_legacy.pth', 'torch_state.safetensors']) {
    test(`${file}: F32, F16, BF16, I64, BOOL, views`, async () => {
      const ck = await openCheckpoint(golden(file));
      expect(ck.keys().sort()).toEqual([...KEYS].sort());
      for (const k of KEYS) {
        const t = await ck.get(k);
        expect(t.shape, k).toEqual(ref[k].shape);
        expect(Array.from(t.data, Number), k).toEqual(ref[k].data.map(Number));
      }
      expect((await ck.get('mask')).dtype).toBe('bool');
      expect(ck.info('pos_embed').dtype).toBe('BF16');
      await ck.close?.();
    });
  }

  for (const [file, format] of [['torch_state.pth', 'zip'], ['torch_state_legacy.pth', 'legacy']] as const) {
    test(`${file}: the model wrapper is unwrapped; epoch and argparse args are reported as skipped, never run`, async () => {
      const ck = (await openCheckpoint(golden(file))) as TorchCheckpoint;
      expect(ck).toBeInstanceOf(TorchCheckpoint);
      expect(ck.format).toBe(format);
      expect(ck.wrapper).toBe('model');
      expect(ck.skipped.sort()).toEqual(['args', 'epoch']);
      await ck.close();
    });
  }
});

describe('objects beside the weights', () => {
  test("a training script's own class is refused by default and read as an inert placeholder when named", async () => {
    const path = golden('torch_state_config.pth');
    const err = await openCheckpoint(path).catch((e) => e);
    expect(err).toBeInstanceOf(UnsafePickleError);
    expect(err.global).toBe('utils.config.TrainConfig');
    const ck = (await openCheckpoint(path, { inertGlobals: ['utils.config.TrainConfig'] })) as TorchCheckpoint;
    expect(ck.wrapper).toBe('module');
    expect(ck.keys()).toEqual(['vision_encoder.pos_embed']);
    expect(Array.from((await ck.get('vision_encoder.pos_embed')).data)).toEqual(ref.pos_embed.data);
    expect(ck.skipped.sort()).toEqual(['best_score', 'config']);
    await ck.close();
  });
});

describe('hostile pickles are refused without running anything', () => {
  const cases: Array<[string, string]> = [
    ['hostile_os_system.pth', 'os.system'],
    ['hostile_builtins_eval.pth', 'builtins.eval'],
    ['hostile_subprocess_popen.pth', 'subprocess.Popen'],
    ['hostile_stack_global.pth', 'os.system'],
    ['hostile_legacy_os_system.pth', 'os.system'],
  ];
  for (const [file, global] of cases) {
    test(`${file} names ${global}`, async () => {
      rmSync('/tmp/iv2-pwned', { force: true });
      const path = golden(file);
      const before = createHash('sha256').update(readFileSync(path)).digest('hex');
      const err = await openCheckpoint(path).catch((e) => e);
      expect(err).toBeInstanceOf(UnsafePickleError);
      expect(err.global).toBe(global);
      expect(err.message).toContain(path);
      expect(err.message).toMatch(new RegExp(`'${global.replace('.', '\\.')}' at byte \\d+: refused`));
      expect(existsSync('/tmp/iv2-pwned')).toBe(false);
      expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(before);
    });
  }

  test('a truncated zip is a format error naming the file', async () => {
    const bytes = readFileSync(golden('torch_state.pth'));
    const err = await openCheckpoint(bytes.subarray(0, bytes.length - 30)).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err.message).toMatch(/end-of-central-directory|runs past/);
  });

  test('a truncated legacy file is a format error naming the storage and its byte offset', async () => {
    const bytes = readFileSync(golden('torch_state_legacy.pth'));
    const err = await openCheckpoint(bytes.subarray(0, bytes.length - 5)).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err.message).toMatch(/storage \d+ at byte \d+ \(\d+ elements\) runs past the end of the file/);
    const cut = await openCheckpoint(bytes.subarray(0, 300)).catch((e) => e);
    expect(cut).toBeInstanceOf(CheckpointFormatError);
    expect(cut.message).toMatch(/pickle truncated at byte \d+/);
  });

  test('a legacy file whose storage is shorter than its tensor fails the read, or is reported by name when lenient', async () => {
    // The last storage record claims one element and the file ends there.
    const bytes = new Uint8Array(readFileSync(golden('torch_state_legacy.pth')));
    const ck = (await openCheckpoint(bytes)) as TorchCheckpoint;
    const internals = ck as unknown as { storages: Map<string, { offset: number; size: number }>; tensors: Map<string, { storage: { key: string } }> };
    const [lastKey, last] = [...internals.storages.entries()].sort((a, b) => a[1].offset - b[1].offset).at(-1)!;
    const victim = ck.keys().find((k) => internals.tensors.get(k)!.storage.key === lastKey)!;
    const elem = last.size / Number(new DataView(bytes.buffer).getBigInt64(last.offset - 8, true));
    new DataView(bytes.buffer).setBigInt64(last.offset - 8, 1n, true);
    const cut = bytes.subarray(0, last.offset + elem);
    const err = await openCheckpoint(cut).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointFormatError);
    expect(err.message).toContain(`[${victim}]`);
    expect(err.message).toMatch(new RegExp(`runs past its storage of ${elem} bytes at byte ${last.offset}`));
    const lenient = (await openCheckpoint(cut, { lenient: true })) as TorchCheckpoint;
    expect(lenient.unreadable.map((u) => u.key)).toEqual([victim]);
    expect(lenient.keys()).not.toContain(victim);
    expect(lenient.keys().length).toBe(ck.keys().length - 1);
    for (const k of lenient.keys()) expect(Array.from((await lenient.get(k)).data, Number), k).toEqual(ref[k].data.map(Number));
  });
});

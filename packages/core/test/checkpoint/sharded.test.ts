import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { CheckpointFormatError, openCheckpoint, serializeSafetensors, ShardedSafetensors } from '../../src/index.js';

function shardedDir(weightMap?: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-shards-'));
  writeFileSync(join(dir, 'model-00001-of-00002.safetensors'), serializeSafetensors({ a: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) } }));
  writeFileSync(
    join(dir, 'model-00002-of-00002.safetensors'),
    serializeSafetensors({ b: { dtype: 'float32', shape: [1, 2], data: new Float32Array([3, 4]), storeAs: 'BF16' } }),
  );
  const index = join(dir, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify({
    metadata: { total_size: 12 },
    weight_map: weightMap ?? { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
  }));
  return index;
}

test('a sharded checkpoint reads through its index.json', async () => {
  const ck = await openCheckpoint(shardedDir());
  expect(ck).toBeInstanceOf(ShardedSafetensors);
  expect(ck.keys().sort()).toEqual(['a', 'b']);
  expect(ck.info('b')).toEqual({ dtype: 'BF16', shape: [1, 2] });
  expect(Array.from((await ck.get('b')).data)).toEqual([3, 4]);
  expect(ck.metadata!.total_size).toBe('12');
  await ck.close();
});

test('an index pointing outside its folder or at a missing key is refused', async () => {
  await expect(openCheckpoint(shardedDir({ a: '../../etc/passwd' }))).rejects.toThrow(/not a file beside the index/);
  const err = await openCheckpoint(shardedDir({ a: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' })).catch((e) => e);
  expect(err).toBeInstanceOf(CheckpointFormatError);
  expect(err.message).toMatch(/\[c\]: key listed in weight_map is missing/);
});

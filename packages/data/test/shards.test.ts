import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { ShardFormatError, ShardWriter, openShardVideo, readShard, streamShards, writeSyntheticDataset } from '../src/index.js';
import { tempDir } from './fixtures.js';

let shards: string[];
let videos: string[];
let dir: string;

beforeAll(async () => {
  dir = tempDir('shards');
  await writeSyntheticDataset({ dir, clipsPerClass: 2, heldOutPerClass: 1, width: 32, height: 32, numFrames: 8, colors: ['red', 'blue'], shapes: ['square'], motions: ['left', 'up', 'right'] });
  videos = readdirSync(join(dir, 'videos')).sort();
  const w = new ShardWriter({ dir, maxCount: 5 });
  for (const v of videos) {
    await w.write({ __key__: v.replace(/\.mp4$/, ''), mp4: readFileSync(join(dir, 'videos', v)), json: JSON.stringify({ caption: v }) });
  }
  shards = await w.close();
});

describe('WebDataset-style tar shards', () => {
  test('shards split at maxCount and are plain tar files that GNU tar lists and extracts byte-identically', () => {
    expect(shards.length).toBe(Math.ceil(videos.length / 5));
    const names = execFileSync('tar', ['-tf', shards[0]], { encoding: 'utf8' }).trim().split('\n');
    expect(names.slice(0, 2)).toEqual([videos[0].replace('.mp4', '.mp4'), videos[0].replace('.mp4', '.json')]);
    const out = tempDir('untar');
    execFileSync('tar', ['-xf', shards[0], '-C', out]);
    expect(readFileSync(join(out, videos[1])).equals(readFileSync(join(dir, 'videos', videos[1])))).toBe(true);
  });
  test('readShard groups members by key', async () => {
    const got: string[] = [];
    for await (const s of readShard(shards[1])) {
      got.push(s.__key__);
      expect(JSON.parse(new TextDecoder().decode(s.json as Uint8Array)).caption).toBe(`${s.__key__}.mp4`);
    }
    expect(got).toEqual(videos.slice(5, 10).map((v) => v.replace('.mp4', '')));
  });
  test('seeded shuffle per epoch; resume continues the same sequence', async () => {
    const run = async (epoch: number, resume?: { epoch: number; shard: number; sample: number }) => {
      const keys: string[] = [];
      const pos: Array<{ epoch: number; shard: number; sample: number }> = [];
      for await (const { sample, position } of streamShards(shards, { seed: 3, epoch, bufferSize: 4, resume })) {
        keys.push(sample.__key__);
        pos.push(position);
      }
      return { keys, pos };
    };
    const a = await run(0);
    expect(a.keys.slice().sort()).toEqual(videos.map((v) => v.replace('.mp4', '')));
    expect((await run(0)).keys).toEqual(a.keys);
    expect((await run(1)).keys).not.toEqual(a.keys);
    const r = await run(0, a.pos[4]);
    expect(r.keys).toEqual(a.keys.slice(5));
  });
  test('a sample decodes from the shard like the file it came from', async () => {
    for await (const s of readShard(shards[0])) {
      const f = await openShardVideo(s, (info) => [0, info.numFrames - 1]);
      expect(f.count).toBe(2);
      const ref = execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'videos', `${s.__key__}.mp4`), '-vf', "select='eq(n,0)+eq(n,7)'", '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
      expect(Buffer.from(f.data).equals(ref)).toBe(true);
      break;
    }
  });
  test('damaged shards give ShardFormatError naming the file', async () => {
    const bytes = readFileSync(shards[0]);
    const bad = join(tempDir('badshard'), 'bad.tar');
    const b = Buffer.from(bytes);
    b[10] ^= 0xff; // inside the first header's name: checksum no longer matches
    writeFileSync(bad, b);
    const drain = async (p: string) => {
      for await (const _ of readShard(p)) void _;
    };
    await expect(drain(bad)).rejects.toBeInstanceOf(ShardFormatError);
    await expect(drain(bad)).rejects.toThrow(bad);
    const cut = join(tempDir('cutshard'), 'cut.tar');
    writeFileSync(cut, bytes.subarray(0, 5000));
    await expect(drain(cut)).rejects.toBeInstanceOf(ShardFormatError);
  });
});

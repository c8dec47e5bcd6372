import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Frames } from '@iv2/core';
import { type OpenVideoOptions, openVideo } from '../ffmpeg/ffmpeg_frame_source.js';
import type { ShardSample } from './webdataset.js';

/**
 * Decodes frames of a shard sample's video member. ffmpeg needs a seekable input for the probe and the read, so
 * the member goes to a temporary file that is removed afterwards; errors name the sample as `<shard key>.<ext>`.
 */
export async function openShardVideo(
  sample: ShardSample,
  pick: (info: { numFrames: number; fps: number }) => number[],
  opts: OpenVideoOptions & { ext?: string; size?: { width: number; height: number } } = {},
): Promise<Frames> {
  const ext = opts.ext ?? ['mp4', 'webm', 'mkv', 'avi', 'mov'].find((e) => sample[e] instanceof Uint8Array);
  if (!ext) throw new RangeError(`sample ${sample.__key__} has no video member`);
  const dir = await mkdtemp(join(tmpdir(), 'iv2-shard-'));
  const file = join(dir, `${sample.__key__.replace(/[^\w-]/g, '_')}.${ext}`);
  try {
    await writeFile(file, sample[ext] as Uint8Array);
    const v = await openVideo(file, opts);
    return await v.readFrames(pick(v.info), opts.size, opts.signal);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

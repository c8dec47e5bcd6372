import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  AbsurdDimensionsError,
  CorruptVideoError,
  EmptyFileError,
  MediaError,
  NoDecodableFrameError,
  NoVideoStreamError,
  NotAVideoError,
  VideoNotFoundError,
  openVideo,
} from '../src/index.js';
import { MEDIA, ffmpeg, tempDir } from './fixtures.js';

/** Builders for every kind of bad input; the loader test reuses them. */
export function makeBadFiles(dir: string): Record<string, { file: string; error: new (...a: never[]) => MediaError }> {
  const part0 = readFileSync(join(MEDIA, 'part_0.mp4'));
  const out: Record<string, { file: string; error: new (...a: never[]) => MediaError }> = {};
  out.missing = { file: join(dir, 'missing.mp4'), error: VideoNotFoundError };
  writeFileSync(join(dir, 'empty.mp4'), '');
  out.empty = { file: join(dir, 'empty.mp4'), error: EmptyFileError };
  writeFileSync(join(dir, 'text.mp4'), 'this is a caption file, not a video\n'.repeat(50));
  out.notAVideo = { file: join(dir, 'text.mp4'), error: NotAVideoError };
  // moov atom is at the end of part_0.mp4: cutting the file loses the index
  writeFileSync(join(dir, 'truncated.mp4'), part0.subarray(0, 80_000));
  out.truncated = { file: join(dir, 'truncated.mp4'), error: CorruptVideoError };
  // random bytes over most of the H.264 payload: the container is intact, the stream is not
  const corrupt = Buffer.from(part0);
  let x = 12345;
  for (let i = 20_000; i < 150_000; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    corrupt[i] = x >>> 24;
  }
  writeFileSync(join(dir, 'corrupt.mp4'), corrupt);
  out.corrupt = { file: join(dir, 'corrupt.mp4'), error: CorruptVideoError };
  // zeroed payload: every packet is there, none decodes
  const zeros = Buffer.from(part0);
  zeros.fill(0, 48, 40 + 157_357);
  writeFileSync(join(dir, 'nodecode.mp4'), zeros);
  out.noDecodableFrame = { file: join(dir, 'nodecode.mp4'), error: NoDecodableFrameError };
  out.audioOnly = { file: join(MEDIA, 'test.wav'), error: NoVideoStreamError };
  // a y4m header announcing 60000x60000 frames
  writeFileSync(join(dir, 'huge.y4m'), Buffer.concat([Buffer.from('YUV4MPEG2 W60000 H60000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'), Buffer.alloc(4096, 7)]));
  out.absurdHuge = { file: join(dir, 'huge.y4m'), error: AbsurdDimensionsError };
  // valid for ffmpeg, absurd for a frame buffer: 16000x16000
  writeFileSync(join(dir, 'big.y4m'), Buffer.concat([Buffer.from('YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n'), Buffer.alloc(4096, 7)]));
  out.absurdBig = { file: join(dir, 'big.y4m'), error: AbsurdDimensionsError };
  return out;
}

describe('bad input gives a typed error naming the file and the reason', () => {
  let bad: ReturnType<typeof makeBadFiles>;
  beforeAll(() => {
    bad = makeBadFiles(tempDir('bad'));
  });
  const kinds = ['missing', 'empty', 'notAVideo', 'truncated', 'corrupt', 'noDecodableFrame', 'audioOnly', 'absurdHuge', 'absurdBig'];
  for (const kind of kinds) {
    test(kind, async () => {
      const { file, error } = bad[kind];
      let caught: unknown = null;
      try {
        const v = await openVideo(file);
        await v.readFrames([0, Math.max(0, v.info.numFrames - 1)]);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(error);
      expect(caught).toBeInstanceOf(MediaError);
      const err = caught as MediaError;
      expect(err.file).toBe(file);
      expect(err.message).toContain(file);
      expect(err.reason.length).toBeGreaterThan(5);
    });
  }
  test('a truncated file whose index survives (faststart) is reported as corrupt, not silently shortened', async () => {
    const dir = tempDir('fs');
    const fs = join(dir, 'fs.mp4');
    ffmpeg(['-i', join(MEDIA, 'part_0.mp4'), '-c', 'copy', '-movflags', '+faststart', fs]);
    const cut = join(dir, 'cut.mp4');
    writeFileSync(cut, readFileSync(fs).subarray(0, 80_000));
    await expect(openVideo(cut)).rejects.toBeInstanceOf(CorruptVideoError);
  });
  test("'conceal' keeps concealed frames of a damaged stream", async () => {
    const v = await openVideo(bad.corrupt.file, { onDecodeError: 'conceal' });
    const f = await v.readFrames([0, 1]);
    expect(f.count).toBe(2);
  });
});

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
import { MEDIA, ffmpeg, makeBadFiles, tempDir } from './fixtures.js';

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

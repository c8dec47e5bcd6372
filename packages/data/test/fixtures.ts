import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbsurdDimensionsError,
  CorruptVideoError,
  EmptyFileError,
  type MediaError,
  NoDecodableFrameError,
  NoVideoStreamError,
  NotAVideoError,
  VideoNotFoundError,
} from '../src/index.js';

/** The repository's golden data (`<repo root>/fixtures`, see test-utils/fixtures.ts). */
import { FIXTURES, MEDIA } from '../../../test-utils/fixtures.js';

export { FIXTURES, MEDIA };

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `iv2-data-${prefix}-`));
}

/** A plain, independent ffmpeg decode: every frame `n` in `indices` (select by frame number, no seek), rgb24. */
export function ffmpegReference(file: string, indices: number[], scale?: { width: number; height: number }): Buffer {
  const uniq = [...new Set(indices)].sort((a, b) => a - b);
  const sel = `select='${uniq.map((i) => `eq(n,${i})`).join('+')}'`;
  const vf = scale ? `${sel},scale=${scale.width}:${scale.height}:flags=bilinear` : sel;
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-vf', vf, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    maxBuffer: 1 << 30,
  });
}

export function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-y', '-v', 'error', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

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


import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared fixtures folder: `<repo root>/../shared/fixtures`. */
export const FIXTURES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../shared/fixtures');
export const MEDIA = join(FIXTURES, 'media');

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

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

let cached: string | null = null;

/**
 * The ffmpeg binary to run: `IV2_FFMPEG` if set, else the system's `ffmpeg` when it runs, else the static build
 * that `@ffmpeg-installer/ffmpeg` ships. Probing uses ffmpeg itself (no ffprobe needed), so the npm build suffices.
 */
export function ffmpegPath(): string {
  if (cached) return cached;
  const candidates: string[] = [];
  if (process.env.IV2_FFMPEG) candidates.push(process.env.IV2_FFMPEG);
  candidates.push('ffmpeg');
  try {
    const req = createRequire(import.meta.url);
    candidates.push((req('@ffmpeg-installer/ffmpeg') as { path: string }).path);
  } catch {
    // the npm build is optional when a system ffmpeg exists
  }
  for (const c of candidates) {
    const r = spawnSync(c, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) {
      cached = c;
      return c;
    }
  }
  throw new Error(`no runnable ffmpeg (tried ${candidates.join(', ')})`);
}

/** Force a binary (tests and benchmarks compare the system and the bundled build). */
export function setFfmpegPath(path: string | null): void {
  cached = path;
}

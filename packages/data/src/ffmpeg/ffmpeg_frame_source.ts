import { stat } from 'node:fs/promises';
import type { FrameSource, Frames, VideoInfo } from '@iv2/core';
import { CorruptVideoError, FrameIndexError, NoDecodableFrameError } from '../errors.js';
import { ffmpegPath } from './binary.js';
import { runFfmpeg } from './process.js';
import { lastErrorLine, probeVideo, type ProbeResult } from './probe.js';

export interface OpenVideoOptions {
  signal?: AbortSignal;
  /**
   * Output size when `readFrames` gets none: `'display'` (default) corrects non-square pixels and applies the
   * rotation metadata; `'coded'` keeps the stored pixel grid like decord does (rotation still applied).
   */
  geometry?: 'display' | 'coded';
  /** Seek (decode from the nearest key frame) when the first wanted frame is at least this many seconds in. */
  seekThresholdSeconds?: number;
  /**
   * Trim to the frames shown in `[start, end)` seconds (from the first frame); `info` then describes the trimmed
   * clip and indices given to `readFrames` are relative to its first frame.
   */
  start?: number;
  end?: number;
  /**
   * `'throw'` (default): any decoder error makes the read fail with {@link CorruptVideoError}, even when the
   * decoder concealed it; `'conceal'`: keep concealed frames, fail only when a selected frame is missing.
   */
  onDecodeError?: 'throw' | 'conceal';
}

/**
 * A video read with ffmpeg: one demux-only probe at open, then one ffmpeg process per `readFrames` call that
 * seeks near the first wanted frame, keeps only the wanted frames with a `select` filter on their timestamps and
 * streams them as rgb24. Memory is bounded by the frames asked for, never by the video's length.
 */
export class FfmpegFrameSource implements FrameSource {
  readonly path: string;
  readonly info: VideoInfo;
  readonly probe: ProbeResult;
  private readonly opts: OpenVideoOptions;
  /** Reads done and how many of them started with a seek (for checks and benchmarks). */
  readonly stats = { reads: 0, seeks: 0 };
  /** Index, in the whole video, of the trimmed clip's first frame. */
  readonly firstFrame: number;

  constructor(path: string, probe: ProbeResult, opts: OpenVideoOptions = {}) {
    this.path = path;
    this.probe = probe;
    this.opts = opts;
    const info = { ...probe.info };
    if (opts.geometry === 'coded') {
      const rot = probe.rotation === 90 || probe.rotation === 270;
      info.width = rot ? probe.codedHeight : probe.codedWidth;
      info.height = rot ? probe.codedWidth : probe.codedHeight;
    }
    const [first, count] = trimRange(path, probe, opts.start, opts.end);
    this.firstFrame = first;
    info.numFrames = count;
    info.duration = count / info.fps;
    this.info = info;
  }

  async readFrames(indices: number[], size?: { width: number; height: number }, signal?: AbortSignal): Promise<Frames> {
    const n = this.info.numFrames;
    for (const i of indices) {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new FrameIndexError(this.path, `frame ${i} is outside 0..${n - 1}`);
    }
    const width = size?.width ?? this.info.width;
    const height = size?.height ?? this.info.height;
    if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
      throw new FrameIndexError(this.path, `bad output size ${width}x${height}`);
    }
    const frameBytes = width * height * 3;
    const unique = [...new Set(indices)].sort((a, b) => a - b).map((i) => i + this.firstFrame);
    if (unique.length === 0) return { data: new Uint8Array(0), count: 0, width, height };
    const buf = new Uint8Array(unique.length * frameBytes);
    let filled = 0;
    const args = this.buildArgs(unique, width, height);
    this.stats.reads++;
    const res = await runFfmpeg(
      ffmpegPath(),
      args,
      (chunk) => {
        if (filled + chunk.length > buf.length) throw new CorruptVideoError(this.path, 'decoder produced more frames than selected');
        buf.set(chunk, filled);
        filled += chunk.length;
      },
      signal ?? this.opts.signal,
    );
    const got = Math.floor(filled / frameBytes);
    if (got < unique.length) {
      const why = lastErrorLine(res.stderr) ?? `ffmpeg exited with ${res.code}`;
      if (got === 0) throw new NoDecodableFrameError(this.path, `no frame could be decoded (${why})`);
      throw new CorruptVideoError(
        this.path,
        `decoded ${got} of ${unique.length} selected frames (first missing: ${unique[got]}; ${why})`,
      );
    }
    const decodeErr = /error while decoding|invalid data found|corrupt|concealing/i.test(res.stderr);
    if (decodeErr && (this.opts.onDecodeError ?? 'throw') === 'throw') {
      throw new CorruptVideoError(this.path, `decoder errors in the stream (${lastErrorLine(res.stderr)})`);
    }
    // Reorder / repeat into the order asked for.
    const pos = new Map(unique.map((v, k) => [v - this.firstFrame, k]));
    const data = new Uint8Array(indices.length * frameBytes);
    indices.forEach((v, k) => {
      const s = pos.get(v)! * frameBytes;
      data.set(buf.subarray(s, s + frameBytes), k * frameBytes);
    });
    return { data, count: indices.length, width, height };
  }

  private buildArgs(unique: number[], width: number, height: number): string[] {
    const p = this.probe;
    const pre: string[] = ['-hide_banner', '-nostdin', '-v', 'error'];
    let select: string;
    if (p.pts) {
      // Select by timestamp: correct after a seek and for variable frame rates.
      select = unique.map((i) => `eq(pts,${p.pts![i]})`).join('+');
      const first = p.pts[unique[0]];
      const t0 = p.pts[0];
      const threshold = this.opts.seekThresholdSeconds ?? 2;
      const frameDur = 1 / Math.max(p.info.fps, 1e-3);
      const ss = (first - t0) * p.timeBase - frameDur;
      pre.push('-copyts');
      if (ss >= threshold) {
        pre.push('-ss', ss.toFixed(6));
        this.stats.seeks++;
      }
    } else {
      select = unique.map((i) => `eq(n,${i})`).join('+');
    }
    const vf = `select='${select}',scale=${width}:${height}:flags=bilinear,setsar=1,format=rgb24`;
    return [
      ...pre,
      '-i', this.path,
      '-map', '0:v:0',
      '-an', '-sn',
      '-vf', vf,
      '-vsync', '0',
      '-frames:v', String(unique.length),
      '-f', 'rawvideo',
      '-pix_fmt', 'rgb24',
      'pipe:1',
    ];
  }

  async close(): Promise<void> {
    // Nothing stays open between reads: each read is its own ffmpeg process.
  }
}

function trimRange(path: string, p: ProbeResult, start?: number, end?: number): [number, number] {
  const n = p.info.numFrames;
  if (start === undefined && end === undefined) return [0, n];
  const s = Math.max(0, start ?? 0);
  const e = end === undefined || end < 0 ? Infinity : end;
  let first: number;
  let last: number;
  if (p.pts) {
    const t0 = p.pts[0];
    const times = p.pts.map((x) => (x - t0) * p.timeBase);
    // a frame belongs to the trim when its display time is in [s, e); a half-frame tolerance absorbs rounding
    const eps = 0.5 / Math.max(p.info.fps, 1e-3);
    first = times.findIndex((t) => t >= s - eps);
    last = times.findIndex((t) => t >= e - eps);
    if (first < 0) first = n;
    if (last < 0) last = n;
  } else {
    first = Math.min(n, Math.round(s * p.info.fps));
    last = Number.isFinite(e) ? Math.min(n, Math.round(e * p.info.fps)) : n;
  }
  if (last <= first) throw new FrameIndexError(path, `trim [${s}, ${end}) s holds no frame of the ${p.info.duration.toFixed(3)} s video`);
  return [first, last - first];
}

// Epochs re-open the same files: a probe is reused while the file's size and mtime are unchanged.
const probeCache = new Map<string, { key: string; probe: ProbeResult }>();
const PROBE_CACHE_SIZE = 4096;

/**
 * Opens a video file for frame-exact reads. Throws a typed {@link MediaError} for every bad input. Probes are
 * cached per path (size + mtime checked) unless `cacheProbe` is false.
 */
export async function openVideo(path: string, opts: OpenVideoOptions & { cacheProbe?: boolean } = {}): Promise<FfmpegFrameSource> {
  let key = '';
  if (opts.cacheProbe ?? true) {
    const st = await stat(path).catch(() => null);
    if (st?.isFile()) {
      key = `${st.size}:${st.mtimeMs}`;
      const hit = probeCache.get(path);
      if (hit && hit.key === key) return new FfmpegFrameSource(path, hit.probe, opts);
    }
  }
  const probe = await probeVideo(path, opts.signal);
  if (key) {
    if (probeCache.size >= PROBE_CACHE_SIZE) probeCache.delete(probeCache.keys().next().value!);
    probeCache.set(path, { key, probe });
  }
  return new FfmpegFrameSource(path, probe, opts);
}

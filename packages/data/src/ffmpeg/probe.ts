import { open, stat } from 'node:fs/promises';
import type { VideoInfo } from '@iv2/core';
import {
  AbsurdDimensionsError,
  CorruptVideoError,
  EmptyFileError,
  NoDecodableFrameError,
  NotAVideoError,
  NoVideoStreamError,
  VideoNotFoundError,
} from '../errors.js';
import { ffmpegPath } from './binary.js';
import { runFfmpeg } from './process.js';

/** Frames larger than this (either side) are refused before any decode is attempted. */
export const MAX_SIDE = 16384;
export const MAX_PIXELS = 8192 * 8192;

/** Everything a reader needs, taken from one demux-only pass (no decoding): stream facts and every packet's pts. */
export interface ProbeResult {
  info: VideoInfo;
  codec: string;
  codedWidth: number;
  codedHeight: number;
  /** Sample aspect ratio (1 for square pixels). */
  sar: number;
  /** Clockwise display rotation in degrees (0, 90, 180, 270). */
  rotation: number;
  /** Stream time base in seconds. */
  timeBase: number;
  /** Presentation timestamps (stream time base) in presentation order; frame i has pts `pts[i]`. Null if absent. */
  pts: number[] | null;
  /** Indices (presentation order) of key frames. */
  keyFrames: number[];
  /** True when the frame rate varies (max/min frame interval differ by more than 1 %). */
  variableFrameRate: boolean;
}

const NOPTS = -9223372036854775808;

/**
 * Probes a file with `ffmpeg -i f -map 0:v:0 -c copy -f framecrc -`: the container header on stderr, one line per
 * video packet on stdout. Reads packets, never decodes, so the cost is an I/O pass over the file.
 */
export async function probeVideo(file: string, signal?: AbortSignal): Promise<ProbeResult> {
  let st;
  try {
    st = await stat(file);
  } catch {
    throw new VideoNotFoundError(file, 'no such file');
  }
  if (!st.isFile()) throw new VideoNotFoundError(file, 'not a regular file');
  if (st.size === 0) throw new EmptyFileError(file, 'the file is empty (0 bytes)');

  let out = '';
  const res = await runFfmpeg(
    ffmpegPath(),
    ['-hide_banner', '-nostdin', '-copyts', '-i', file, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', '-'],
    (c) => {
      out += c.toString('latin1');
    },
    signal,
  );
  const err = res.stderr;
  const badSize = /Picture size (\d+)x(\d+) is invalid/.exec(err);
  if (badSize) throw new AbsurdDimensionsError(file, `frame size ${badSize[1]}x${badSize[2]} is invalid`);
  if (/moov atom not found/.test(err) && (await looksLikeIsoBmff(file))) {
    throw new CorruptVideoError(file, 'truncated or damaged MP4: the index (moov atom) is missing');
  }
  const streamLine = /Stream #\d+:\d+[^:]*: Video: ([^\s,]+)[^\n]*/.exec(err);
  if (!streamLine) {
    if (/Stream #\d+:\d+[^:]*: (Audio|Subtitle|Data)/.test(err)) {
      throw new NoVideoStreamError(file, 'the file has no video stream');
    }
    const why = lastErrorLine(err) ?? `ffmpeg exited with ${res.code}`;
    throw new NotAVideoError(file, `not a video container ffmpeg can read (${why})`);
  }
  const codec = streamLine[1];
  const dims = /, (\d+)x(\d+)(?:[ ,\[]|$)/.exec(streamLine[0]);
  if (!dims) throw new AbsurdDimensionsError(file, 'the video stream announces no frame size');
  const codedWidth = Number(dims[1]);
  const codedHeight = Number(dims[2]);
  if (!(codedWidth > 0 && codedHeight > 0) || codedWidth > MAX_SIDE || codedHeight > MAX_SIDE || codedWidth * codedHeight > MAX_PIXELS) {
    throw new AbsurdDimensionsError(file, `frame size ${codedWidth}x${codedHeight} is outside 1..${MAX_SIDE} per side / ${MAX_PIXELS} pixels`);
  }
  const sarM = /\[SAR (\d+):(\d+)/.exec(streamLine[0]);
  const sar = sarM && Number(sarM[1]) > 0 && Number(sarM[2]) > 0 ? Number(sarM[1]) / Number(sarM[2]) : 1;
  const rotation = parseRotation(err);

  const tbM = /^#tb 0: (\d+)\/(\d+)/m.exec(out);
  const timeBase = tbM ? Number(tbM[1]) / Number(tbM[2]) : NaN;
  const packets: Array<{ pts: number; key: boolean }> = [];
  for (const line of out.split('\n')) {
    if (!line || line[0] === '#') continue;
    const f = line.split(',').map((s) => s.trim());
    if (f.length < 6) continue;
    const pts = Number(f[2]);
    const flags = f.find((x) => x.startsWith('F='));
    const key = flags === undefined ? true : (parseInt(flags.slice(2), 16) & 1) === 1;
    packets.push({ pts, key });
  }
  const damaged = /partial file|corrupt input packet/i.exec(err);
  if (damaged) throw new CorruptVideoError(file, `truncated or corrupt stream (${lastErrorLine(err)})`);
  if (packets.length === 0) throw new NoDecodableFrameError(file, 'the video stream has no frame');

  const havePts = Number.isFinite(timeBase) && packets.every((p) => Number.isFinite(p.pts) && p.pts !== NOPTS);
  let pts: number[] | null = null;
  let keyFrames: number[] = [];
  if (havePts) {
    const order = packets.map((p, i) => i).sort((a, b) => packets[a].pts - packets[b].pts);
    pts = order.map((i) => packets[i].pts);
    if (new Set(pts).size !== pts.length) pts = null;
    keyFrames = order.flatMap((i, rank) => (packets[i].key ? [rank] : []));
  }
  const numFrames = packets.length;
  // Like decord, the frame rate is the stream's average rate; timestamps only decide whether it varies.
  const fpsM = /, ([\d.]+) fps/.exec(streamLine[0]) ?? /, ([\d.]+)k? tbr/.exec(streamLine[0]);
  let fps = fpsM ? Number(fpsM[1]) : NaN;
  let variableFrameRate = false;
  if (pts && numFrames > 1) {
    const d: number[] = [];
    for (let i = 1; i < pts.length; i++) d.push(pts[i] - pts[i - 1]);
    const sorted = [...d].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    variableFrameRate = d.filter((x) => Math.abs(x - median) > 0.01 * median).length > 0.1 * d.length;
    if (!(fps > 0)) fps = (numFrames - 1) / ((pts[pts.length - 1] - pts[0]) * timeBase);
  }
  if (!(fps > 0)) fps = 25;
  const duration = numFrames / fps;
  let width = sar === 1 ? codedWidth : Math.max(1, Math.round(codedWidth * sar));
  let height = codedHeight;
  if (rotation === 90 || rotation === 270) [width, height] = [height, width];
  return {
    info: { width, height, numFrames, fps, duration },
    codec,
    codedWidth,
    codedHeight,
    sar,
    rotation,
    timeBase,
    pts,
    keyFrames,
    variableFrameRate,
  };
}

async function looksLikeIsoBmff(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(8);
    await fh.read(b, 0, 8, 0);
    return ['ftyp', 'free', 'mdat', 'moov', 'wide', 'skip'].includes(b.toString('latin1', 4, 8));
  } finally {
    await fh.close();
  }
}

function parseRotation(err: string): number {
  // ffmpeg ≥ 5: "displaymatrix: rotation of -90.00 degrees" (counter-clockwise); older: "rotate : 90" (clockwise).
  const dm = /rotation of (-?[\d.]+) degrees/.exec(err);
  let cw = 0;
  if (dm) cw = -Number(dm[1]);
  else {
    const tag = /^\s*rotate\s*:\s*(-?\d+)/m.exec(err);
    if (tag) cw = Number(tag[1]);
  }
  return ((Math.round(cw / 90) * 90) % 360 + 360) % 360;
}

export function lastErrorLine(stderr: string): string | null {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const bad = lines.filter((l) => /error|invalid|fail|could not|no such|truncat|corrupt/i.test(l));
  return bad.length ? bad[bad.length - 1] : lines.length ? lines[lines.length - 1] : null;
}

import type { FrameSource, Frames, VideoInfo } from '@iv2/core';
import { ALL_FORMATS, BlobSource, EncodedPacketSink, Input, UrlSource, VideoSampleSink, type InputVideoTrack } from 'mediabunny';
import {
  AbsurdDimensionsError,
  CorruptVideoError,
  EmptyFileError,
  FrameIndexError,
  NoDecodableFrameError,
  NotAVideoError,
  NoVideoStreamError,
  UnsupportedCodecError,
  VideoNotFoundError,
} from '../errors.js';

const MAX_SIDE = 16384;

/**
 * A video decoded in the browser: mediabunny demuxes (MP4 / WebM / …), WebCodecs decodes, a canvas converts to
 * RGB at display size (pixel aspect and rotation applied). Frame n is the n-th packet timestamp in presentation
 * order, like the Node reader.
 */
export class WebCodecsFrameSource implements FrameSource {
  private constructor(
    readonly path: string,
    readonly info: VideoInfo,
    private readonly input: Input,
    private readonly track: InputVideoTrack,
    private readonly timestamps: number[],
    readonly codec: string,
  ) {}

  static async open(src: string | Blob, name?: string): Promise<WebCodecsFrameSource> {
    const path = name ?? (typeof src === 'string' ? src : 'blob');
    if (typeof src === 'string') {
      const head = await fetch(src, { method: 'HEAD' }).catch(() => null);
      if (!head || head.status === 404) throw new VideoNotFoundError(path, 'no such file');
      if (head.headers.get('content-length') === '0') throw new EmptyFileError(path, 'the file is empty (0 bytes)');
    } else if (src.size === 0) throw new EmptyFileError(path, 'the file is empty (0 bytes)');
    const input = new Input({ source: typeof src === 'string' ? new UrlSource(src) : new BlobSource(src), formats: ALL_FORMATS });
    let track: InputVideoTrack | null;
    try {
      track = await input.getPrimaryVideoTrack();
    } catch (e) {
      throw new NotAVideoError(path, `no container the demuxer recognises (${(e as Error).message})`);
    }
    if (!track) {
      const any = await input.getTracks().catch(() => []);
      if (any.length > 0) throw new NoVideoStreamError(path, 'the file has no video stream');
      throw new NotAVideoError(path, 'no video track');
    }
    const w = track.displayWidth;
    const h = track.displayHeight;
    if (!(w > 0 && h > 0) || w > MAX_SIDE || h > MAX_SIDE) throw new AbsurdDimensionsError(path, `frame size ${w}x${h}`);
    // mediabunny names no codec for streams WebCodecs has no registry entry for (MPEG-4 Part 2 `mp4v` is one)
    const codec = (await track.getCodecParameterString()) ?? track.codec ?? 'an unregistered codec (such as MPEG-4 Part 2, mp4v)';
    if (!(await track.canDecode())) throw new UnsupportedCodecError(path, `this browser's WebCodecs cannot decode ${codec}`);
    const ts: number[] = [];
    for await (const p of new EncodedPacketSink(track).packets(undefined, undefined, { metadataOnly: true })) ts.push(p.timestamp);
    if (ts.length === 0) throw new NoDecodableFrameError(path, 'the video stream has no frame');
    ts.sort((a, b) => a - b);
    const stats = await track.computePacketStats();
    const fps = stats.averagePacketRate;
    const info: VideoInfo = { width: w, height: h, numFrames: ts.length, fps, duration: ts.length / fps };
    return new WebCodecsFrameSource(path, info, input, track, ts, codec);
  }

  async readFrames(indices: number[], size?: { width: number; height: number }): Promise<Frames> {
    const n = this.info.numFrames;
    for (const i of indices) if (!Number.isInteger(i) || i < 0 || i >= n) throw new FrameIndexError(this.path, `frame ${i} is outside 0..${n - 1}`);
    const width = size?.width ?? this.info.width;
    const height = size?.height ?? this.info.height;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new CorruptVideoError(this.path, 'no 2d canvas context');
    const unique = [...new Set(indices)].sort((a, b) => a - b);
    const rgb = new Map<number, Uint8Array>();
    const sink = new VideoSampleSink(this.track);
    // a hair past the frame start: the sink returns the frame displayed at that time
    const times = unique.map((i) => this.timestamps[i] + 1e-6);
    let k = 0;
    try {
      for await (const sample of sink.samplesAtTimestamps(times)) {
        const idx = unique[k++];
        if (!sample) throw new CorruptVideoError(this.path, `frame ${idx} could not be decoded`);
        try {
          ctx.clearRect(0, 0, width, height);
          sample.drawWithFit(ctx, { fit: 'fill' });
        } finally {
          sample.close();
        }
        const img = ctx.getImageData(0, 0, width, height).data;
        const out = new Uint8Array(width * height * 3);
        for (let p = 0, q = 0; p < out.length; p += 3, q += 4) {
          out[p] = img[q];
          out[p + 1] = img[q + 1];
          out[p + 2] = img[q + 2];
        }
        rgb.set(idx, out);
      }
    } catch (e) {
      if (e instanceof CorruptVideoError) throw e;
      throw new CorruptVideoError(this.path, `decoding failed (${(e as Error).message})`);
    }
    if (rgb.size < unique.length) throw new NoDecodableFrameError(this.path, `decoded ${rgb.size} of ${unique.length} frames`);
    const fb = width * height * 3;
    const data = new Uint8Array(indices.length * fb);
    indices.forEach((i, j) => data.set(rgb.get(i)!, j * fb));
    return { data, count: indices.length, width, height };
  }

  async close(): Promise<void> {
    this.input.dispose?.();
  }
}

/** Browser `openVideo`: a URL (served over http) or a Blob / File. */
export async function openVideo(src: string | Blob, opts: { name?: string } = {}): Promise<WebCodecsFrameSource> {
  return WebCodecsFrameSource.open(src, opts.name);
}

import type { Rng } from '@iv2/core';
import { CorruptVideoError, MediaError } from '../errors.js';
import type { FfmpegFrameSource, OpenVideoOptions } from '../ffmpeg/ffmpeg_frame_source.js';
import { openVideo } from '../ffmpeg/ffmpeg_frame_source.js';
import { frameIndices, type SampleType } from '../sampling/video_utils.js';
import { loadClassificationAnno, loadRetrievalAnno } from '../annotations/ret_dataset.js';
import { preText } from '../text/utils.js';
import { clipFromFrames, type Clip } from '../transforms/clip.js';
import type { StageTransform } from '../transforms/video_transforms.js';

/** What a dataset item points at before decoding. */
export interface MediaRecord {
  /** Resolved media path. */
  media: string;
  /** One caption or several (one is drawn per sample, `caption_sample_type='uniform'`). */
  caption?: string | string[];
  label?: number;
  startFrame?: number;
  endFrame?: number;
  /** Trim in seconds (stage-1 lists); −1 or absent = whole video. */
  startTime?: number;
  endTime?: number;
  /** False for SSv2 in stage 1 (the transform receives it through `flip`). */
  flip?: boolean;
  mediaType?: 'video' | 'image' | 'audio' | 'audio_video';
}

/** A decoded, transformed sample. */
export interface VideoSample {
  index: number;
  media: string;
  clip: Clip;
  caption?: string;
  label?: number;
  frameIndices: number[];
}

export interface VideoDatasetOptions {
  numFrames: number;
  /** 'rand' for training, 'middle' for evaluation (official defaults). */
  sample?: SampleType;
  /** Frames are decoded at this size by ffmpeg before the transform (saves copying full-size frames). */
  decodeSize?: { width: number; height: number };
  transform?: StageTransform;
  /** Apply the official `pre_text` to the drawn caption. Default true. */
  preText?: boolean;
  maxWords?: number;
  open?: OpenVideoOptions;
  /** Replaces `frameIndices` (e.g. stage-1 TSN: `(n, rng) => tsnSparseIndices({numSegments: 16, numVideoFrames: n, rng})`). */
  sampler?: (numVideoFrames: number, rng: Rng, fps: number) => number[];
}

/** A folder of media plus an annotation list: item i = decode + sample + transform of record i. */
export class VideoTextDataset {
  constructor(
    readonly records: MediaRecord[],
    readonly opts: VideoDatasetOptions,
  ) {}

  get length(): number {
    return this.records.length;
  }

  async get(index: number, rng: Rng, signal?: AbortSignal): Promise<VideoSample> {
    const r = this.records[index];
    const trim =
      r.startTime !== undefined && r.startTime >= 0 ? { start: r.startTime, end: r.endTime !== undefined && r.endTime >= 0 ? r.endTime : undefined } : {};
    const src = await openVideo(r.media, { ...this.opts.open, ...trim, signal });
    try {
      const lo = r.startFrame ?? 0;
      const hi = r.endFrame !== undefined ? Math.min(r.endFrame + 1, src.info.numFrames) : src.info.numFrames;
      const n = Math.max(1, hi - lo);
      const local = this.opts.sampler
        ? this.opts.sampler(n, rng, src.info.fps)
        : frameIndices({ numFrames: this.opts.numFrames, numVideoFrames: n, sample: this.opts.sample ?? 'rand', inputFps: src.info.fps, rng });
      const idx = local.map((i) => Math.min(i + lo, src.info.numFrames - 1));
      const frames = await src.readFrames(idx, this.opts.decodeSize, signal).catch(async (e) => {
        if (!(e instanceof CorruptVideoError) || signal?.aborted) throw e;
        const concealing = await openVideo(r.media, { ...this.opts.open, ...trim, signal, onDecodeError: 'conceal' });
        try {
          throw await failedFrames(concealing, this.opts.open?.onDecodeError === 'conceal' ? null : src, idx, this.opts.decodeSize, e, signal);
        } finally {
          await concealing.close();
        }
      });
      let clip = clipFromFrames(frames);
      if (this.opts.transform) clip = this.opts.transform(clip, rng);
      let caption: string | undefined;
      if (r.caption !== undefined) {
        const c = typeof r.caption === 'string' ? r.caption : r.caption[rng.int(0, r.caption.length)];
        caption = this.opts.preText === false ? c : preText(c, this.opts.maxWords);
      }
      return { index, media: r.media, clip, caption, label: r.label, frameIndices: idx };
    } finally {
      await src.close();
    }
  }
}

/** A folder of media plus an official retrieval or classification annotation file, as dataset records. */
export async function recordsFromAnnotation(
  annoPath: string,
  format: 'retrieval' | 'classification',
  opts: { dataRoot: string; dataRootPrefix?: string; classes?: string[] },
): Promise<{ records: MediaRecord[]; classes?: string[] }> {
  if (format === 'retrieval') {
    const r = await loadRetrievalAnno(annoPath, opts);
    // keep the raw captions' processed texts; the dataset draws one per sample
    return {
      records: r.media.map((media, i) => ({ media, caption: r.img2txt[i].map((t) => r.texts[t]), startFrame: r.startFrame[i], endFrame: r.endFrame[i] })),
    };
  }
  const c = await loadClassificationAnno(annoPath, opts);
  return { records: c.media.map((media, i) => ({ media, label: c.labels[i], caption: c.classes[c.labels[i]] })), classes: c.classes };
}

/** Frames probed one by one after a corrupt read; a clip asks for a handful, so this bounds only odd samplers. */
const MAX_PROBED_FRAMES = 32;

/**
 * A read of several frames fails as a whole; which frames fail is found by reading each alone (error path only), so
 * that the error names the frames that actually fail rather than a guess from the count of frames that came out:
 * a frame that no decode produces cannot be decoded; one that comes out only when decoder errors are concealed
 * (before it, or in it) is named apart.
 */
async function failedFrames(
  concealing: FfmpegFrameSource,
  strict: FfmpegFrameSource | null,
  idx: number[],
  size: { width: number; height: number } | undefined,
  err: CorruptVideoError,
  signal?: AbortSignal,
): Promise<CorruptVideoError> {
  const unique = [...new Set(idx)].sort((a, b) => a - b);
  const probed = unique.slice(0, MAX_PROBED_FRAMES);
  const reads = async (src: FfmpegFrameSource, i: number) => {
    try {
      await src.readFrames([i], size, signal);
      return true;
    } catch (e) {
      if (!(e instanceof MediaError) || signal?.aborted) throw e;
      return false;
    }
  };
  const missing: number[] = [];
  const concealed: number[] = [];
  for (const i of probed) {
    if (!(await reads(concealing, i))) missing.push(i);
    else if (strict && !(await reads(strict, i))) concealed.push(i);
  }
  const list = (xs: number[]) => `frame${xs.length > 1 ? 's' : ''} ${xs.join(', ')}`;
  const parts = [
    missing.length ? `${list(missing)} cannot be decoded` : '',
    concealed.length ? `${list(concealed)} decode${concealed.length > 1 ? '' : 's'} only with errors concealed` : '',
  ].filter(Boolean);
  const what = parts.length ? parts.join('; ') : 'each frame decodes alone, not all together';
  const where = concealing.firstFrame ? `; clip frame 0 is video frame ${concealing.firstFrame}` : '';
  const more = unique.length > probed.length ? `; frames after ${probed.at(-1)} not checked one by one` : '';
  return new CorruptVideoError(err.file, `${what} (of the ${unique.length} selected [${unique.join(', ')}]${where}${more}; ${err.reason})`);
}

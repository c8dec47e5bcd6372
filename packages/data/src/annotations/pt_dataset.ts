import { AnnotationError } from '../errors.js';
import { mediaPath, readJsonList, validateEntries } from './parse.js';
import { audioEntry, audioVideoEntry, imageEntry, videoEntry } from './schemas.js';

export type MediaType = 'image' | 'video' | 'audio' | 'audio_video';

/** One pre-training sample after loading: media path(s) resolved, captions kept as in the file. */
export interface PretrainSample {
  mediaType: MediaType;
  /** Resolved path(s) (`data_root_prefix + join(data_root, rel)`). */
  media: string | string[];
  /** `caption` for image/video/audio; for audio_video every key containing "caption". */
  caption: string | string[] | Record<string, string | string[]>;
  /** Separate audio file of an audio_video entry (otherwise audio comes from the video). */
  audio?: string;
  startFrame?: number;
  endFrame?: number;
  index: number;
}

export interface AnnoSource {
  annoPath: string;
  dataRoot: string;
  dataRootPrefix?: string;
  mediaType: MediaType;
}

/** Stage-2 pre-training JSON (`pt_dataset.py` + `load_anno`). */
export async function loadPretrainAnno(src: AnnoSource): Promise<PretrainSample[]> {
  const list = await readJsonList(src.annoPath);
  const prefix = src.dataRootPrefix ?? '';
  const p = (rel: string) => mediaPath(rel, src.dataRoot, prefix);
  switch (src.mediaType) {
    case 'image':
      return validateEntries(src.annoPath, list, imageEntry).map((e, index) => ({
        mediaType: 'image',
        media: Array.isArray(e.image) ? e.image.map(p) : p(e.image),
        caption: e.caption,
        index,
      }));
    case 'video':
      return validateEntries(src.annoPath, list, videoEntry).map((e, index) => {
        if (e.video_start_frame !== undefined && e.video_end_frame !== undefined && e.video_end_frame < e.video_start_frame) {
          throw new AnnotationError(src.annoPath, index, 'video_end_frame', 'ends before video_start_frame');
        }
        return { mediaType: 'video', media: p(e.video), caption: e.caption, startFrame: e.video_start_frame, endFrame: e.video_end_frame, index };
      });
    case 'audio':
      return validateEntries(src.annoPath, list, audioEntry).map((e, index) => ({ mediaType: 'audio', media: p(e.audio), caption: e.caption, index }));
    case 'audio_video':
      return validateEntries(src.annoPath, list, audioVideoEntry).map((e, index) => {
        const caps: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(e)) if (k.includes('caption')) caps[k] = v as string | string[];
        return {
          mediaType: 'audio_video',
          media: p(e.video),
          caption: caps,
          audio: e.audio ? p(e.audio) : undefined,
          startFrame: e.video_start_frame,
          endFrame: e.video_end_frame,
          index,
        };
      });
  }
}

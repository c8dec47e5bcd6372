import { frameIndices, loadInstructionAnno, loadRetrievalAnno, openVideo } from '@iv2/data';
import { IMAGENET_MEAN, IMAGENET_STD } from '@iv2/encoder';
import type { ClipSet } from '../demo/data.js';
import type { Progress } from '../progress.js';

/**
 * A retrieval / pre-training annotation file (official JSON: `{video, caption}`), every clip decoded once with the
 * official `middle` sampling, resized to `size`² and ImageNet-normalised into memory (`cache_frames`). Sample ids
 * are the clip's index, as the official pre-training uses the sample index.
 */
export async function loadClipSet(
  annoPath: string,
  o: { dataRoot: string; numFrames: number; size: number; progress?: Progress; label?: string },
): Promise<ClipSet> {
  const anno = await loadRetrievalAnno(annoPath, { dataRoot: o.dataRoot });
  return {
    names: anno.media.map((m) => m.split('/').pop() ?? m),
    labels: anno.media.map((_, i) => i),
    clips: [],
    frames: await decodeClips(anno.media, o),
    captions: anno.img2txt.map((ids) => ids.map((i) => anno.texts[i])),
    qa: [],
  };
}

/** A stage-3 instruction file (official `{video, QA: [{i, q, a}]}`), decoded as `loadClipSet` does; `qa` holds the turns. */
export async function loadInstructionSet(
  annoPath: string,
  o: { dataRoot: string; numFrames: number; size: number; progress?: Progress; label?: string },
): Promise<ClipSet> {
  const anno = await loadInstructionAnno(annoPath, { dataRoot: o.dataRoot });
  return {
    names: anno.map((a) => a.media.split('/').pop() ?? a.media),
    labels: anno.map((_, i) => i),
    clips: [],
    frames: await decodeClips(anno.map((a) => a.media), o),
    captions: anno.map(() => []),
    qa: anno.map((a) => ({ video: a.media, QA: a.qa.map((t) => ({ i: t.i ?? '', q: t.q, a: t.a })) })),
  };
}

/** Every clip decoded once (official `middle` sampling), resized to `size`² and ImageNet-normalised, `[N, T, 3, S, S]`. */
async function decodeClips(media: string[], o: { numFrames: number; size: number; progress?: Progress; label?: string }): Promise<Float32Array> {
  const T = o.numFrames, S = o.size;
  const clipElems = T * 3 * S * S;
  const frames = new Float32Array(media.length * clipElems);
  o.progress?.begin(o.label ?? 'decode', media.length, { unit: 'clips' });
  let next = 0, done = 0;
  const worker = async () => {
    while (next < media.length) {
      const n = next++;
      const src = await openVideo(media[n]);
      try {
        const idx = frameIndices({ numFrames: T, numVideoFrames: src.info.numFrames, sample: 'middle' });
        const f = await src.readFrames(idx, { width: S, height: S });
        for (let t = 0; t < T; t++) {
          for (let c = 0; c < 3; c++) {
            const base = n * clipElems + (t * 3 + c) * S * S;
            for (let i = 0; i < S * S; i++) frames[base + i] = (f.data[(t * S * S + i) * 3 + c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
          }
        }
      } finally {
        await src.close();
      }
      o.progress?.update(++done);
    }
  };
  await Promise.all([worker(), worker()]);
  o.progress?.end();
  return frames;
}

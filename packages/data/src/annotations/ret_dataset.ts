import { preText } from '../text/utils.js';
import { mediaPath, readJsonList, validateEntries } from './parse.js';
import { classificationEntry, mcCaptionEntry, mcOptionEntry, videoEntry } from './schemas.js';

/** The official retrieval evaluation layout (`ret_dataset.py`, `ImgTxtRetEvalDataset`). */
export interface RetrievalAnno {
  /** Videos in file order (resolved paths). */
  media: string[];
  /** Every caption, pre-processed with `pre_text`, one per text. */
  texts: string[];
  /** text index → media index. */
  txt2img: number[];
  /** media index → its text indices. */
  img2txt: number[][];
  startFrame: Array<number | undefined>;
  endFrame: Array<number | undefined>;
}

export interface RetrievalOptions {
  dataRoot: string;
  dataRootPrefix?: string;
  /** Paragraph datasets (DiDeMo, ANet): join a caption list into one text instead of expanding it. */
  isParagraphRetrieval?: boolean;
  /** Truncate each text to this many words (`max_words` of `pre_text`). */
  maxWords?: number;
}

/** Loads a retrieval JSON and expands multi-caption videos to one text per caption. */
export async function loadRetrievalAnno(annoPath: string, opts: RetrievalOptions): Promise<RetrievalAnno> {
  const entries = validateEntries(annoPath, await readJsonList(annoPath), videoEntry);
  const out: RetrievalAnno = { media: [], texts: [], txt2img: [], img2txt: [], startFrame: [], endFrame: [] };
  entries.forEach((e, i) => {
    out.media.push(mediaPath(e.video, opts.dataRoot, opts.dataRootPrefix));
    out.startFrame.push(e.video_start_frame);
    out.endFrame.push(e.video_end_frame);
    let caps = typeof e.caption === 'string' ? [e.caption] : e.caption;
    if (opts.isParagraphRetrieval) caps = [caps.join(' ')];
    out.img2txt.push([]);
    for (const c of caps) {
      out.img2txt[i].push(out.texts.length);
      out.texts.push(preText(c, opts.maxWords));
      out.txt2img.push(i);
    }
  });
  return out;
}

/** Action recognition as zero-shot retrieval: one class name per video. */
export interface ClassificationAnno {
  media: string[];
  /** Class names in order of first appearance (or the order given). */
  classes: string[];
  labels: number[];
}

export async function loadClassificationAnno(
  annoPath: string,
  opts: { dataRoot: string; dataRootPrefix?: string; classes?: string[] },
): Promise<ClassificationAnno> {
  const entries = validateEntries(annoPath, await readJsonList(annoPath), classificationEntry);
  const classes = opts.classes ? [...opts.classes] : [];
  const known = new Map(classes.map((c, i) => [c, i]));
  const labels = entries.map((e) => {
    let k = known.get(e.caption);
    if (k === undefined) {
      k = classes.length;
      classes.push(e.caption);
      known.set(e.caption, k);
    }
    return k;
  });
  return { media: entries.map((e) => mediaPath(e.video, opts.dataRoot, opts.dataRootPrefix)), classes, labels };
}

/** Multiple choice (MSR-VTT-MC `caption`+`answer`, SSv2-MC / Charades `option`+`answer`). */
export async function loadMultipleChoiceAnno(
  annoPath: string,
  opts: { dataRoot: string; dataRootPrefix?: string },
): Promise<Array<{ media: string; options: string[]; answer: number | number[] }>> {
  const list = await readJsonList(annoPath);
  const usesOption = list.length > 0 && typeof list[0] === 'object' && list[0] !== null && 'option' in list[0];
  if (usesOption) {
    return validateEntries(annoPath, list, mcOptionEntry).map((e) => ({
      media: mediaPath(e.video, opts.dataRoot, opts.dataRootPrefix),
      options: e.option,
      answer: e.answer,
    }));
  }
  return validateEntries(annoPath, list, mcCaptionEntry).map((e) => ({
    media: mediaPath(e.video, opts.dataRoot, opts.dataRootPrefix),
    options: e.caption,
    answer: e.answer,
  }));
}

import { z } from 'zod';

const caption = z.union([z.string(), z.array(z.string()).min(1)]);
const relPath = z.string().min(1, 'empty media path');

/** Stage-2 image–text entry. */
export const imageEntry = z.looseObject({ image: z.union([relPath, z.array(relPath).min(1)]), caption });
/** Stage-2 / retrieval video–text entry (optional frame window). */
export const videoEntry = z.looseObject({
  video: relPath,
  caption,
  video_start_frame: z.number().int().nonnegative().optional(),
  video_end_frame: z.number().int().nonnegative().optional(),
});
/** Stage-2 audio–text entry. */
export const audioEntry = z.looseObject({ audio: relPath, caption });
/**
 * InternVid2 audio–video entry: every key containing "caption" is kept as a caption field; `avs_captions` is the
 * one the official loss config uses.
 */
export const audioVideoEntry = z
  .looseObject({
    video: relPath,
    audio: relPath.optional(),
    video_start_frame: z.number().int().nonnegative().optional(),
    video_end_frame: z.number().int().nonnegative().optional(),
    video_fps: z.number().positive().optional(),
    video_name: z.string().optional(),
  })
  .check((ctx) => {
    const keys = Object.keys(ctx.value).filter((k) => k.includes('caption'));
    if (keys.length === 0) ctx.issues.push({ code: 'custom', input: ctx.value, message: 'no caption field (a key containing "caption")' });
    for (const k of keys) {
      const v = (ctx.value as Record<string, unknown>)[k];
      if (!caption.safeParse(v).success) {
        ctx.issues.push({ code: 'custom', input: v, path: [k], message: 'must be a string or a non-empty list of strings' });
      }
    }
  });
/** Action recognition as retrieval: the caption is the class name. */
export const classificationEntry = z.looseObject({ video: relPath, caption: z.string().min(1) });
/** MSR-VTT-MC: five caption options and the index of the right one. */
export const mcCaptionEntry = z.looseObject({ video: relPath, caption: z.array(z.string()).min(2), answer: z.number().int().nonnegative() });
/** SSv2-MC / Charades: `option` list and an index or a multi-hot list. */
export const mcOptionEntry = z.looseObject({
  video: relPath,
  option: z.array(z.string()).min(1),
  answer: z.union([z.number().int().nonnegative(), z.array(z.number())]),
});
/** Stage-3 instruction data (VideoChat2): video or image, QA turns of instruction / question / answer. */
export const instructionEntry = z
  .looseObject({
    video: relPath.optional(),
    image: relPath.optional(),
    QA: z.array(z.looseObject({ i: z.string().optional(), q: z.string(), a: z.string() })).min(1),
    start: z.number().nonnegative().optional(),
    end: z.number().nonnegative().optional(),
  })
  .check((ctx) => {
    if ((ctx.value.video === undefined) === (ctx.value.image === undefined)) {
      ctx.issues.push({ code: 'custom', input: ctx.value, path: ['video'], message: 'exactly one of "video" or "image" is required' });
    }
  });

export type ImageEntry = z.infer<typeof imageEntry>;
export type VideoEntry = z.infer<typeof videoEntry>;
export type AudioEntry = z.infer<typeof audioEntry>;
export type AudioVideoEntry = z.infer<typeof audioVideoEntry>;
export type ClassificationEntry = z.infer<typeof classificationEntry>;
export type InstructionEntry = z.infer<typeof instructionEntry>;

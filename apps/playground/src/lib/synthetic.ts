// The in-memory synthetic dataset of @iv2/data (the generator `iv2 demo` / `iv2 train` use), through
// synthetic_source.ts (which the page's build points at the generator's source).
import { COLORS, MOTIONS, SHAPES, syntheticAnnotations } from './synthetic_source.js';

export { describeClip, syntheticAnnotations, syntheticClips } from './synthetic_source.js';
export type { SyntheticClip, SyntheticClips } from './synthetic_source.js';

/** Every word of the QA annotations over all colours, shapes and motions. */
export const SYNTHETIC_WORDS: string = (() => {
  const clips = [];
  for (const color of Object.keys(COLORS)) for (const shape of SHAPES) for (const motion of Object.keys(MOTIONS)) clips.push({ name: '', spec: { color, shape, motion } as never });
  const words = new Set<string>();
  for (const r of syntheticAnnotations(clips).qa) for (const t of r.QA) for (const s of [t.i, t.q, t.a]) for (const w of s.split(/\s+/)) if (w) words.add(w);
  return [...words].sort().join(' ');
})();

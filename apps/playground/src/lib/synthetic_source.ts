// The synthetic generator of @iv2/data. In Node (tests, the CLI) this is the package itself; the page's build
// points this module at the generator's source (vite.config.ts), because @iv2/data's browser entry leaves it out
// (the file writer beside it needs ffmpeg) while the in-memory renderer runs anywhere.
export { COLORS, describeClip, MOTIONS, SHAPES, syntheticAnnotations, syntheticClips } from '@iv2/data';
export type { SyntheticClip, SyntheticClips } from '@iv2/data';

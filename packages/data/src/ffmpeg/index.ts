export { openVideo, FfmpegFrameSource } from './ffmpeg_frame_source.js';
export type { OpenVideoOptions } from './ffmpeg_frame_source.js';
export { probeVideo, MAX_SIDE, MAX_PIXELS } from './probe.js';
export type { ProbeResult } from './probe.js';
export { ffmpegPath, setFfmpegPath } from './binary.js';

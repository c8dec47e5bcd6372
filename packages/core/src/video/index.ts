export type { VideoInfo, Frames, FrameSource } from './frame_source.js';

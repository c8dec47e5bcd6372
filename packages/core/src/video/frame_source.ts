/** What a decoder knows about a video before reading frames. */
export interface VideoInfo {
  /** Display size after sample-aspect-ratio correction and rotation. */
  width: number;
  height: number;
  /** Number of decodable frames. */
  numFrames: number;
  /** Average frame rate (frames / second). */
  fps: number;
  /** Seconds. */
  duration: number;
}

/** RGB frames, packed `[count, height, width, 3]`, uint8. */
export interface Frames {
  data: Uint8Array;
  count: number;
  height: number;
  width: number;
}

/**
 * A video that can be read frame by frame without decoding it whole. `@iv2/data` implements it with ffmpeg
 * (Node) and WebCodecs (browser); `@iv2/encoder` consumes it, so neither package depends on the other.
 */
export interface FrameSource {
  readonly path: string;
  readonly info: VideoInfo;
  /** Frames at the given 0-based indices, in the order given, optionally resized to `size` (bilinear). */
  readFrames(indices: number[], size?: { width: number; height: number }): Promise<Frames>;
  close(): Promise<void>;
}

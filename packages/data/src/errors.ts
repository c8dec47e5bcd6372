/**
 * One error class per failure mode. Every error names the file it is about and the reason, so a loader that skips
 * bad samples can report exactly what it skipped.
 */
export class MediaError extends Error {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = new.target.name;
    this.file = file;
    this.reason = reason;
  }
}

/** The path does not exist (or is not a regular file). */
export class VideoNotFoundError extends MediaError {}

/** The file exists but has zero bytes. */
export class EmptyFileError extends MediaError {}

/** The file is not a container ffmpeg / the demuxer recognises. */
export class NotAVideoError extends MediaError {}

/** The container is readable but has no video stream (e.g. an audio-only file). */
export class NoVideoStreamError extends MediaError {}

/** The video stream is truncated or corrupt: frames that the container announces cannot be decoded. */
export class CorruptVideoError extends MediaError {}

/** The video stream has no decodable frame at all. */
export class NoDecodableFrameError extends MediaError {}

/** The announced size is zero, negative or larger than any sane frame buffer. */
export class AbsurdDimensionsError extends MediaError {}

/** The requested frame indices lie outside the video. */
export class FrameIndexError extends MediaError {}

/** The decoder binary is missing or failed to start. */
export class DecoderUnavailableError extends MediaError {}

/** The platform's decoder cannot decode this codec (WebCodecs `isConfigSupported` said no). */
export class UnsupportedCodecError extends MediaError {}

/** An annotation file or entry does not follow the official format; names the file, entry index and field. */
export class AnnotationError extends Error {
  readonly file: string;
  readonly index: number | null;
  readonly field: string | null;
  constructor(file: string, index: number | null, field: string | null, reason: string) {
    const where = index === null ? file : `${file}[${index}]${field ? `.${field}` : ''}`;
    super(`${where}: ${reason}`);
    this.name = 'AnnotationError';
    this.file = file;
    this.index = index;
    this.field = field;
  }
}

/** A tar shard is malformed (bad header checksum, truncated member). */
export class ShardFormatError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'ShardFormatError';
    this.file = file;
  }
}

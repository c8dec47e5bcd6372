import { spawn } from 'node:child_process';
import { ffmpegPath } from '../ffmpeg/binary.js';

export type SyntheticCodec = 'h264' | 'mpeg4' | 'vp9';

/** Encodes packed rgb24 frames into a real video file with ffmpeg (frames go through stdin, nothing on disk). */
export function encodeFrames(
  frames: Uint8Array,
  width: number,
  height: number,
  fps: number,
  file: string,
  codec: SyntheticCodec = 'h264',
): Promise<void> {
  const codecArgs =
    codec === 'h264'
      ? ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-movflags', '+faststart']
      : codec === 'mpeg4'
        ? ['-c:v', 'mpeg4', '-q:v', '3', '-pix_fmt', 'yuv420p']
        : ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '30', '-deadline', 'realtime', '-pix_fmt', 'yuv420p'];
  const args = [
    '-hide_banner', '-v', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
    ...codecArgs, file,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(ffmpegPath(), args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (s: string) => (err += s));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg could not encode ${file}: ${err.trim()}`))));
    p.stdin.on('error', () => undefined); // reported through the exit code
    p.stdin.end(Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength));
  });
}

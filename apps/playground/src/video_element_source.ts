import type { FrameSource, Frames } from '@iv2/core';

/**
 * A FrameSource over an HTMLVideoElement: seeks to each frame's time and draws it to a canvas. Works for any codec
 * the browser plays; frame times assume a constant rate.
 */
export async function videoElementSource(url: string, fps = 25): Promise<FrameSource> {
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  video.src = url;
  await new Promise<void>((resolve, reject) => {
    video.onloadedmetadata = () => resolve();
    video.onerror = () => reject(new Error(`${url}: the browser cannot play this video`));
  });
  const numFrames = Math.max(1, Math.floor(video.duration * fps));
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const seek = (t: number) =>
    new Promise<void>((resolve) => {
      video.onseeked = () => resolve();
      video.currentTime = t;
    });
  return {
    path: url,
    info: { width: video.videoWidth, height: video.videoHeight, numFrames, fps, duration: video.duration },
    async readFrames(indices: number[], size?: { width: number; height: number }): Promise<Frames> {
      const width = size?.width ?? video.videoWidth;
      const height = size?.height ?? video.videoHeight;
      canvas.width = width;
      canvas.height = height;
      const data = new Uint8Array(indices.length * width * height * 3);
      for (let k = 0; k < indices.length; k++) {
        await seek((indices[k] + 0.5) / fps);
        ctx.drawImage(video, 0, 0, width, height);
        const rgba = ctx.getImageData(0, 0, width, height).data;
        for (let p = 0, o = k * width * height * 3; p < width * height; p++) {
          data[o++] = rgba[p * 4];
          data[o++] = rgba[p * 4 + 1];
          data[o++] = rgba[p * 4 + 2];
        }
      }
      return { data, count: indices.length, width, height };
    },
    async close() {
      video.removeAttribute('src');
      video.load();
    },
  };
}

// Bundled by test/browser.test.ts with esbuild and loaded in headless Chromium.
import { frameIndices, openVideo } from '../../src/browser.js';

function toBase64(u: Uint8Array): string {
  let s = '';
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(s);
}

async function decode(url: string, numFrames: number) {
  try {
    const v = await openVideo(url);
    const idx = frameIndices({ numFrames, numVideoFrames: v.info.numFrames, sample: 'middle' });
    const f = await v.readFrames(idx);
    await v.close();
    return { ok: true, info: v.info, codec: v.codec, idx, width: f.width, height: f.height, data: toBase64(f.data) };
  } catch (e) {
    return { ok: false, error: (e as Error).name, message: (e as Error).message };
  }
}

(globalThis as unknown as { iv2: unknown }).iv2 = { decode };

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  type SyntheticManifest,
  loadClassificationAnno,
  loadInstructionAnno,
  loadRetrievalAnno,
  openVideo,
  writeSyntheticDataset,
} from '../src/index.js';
import { tempDir } from './fixtures.js';

const opts = { clipsPerClass: 3, heldOutPerClass: 1, width: 48, height: 32, numFrames: 8, fps: 8, seed: 5 };
const small = { colors: ['red', 'blue'] as const, shapes: ['circle', 'square'] as const, motions: ['left', 'down'] as const };

describe('synthetic video–text dataset', () => {
  let dir: string;
  let m: SyntheticManifest;
  beforeAll(async () => {
    dir = tempDir('synth');
    m = await writeSyntheticDataset({ dir, ...opts, colors: [...small.colors], shapes: [...small.shapes], motions: [...small.motions] });
  });

  test('every file is a real video that plain ffmpeg decodes with the asked size and frame count', () => {
    const vids = readdirSync(join(dir, 'videos'));
    expect(vids.length).toBe(8 * 3);
    for (const v of vids) {
      const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'videos', v), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
      expect(raw.length).toBe(8 * 48 * 32 * 3);
    }
  });

  test('annotations load through the official-format readers; classes balanced; held-out split disjoint', async () => {
    expect(m.classes.length).toBe(8);
    const root = join(dir, m.videoRoot);
    const trainRet = await loadRetrievalAnno(join(dir, m.files.retrieval.train), { dataRoot: root });
    const testRet = await loadRetrievalAnno(join(dir, m.files.retrieval.test), { dataRoot: root });
    expect(trainRet.media.length).toBe(16);
    expect(testRet.media.length).toBe(8);
    expect(trainRet.texts.length).toBe(32); // two captions per clip, expanded
    expect(new Set(trainRet.media).size + new Set(testRet.media).size).toBe(24);
    expect(trainRet.media.filter((x) => testRet.media.includes(x))).toEqual([]);
    const cls = await loadClassificationAnno(join(dir, m.files.classification.train), { dataRoot: root, classes: m.classes });
    const counts = m.classes.map((_, k) => cls.labels.filter((l) => l === k).length);
    expect(counts).toEqual(Array(8).fill(2));
    const clsTest = await loadClassificationAnno(join(dir, m.files.classification.test), { dataRoot: root, classes: m.classes });
    expect(clsTest.labels.slice().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const qa = await loadInstructionAnno(join(dir, m.files.qa.train), { dataRoot: root });
    expect(qa.length).toBe(16);
    expect(qa[0].qa.length).toBe(4);
    expect(m.classes[0]).toBe('a red circle moves left');
  });

  test('the pictures show what the captions say: colour, and motion direction of the shape', async () => {
    const cls = await loadClassificationAnno(join(dir, m.files.classification.test), { dataRoot: join(dir, 'videos'), classes: m.classes });
    for (let s = 0; s < cls.media.length; s++) {
      const name = m.classes[cls.labels[s]];
      const [, color, , , motion] = name.split(' ');
      const v = await openVideo(cls.media[s]);
      const f = await v.readFrames([0, 7]);
      const centroid = (k: number) => {
        let sx = 0;
        let sy = 0;
        let n = 0;
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 48; x++) {
            const o = ((k * 32 + y) * 48 + x) * 3;
            const [r, g, b] = [f.data[o], f.data[o + 1], f.data[o + 2]];
            const hit = color === 'red' ? r > 150 && g < 110 && b < 110 : b > 150 && r < 120;
            if (hit) {
              sx += x;
              sy += y;
              n++;
            }
          }
        }
        expect(n).toBeGreaterThan(10);
        return [sx / n, sy / n];
      };
      const [x0, y0] = centroid(0);
      const [x1, y1] = centroid(1);
      if (motion === 'left') expect(x1 - x0).toBeLessThan(-5);
      if (motion === 'down') expect(y1 - y0).toBeGreaterThan(3);
    }
  });

  test('same seed → same annotations and same video bytes', async () => {
    const d2 = tempDir('synth2');
    await writeSyntheticDataset({ dir: d2, ...opts, colors: [...small.colors], shapes: [...small.shapes], motions: [...small.motions] });
    expect(readFileSync(join(d2, 'annotations/ret_train.json'), 'utf8')).toBe(readFileSync(join(dir, 'annotations/ret_train.json'), 'utf8'));
    const v = readdirSync(join(dir, 'videos'))[3];
    expect(readFileSync(join(d2, 'videos', v)).equals(readFileSync(join(dir, 'videos', v)))).toBe(true);
  });
});

// The four views of the page driven end to end in headless Chromium (WebGPU on SwiftShader where there is no GPU),
// each checked against the same computation in Node on the same inputs; screenshots of every view are written to
// screenshots/. The page opens with the bundled trained model (public/models/demo); training runs the tiny model
// on WebGPU and the demo model on wasm, the latter replayed by `iv2 page-train` from the page's run.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, SafetensorsReader } from '@iv2/core';
import { parseConfig, preprocessFrames } from '@iv2/encoder';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pageTrainMain } from '../../cli/src/commands/page_train.js';
import { blockAttention, perFrameMaps } from '../src/lib/attention.js';
import { tinyChatModel } from '../src/lib/chat.js';
import { demoData, sampleLongVideo } from '../src/lib/data.js';
import { DEMO_DATA, DEMO_RUN, type Stage2Arch, TINY_RUN } from '../src/lib/demo_config.js';
import { MANIFEST_FILE, manifestArch, manifestTokenizer, parseStage2Manifest, stage2Manifest } from '../src/lib/manifest.js';
import { embedTexts, embedWindows, pickFrames, rankRows, videoWindows, zeroShot } from '../src/lib/search.js';
import { createStage2, demoTokenizer, loadStage2, type Stage2Model, stage2Safetensors } from '../src/lib/stage2.js';
import { Stage2Run } from '../src/lib/train.js';
import { openPlayground, type Served } from './browser.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const shots = join(root, 'screenshots');
const bundled = join(root, 'public/models/demo');
// Node reference backend: wasm (the page runs webgpu; the checks compare the two backends).
const NODE_BACKEND = 'wasm';
const TRAIN = { steps: 20, batchSize: 8, evalEvery: 10, data: { clipsPerClass: 2 } };
const QUERY = 'a red circle moves left';
const LABELS = ['red', 'green', 'blue', 'yellow'];
// Of the sample's segment captions, how many must find their own segment first, and of its segments, how many get
// their colour from zero-shot (both measured with the bundled model; both computed in Node, so exact).
const FOUND_AT_LEAST = 7;
const COLOUR_AT_LEAST = 8;

let page: Page;
let close: () => Promise<void>;
let served: Served[];
let pageUrl: string;
/** `iv2 page-train`'s output folder for the page's run.json (model.safetensors + stage2_manifest.json, log.jsonl). */
let cliOut: string;
type Last = Record<string, any>;
const last = () => page.evaluate(() => (window as unknown as { iv2app: { last: Last } }).iv2app.last as Last);
const forget = (k: string) => page.evaluate((key) => delete (window as unknown as { iv2app: { last: Last } }).iv2app.last[key], k);

async function waitFor<T>(f: () => Promise<T | undefined | null | false>, ms: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A model from a checkpoint folder on disk, as the page reads it (manifest first). */
async function modelFrom(dir: string): Promise<{ m: Stage2Model; arch: Stage2Arch }> {
  const manifest = parseStage2Manifest(readFileSync(join(dir, MANIFEST_FILE), 'utf8'), MANIFEST_FILE);
  const m = await loadStage2(new Blob([readFileSync(join(dir, manifest.checkpoint))]), manifestTokenizer(manifest), manifestArch(manifest), MANIFEST_FILE);
  return { m, arch: manifestArch(manifest) };
}

function dispose(m: Stage2Model) {
  m.vision.dispose();
  m.text.dispose();
}

const sample = (size: number) => sampleLongVideo({ seed: 7, size, framesPerClip: 16, count: 8 });

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  cliOut = mkdtempSync(join(tmpdir(), 'iv2-page-train-'));
  ({ page, close, log: served, url: pageUrl } = await openPlayground(root));
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.evaluate(() => (window as unknown as { iv2app: { ready: Promise<string> } }).iv2app.ready);
  await initBackend(NODE_BACKEND);
}, 300_000);

afterAll(async () => {
  await close?.();
  if (cliOut) rmSync(cliOut, { recursive: true, force: true });
});

describe('the playground in headless Chromium', () => {
  test('opens ready: WebGPU, the trained demo model (sizes from its manifest) and the sample video', async () => {
    expect(await page.textContent('#backend')).toMatch(/^webgpu/);
    const info = await page.textContent('#model-info');
    console.log(`on arrival: ${info}`);
    expect(info).toMatch(/^demo model \(trained, bundled\): vision 2×64 \(4 frames at 32², patch 4, tubelet 2\)/);
    const videos = (await last()).videos as Array<{ name: string; windows: unknown[] }>;
    expect(videos.map((v) => v.name)).toEqual(['sample (synthetic shapes)']);
    expect(videos[0].windows.length).toBe(15);
  });

  test('text → video search: every segment\'s caption ranked as Node ranks it, mostly found at its moment; zero-shot as Node', async () => {
    const { m, arch } = await modelFrom(bundled);
    const v = sample(arch.vision.img_size);
    const w = videoWindows(v.frames.count, v.fps, arch.vision.num_frames, 2, 1);
    const e = await embedWindows(m, v.frames, w);
    // Each segment's own caption, then the README's query (which stays on screen for the screenshot).
    const queries = [...new Set([...v.segments.map((s) => s.caption), QUERY])];
    let found = 0;
    let maxErr = 0;
    for (const q of queries) {
      await forget('search');
      await page.fill('#query', q);
      await page.click('#search');
      const got = await waitFor(async () => (await last()).search, 120_000);
      const r = rankRows(e.embeddings, e.dim, await embedTexts(m, [q]));
      expect(got.query).toBe(q);
      expect(got.ranking.map((x: [number, number]) => x[1])).toEqual(r.order);
      maxErr = Math.max(maxErr, ...got.timelines[0].scores.map((s: number, i: number) => Math.abs(s - r.scores[i])));
      // The window that is exactly a segment showing this caption (the sample may show one class twice).
      const at = v.segments.filter((s) => s.caption === q).map((s) => s.start);
      if (at.includes(w[got.ranking[0][1]].start)) found++;
    }
    const segQueries = queries.filter((q) => v.segments.some((s) => s.caption === q)).length;
    console.log(`search: ${queries.length} queries over ${w.length} windows, rankings identical to Node, max |Δscore| ${maxErr.toExponential(2)}; best window is the segment's own for ${found} of ${segQueries} captions (by chance ${(segQueries / w.length).toFixed(2)} expected)`);
    expect(maxErr).toBeLessThan(1e-4);
    expect(found).toBeGreaterThanOrEqual(FOUND_AT_LEAST);
    await page.fill('#labels', LABELS.join(', '));
    await page.click('#classify');
    const zs = await waitFor(async () => (await last()).classify, 120_000);
    await page.screenshot({ path: join(shots, 'search.png'), fullPage: true });
    const p = await zeroShot(m, e.embeddings, e.dim, LABELS);
    const zerr = Math.max(...zs.result[0].windows.flatMap((x: { probs: number[] }, i: number) => x.probs.map((q, c) => Math.abs(q - p[i][c]))));
    // Colour is what the windows' truth gives directly: the label with the highest probability per segment window.
    const colourHits = v.segments.filter((s, i) => LABELS[p[2 * i].indexOf(Math.max(...p[2 * i]))] === s.caption.split(' ')[1]).length;
    console.log(`zero-shot: max |Δp| ${zerr.toExponential(2)}; colour right in ${colourHits} of ${v.segments.length} segments`);
    expect(zerr).toBeLessThan(1e-4);
    expect(colourHits).toBeGreaterThanOrEqual(COLOUR_AT_LEAST);
    dispose(m);
  }, 300_000);

  test('attention: a chosen block and head over every frame (tubelets share a map), scrubbing through time, as Node', async () => {
    await page.click('#tabs button[data-view="attention"]');
    await waitFor(async () => (await last()).attention, 60_000);
    await page.selectOption('#att-source', '1');
    await page.selectOption('#att-head', '2');
    await page.evaluate(() => {
      const s = document.getElementById('att-time') as HTMLInputElement;
      s.value = '5';
      s.dispatchEvent(new Event('input'));
    });
    const got = await waitFor(async () => {
      const a = (await last()).attention;
      return a.source === 1 && a.head === 2 && a.window === 5 && a;
    }, 60_000);
    await page.screenshot({ path: join(shots, 'attention.png'), fullPage: true });
    const { m, arch } = await modelFrom(bundled);
    const c = arch.vision;
    const v = sample(c.img_size);
    const w = videoWindows(v.frames.count, v.fps, c.num_frames, 2, 1)[5];
    const video = preprocessFrames(pickFrames(v.frames, w.frames), { size: c.img_size });
    const a = blockAttention(m.vision, video, 1, 2);
    const maps = perFrameMaps((await a.data()) as Float32Array, c.num_frames, c.img_size / c.patch_size, c.tubelet_size);
    const err = Math.max(...maps.flatMap((mp, t) => Array.from(mp, (x, i) => Math.abs(x - got.maps[t][i]))));
    console.log(`attention block 1 head 2, window 5: ${got.maps.length} frame maps of ${got.maps[0].length} patches, max |Δ| ${err.toExponential(2)}`);
    expect(got.maps.length).toBe(c.num_frames);
    expect(err).toBeLessThan(1e-5);
    tf.dispose([video, a]);
    dispose(m);
  }, 300_000);

  test('training on WebGPU: the tiny model\'s 20 steps give Node\'s losses within 1e-4', async () => {
    await page.click('#tabs button[data-view="train"]');
    await page.selectOption('#tr-run', 'tiny');
    await page.fill('#tr-steps', '20');
    await page.evaluate(() => Object.assign(window, { iv2TrainOverrides: { evalEvery: 0 } }));
    const t0 = Date.now();
    await page.click('#tr-start');
    await page.evaluate(() => (window as unknown as { iv2app: { last: Last } }).iv2app.last.trainFinished);
    const seconds = (Date.now() - t0) / 1000;
    const got = (await last()).train as { rows: Array<{ loss: number; gradNorm: number; ms: number }> };
    const run = new Stage2Run({ ...TINY_RUN, train: { ...TINY_RUN.train, steps: 20, evalEvery: 0 } });
    const ref: Array<{ loss: number; gradNorm: number }> = [];
    for (let i = 0; i < 20; i++) ref.push(await run.next());
    run.dispose();
    const err = Math.max(...ref.map((r, i) => Math.abs(r.loss - got.rows[i].loss)));
    const nerr = Math.max(...ref.map((r, i) => Math.abs(r.gradNorm - got.rows[i].gradNorm) / r.gradNorm));
    const ms = got.rows.slice(1).reduce((a, r) => a + r.ms, 0) / (got.rows.length - 1);
    console.log(`training on webgpu (SwiftShader): 20 steps of batch ${TINY_RUN.train.batchSize} in ${seconds.toFixed(0)} s (${(ms / 1000).toFixed(2)} s/step after the first), loss ${got.rows[0].loss.toFixed(4)} → ${got.rows[19].loss.toFixed(4)}, max |Δloss| vs Node ${NODE_BACKEND} ${err.toExponential(2)}, gradient norm rel. ${nerr.toExponential(2)}`);
    expect(got.rows.length).toBe(20);
    expect(err).toBeLessThan(1e-4);
    // The clipping norm (a sum over every parameter) is the one the loss curve depends on.
    expect(nerr).toBeLessThan(1e-3);
    await page.evaluate(() => Object.assign(window, { iv2TrainOverrides: undefined }));
  }, 600_000);

  test('live training: pause/resume, page responsive, files downloaded; `iv2 page-train run.json` gives the same curve and weights', async () => {
    await page.click('#tabs button[data-view="train"]');
    await page.selectOption('#tr-run', 'demo');
    // SwiftShader runs WebGPU on the CPU at ~25 s per step of this model: the page trains on wasm here
    // (the same worker code; on a GPU the default backend is webgpu).
    await page.selectOption('#backend-select', 'wasm');
    await waitFor(async () => (await page.textContent('#backend'))?.startsWith('wasm'), 60_000);
    await page.evaluate((o) => {
      (window as unknown as { iv2TrainOverrides: object }).iv2TrainOverrides = o;
      // Main-thread blocking: the longest gap between 10-ms timer ticks, and long tasks, while training runs.
      const w = window as unknown as { iv2Block: { maxGap: number; long: number[]; ticks: number } };
      w.iv2Block = { maxGap: 0, long: [], ticks: 0 };
      let prev = performance.now();
      setInterval(() => {
        const now = performance.now();
        w.iv2Block.maxGap = Math.max(w.iv2Block.maxGap, now - prev);
        w.iv2Block.ticks++;
        prev = now;
      }, 10);
      new PerformanceObserver((l) => l.getEntries().forEach((e) => w.iv2Block.long.push(e.duration))).observe({ type: 'longtask', buffered: false });
    }, { evalEvery: TRAIN.evalEvery, data: TRAIN.data });
    await page.fill('#tr-steps', String(TRAIN.steps));
    await page.fill('#tr-batch', String(TRAIN.batchSize));
    const t0 = Date.now();
    await page.click('#tr-start');
    await waitFor(async () => (await last()).train?.rows.length >= 5, 300_000);
    await page.click('#tr-pause');
    const paused = (await last()).train.rows.length;
    await new Promise((r) => setTimeout(r, 3000));
    const still = (await last()).train.rows.length;
    expect(still - paused).toBeLessThanOrEqual(1); // the step in flight when pausing may land
    await page.click('#tr-pause');
    await page.evaluate(() => (window as unknown as { iv2app: { last: Last } }).iv2app.last.trainFinished);
    const seconds = (Date.now() - t0) / 1000;
    const block = (await page.evaluate(() => (window as unknown as { iv2Block: object }).iv2Block)) as { maxGap: number; long: number[]; ticks: number };
    // The three files: the checkpoint (auto-downloaded), its manifest and the run's definition.
    const dl = mkdtempSync(join(tmpdir(), 'iv2-page-files-'));
    const save = async (click: () => Promise<void>, name: string) => {
      const d = page.waitForEvent('download');
      await click();
      const f = await d;
      expect(f.suggestedFilename()).toBe(name);
      await f.saveAs(join(dl, name));
    };
    await save(() => page.click('#tr-save'), 'model.safetensors');
    await save(() => page.click('#tr-file-stage2_manifest-json'), 'stage2_manifest.json');
    await save(() => page.click('#tr-file-run-json'), 'run.json');
    await page.screenshot({ path: join(shots, 'training.png'), fullPage: true });
    const got = (await last()).train as { rows: Array<{ loss: number; ms: number }>; evals: Array<{ step: number; t2v_r1: number; t2v_r5: number }> };
    console.log(`training: ${got.rows.length} steps in ${seconds.toFixed(0)} s (${(got.rows.reduce((a, r) => a + r.ms, 0) / got.rows.length).toFixed(0)} ms/step on wasm in the page), loss ${got.rows[0].loss.toFixed(4)} → ${got.rows.at(-1)!.loss.toFixed(4)}; evals ${got.evals.length}`);
    console.log(`main thread during training: longest gap between 10-ms ticks ${block.maxGap.toFixed(0)} ms over ${block.ticks} ticks; long tasks ${block.long.length} (longest ${Math.max(0, ...block.long).toFixed(0)} ms)`);
    expect(got.rows.length).toBe(TRAIN.steps);
    expect(got.evals.length).toBe(2);
    expect(block.maxGap).toBeLessThan(250);

    // The same run through the CLI, from the page's run.json.
    const run = JSON.parse(readFileSync(join(dl, 'run.json'), 'utf8'));
    expect(run).toEqual({ ...DEMO_RUN, data: { ...DEMO_DATA, ...TRAIN.data }, train: { ...DEMO_RUN.train, steps: TRAIN.steps, batchSize: TRAIN.batchSize, evalEvery: TRAIN.evalEvery } });
    await pageTrainMain([join(dl, 'run.json'), '--out', cliOut]);
    const rows = readFileSync(join(cliOut, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const cli = rows.filter((r) => 'loss' in r);
    const cliEvals = rows.filter((r) => 'eval/t2v_r1' in r);
    expect(cli.length).toBe(TRAIN.steps);
    const err = Math.max(...cli.map((r, i) => Math.abs(r.loss - got.rows[i].loss)));
    console.log(`iv2 page-train run.json: losses vs the page's max |Δ| ${err.toExponential(2)}; held-out t2v R@1 page ${got.evals.map((x) => x.t2v_r1).join(', ')} / CLI ${cliEvals.map((x) => x['eval/t2v_r1']).join(', ')}`);
    expect(err).toBeLessThan(1e-4);
    expect(cliEvals.map((x) => x.step)).toEqual(got.evals.map((x) => x.step));
    // The downloaded checkpoint is the CLI's model.safetensors: official keys, the same weights, the same manifest.
    const mine = await SafetensorsReader.open(new Uint8Array(readFileSync(join(dl, 'model.safetensors'))));
    const ours = await SafetensorsReader.open(new Uint8Array(readFileSync(join(cliOut, 'model.safetensors'))));
    expect(mine.metadata).toMatchObject({ format: 'pt', step: String(TRAIN.steps), stage: 'stage2' });
    expect(mine.keys().sort()).toEqual(ours.keys().sort());
    expect(mine.keys()).toContain('text_encoder.bert.embeddings.word_embeddings.weight');
    let werr = 0;
    for (const k of mine.keys()) {
      const a = (await mine.get(k)).data as Float32Array;
      const b = (await ours.get(k)).data as Float32Array;
      for (let i = 0; i < a.length; i++) werr = Math.max(werr, Math.abs(a[i] - b[i]));
    }
    const pm = parseStage2Manifest(readFileSync(join(dl, MANIFEST_FILE), 'utf8'));
    const cm = parseStage2Manifest(readFileSync(join(cliOut, MANIFEST_FILE), 'utf8'));
    console.log(`checkpoint: ${mine.keys().length} tensors, page vs CLI after ${TRAIN.steps} steps max |Δweight| ${werr.toExponential(2)}; manifests equal`);
    expect(werr).toBeLessThan(1e-3);
    expect(pm).toEqual(cm);
    rmSync(dl, { recursive: true, force: true });
    await page.selectOption('#backend-select', 'webgpu');
    await waitFor(async () => (await page.textContent('#backend'))?.startsWith('webgpu'), 60_000);
    await waitFor(async () => (await page.textContent('#status'))?.includes('sample video ready'), 120_000);
  }, 600_000);

  test('chat with a video: streamed greedy answer identical to Node', async () => {
    await page.click('#tabs button[data-view="chat"]');
    await page.click('#chat-tiny');
    await waitFor(async () => (await page.textContent('#chat-info'))?.includes('LoRA'), 120_000);
    await page.selectOption('#chat-window', '0:4');
    await page.fill('#chat-q', 'What colour is the moving shape?');
    await page.click('#chat-ask');
    const got = await waitFor(async () => (await last()).chat, 300_000);
    await page.screenshot({ path: join(shots, 'chat.png'), fullPage: true });
    const arch = manifestArch(parseStage2Manifest(readFileSync(join(bundled, MANIFEST_FILE), 'utf8')));
    const v = sample(arch.vision.img_size);
    const w = videoWindows(v.frames.count, v.fps, arch.vision.num_frames, 2, 1)[4];
    const chat = await tinyChatModel(parseConfig(arch.vision), 0);
    const streamed: string[] = [];
    const answer = await chat.ask(pickFrames(v.frames, w.frames), 'What colour is the moving shape?', (t) => streamed.push(t), 16);
    console.log(`chat: "${got.answer}" (${got.streamed.length} streamed steps) — Node: "${answer}"`);
    expect(got.answer).toBe(answer);
    expect(got.streamed).toEqual(streamed);
    expect(got.streamed.length).toBeGreaterThan(1);
    chat.dispose();
  }, 600_000);

  test('a checkpoint by URL: its manifest beside it, weights by range requests; disagreeing sizes are refused by name', async () => {
    const ck = join(root, 'dist/ckpt');
    for (const d of ['', 'bad', 'lone']) mkdirSync(join(ck, d), { recursive: true });
    for (const f of ['model.safetensors', MANIFEST_FILE]) writeFileSync(join(ck, f), readFileSync(join(cliOut, f)));
    const trainedBytes = readFileSync(join(cliOut, 'model.safetensors'));
    // A manifest that claims iv2 demo's sizes beside a checkpoint of the page's preset.
    const cm = parseStage2Manifest(readFileSync(join(cliOut, MANIFEST_FILE), 'utf8'));
    writeFileSync(join(ck, 'bad/model.safetensors'), trainedBytes);
    writeFileSync(join(ck, 'bad', MANIFEST_FILE), JSON.stringify({ ...cm, vision: { ...cm.vision, patch_size: 4, tubelet_size: 2 } }));
    // A checkpoint alone, of another vocabulary: read under the page's preset, whose vocabulary it does not fit.
    const other = createStage2(demoTokenizer(demoData({ ...DEMO_DATA, clipsPerClass: 2, colors: ['red'] })), 0);
    writeFileSync(join(ck, 'lone/other.safetensors'), await stage2Safetensors(other));
    dispose(other);
    await page.click('#tabs button[data-view="search"]');
    await page.evaluate(() => ((document.querySelector('details.load') as HTMLDetailsElement).open = true));
    const before = served.length;
    await page.fill('#ckpt-url', `${pageUrl}ckpt/model.safetensors`);
    await page.click('#ckpt-url-load');
    await waitFor(async () => (await page.textContent('#model-info'))?.includes('ckpt/model.safetensors'), 120_000);
    const reads = served.slice(before).filter((r) => r.path === '/ckpt/model.safetensors');
    const bytes = reads.reduce((a, r) => a + r.bytes, 0);
    console.log(`URL checkpoint: manifest fetched ${served.slice(before).some((r) => r.path === `/ckpt/${MANIFEST_FILE}`)}, ${reads.length} requests for the weights, all ranged: ${reads.every((r) => r.range)}, ${bytes} bytes of ${trainedBytes.length}`);
    expect(served.slice(before).some((r) => r.path === `/ckpt/${MANIFEST_FILE}`)).toBe(true);
    expect(reads.length).toBeGreaterThan(2);
    expect(reads.every((r) => r.range)).toBe(true);
    expect(bytes).toBeLessThan(1.2 * trainedBytes.length);
    // The loaded (trained) model searches as Node's copy of it does.
    await forget('search');
    await page.fill('#query', QUERY);
    await page.click('#search');
    const got = await waitFor(async () => (await last()).search, 120_000);
    const { m, arch } = await modelFrom(cliOut);
    const v = sample(arch.vision.img_size);
    const w = videoWindows(v.frames.count, v.fps, arch.vision.num_frames, 2, 1);
    const e = await embedWindows(m, v.frames, w);
    const r = rankRows(e.embeddings, e.dim, await embedTexts(m, [QUERY]));
    dispose(m);
    expect(got.ranking.map((x: [number, number]) => x[1])).toEqual(r.order);
    console.log(`trained model by URL: best window ${r.order[0]} (${w[r.order[0]].start}–${w[r.order[0]].end} s) for "${QUERY}", ranking as Node's`);
    const notes = () => page.$$eval('#notes .note', (els) => els.map((e) => e.textContent ?? ''));
    await page.fill('#ckpt-url', `${pageUrl}ckpt/bad/model.safetensors`);
    await page.click('#ckpt-url-load');
    const msg = await waitFor(async () => (await notes()).find((n) => n.includes('bad/model.safetensors')), 60_000);
    console.log(`manifest mismatch: ${msg.slice(0, 200)}`);
    expect(msg).toMatch(/^PresetMismatchError: \S+\/ckpt\/bad\/model\.safetensors does not match its manifest stage2_manifest\.json: vision tower/);
    await page.fill('#ckpt-url', `${pageUrl}ckpt/lone/other.safetensors`);
    await page.click('#ckpt-url-load');
    const msg2 = await waitFor(async () => (await notes()).find((n) => n.startsWith('PresetMismatchError') && n.includes('other.safetensors')), 60_000);
    console.log(`preset mismatch: ${msg2.slice(0, 200)}`);
    expect(msg2).toMatch(/other\.safetensors does not match the preset "playground demo \(stage 2\)": text tower/);
  }, 300_000);

  test('videos dropped on the page are decoded in the worker (WebCodecs) and searched; an undecodable one is named', async () => {
    const media = fileURLToPath(new URL('../../../fixtures/media/', import.meta.url));
    const { openVideo } = await import('@iv2/data');
    const src = await openVideo(join(media, 'part_0.mp4'));
    const want = videoWindows(src.info.numFrames, src.info.fps, 4, 2, 1).length;
    await src.close();
    await page.setInputFiles('#video-files', join(media, 'part_0.mp4'));
    const list = await waitFor(async () => ((await last()).videos as Array<{ name: string; windows: unknown[] }>).find((v) => v.name === 'part_0.mp4'), 120_000);
    expect(list.windows.length).toBe(want);
    await forget('search');
    await page.click('#search');
    const got = await waitFor(async () => (await last()).search, 120_000);
    const names = got.timelines.map((t: { name: string }) => t.name);
    expect(names).toContain('part_0.mp4');
    console.log(`part_0.mp4 (H.264) decoded in the page: ${list.windows.length} windows as Node's probe gives; searched with the sample`);
    await page.setInputFiles('#video-files', join(media, 'example1.mp4'));
    const notes = () => page.$$eval('#notes .note', (els) => els.map((e) => e.textContent ?? ''));
    const msg = await waitFor(async () => (await notes()).find((n) => n.includes('example1.mp4')), 60_000);
    console.log(`example1.mp4 (MPEG-4 Part 2): ${msg.slice(0, 160)}`);
    expect(msg).toMatch(/^UnsupportedCodecError: example1\.mp4: /);
    await page.screenshot({ path: join(shots, 'search-videos.png'), fullPage: true });
  }, 300_000);
});

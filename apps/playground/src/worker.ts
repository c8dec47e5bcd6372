// Everything heavy runs here, off the page's main thread: the backend, the models, decoding, training, chat.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, describeBackend, type Frames, initBackend } from '@iv2/core';
import { preprocessFrames } from '@iv2/encoder';
import { openVideo } from '@iv2/data/browser';
import { blockAttention, perFrameMaps, poolAttention } from './lib/attention.js';
import { DEMO_ARCH, DEMO_RUN, RUNS, type DemoDataOptions, type Stage2Arch, type Stage2RunSpec, type TrainSettings } from './lib/demo_config.js';
import { type DemoData, demoData, sampleLongVideo } from './lib/data.js';
import { describeArch, MANIFEST_FILE, manifestArch, manifestTokenizer, parseStage2Manifest, type Stage2Manifest } from './lib/manifest.js';
import { parseRunSpec } from './lib/run_spec.js';
import { embedTexts, embedWindows, pickFrames, rankRows, type VideoWindow, videoWindows, type WindowEmbeddings, zeroShot } from './lib/search.js';
import { createStage2, DEMO_PRESET, demoTokenizer, disposeStage2, loadStage2, type Stage2Model } from './lib/stage2.js';
import { type EvalRow, Stage2Run, type StepRow } from './lib/train.js';
import { type ChatSession, loadChatFolder, tinyChatModel, type ChatFiles } from './lib/chat.js';

export interface Thumb {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
}

interface Video {
  name: string;
  /** The frames the windows use (rgb24 at the model's size), in `frameAt` order. */
  frames: Frames;
  fps: number;
  numVideoFrames: number;
  windows: VideoWindow[];
  /** Truth for the generated sample: what is on screen when. */
  segments?: Array<{ start: number; end: number; caption: string }>;
  emb?: WindowEmbeddings;
}

const state: {
  backend: string;
  data: DemoData | null;
  dataOpts: DemoDataOptions;
  model: Stage2Model | null;
  /** The sizes of the current model (from its manifest, or the page's preset). */
  arch: Stage2Arch;
  modelVersion: number;
  videos: Video[];
  windowSeconds: number;
  run: Stage2Run | null;
  runEnded: boolean;
  paused: boolean;
  resume: (() => void) | null;
  chat: ChatSession | null;
} = { backend: '', data: null, dataOpts: DEMO_RUN.data, model: null, arch: DEMO_ARCH, modelVersion: 0, videos: [], windowSeconds: 2, run: null, runEnded: false, paused: false, resume: null, chat: null };

function toThumb(f: Frames, k: number): Thumb {
  const n = f.width * f.height;
  const rgba = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    rgba[p * 4] = f.data[(k * n + p) * 3];
    rgba[p * 4 + 1] = f.data[(k * n + p) * 3 + 1];
    rgba[p * 4 + 2] = f.data[(k * n + p) * 3 + 2];
    rgba[p * 4 + 3] = 255;
  }
  return { rgba, width: f.width, height: f.height };
}

/** The synthetic dataset of `o` (rendered once, kept while the options stay the same). */
function ensureData(o: DemoDataOptions = state.dataOpts): DemoData {
  if (!state.data || JSON.stringify(o) !== JSON.stringify(state.dataOpts)) {
    state.dataOpts = o;
    state.data = demoData(o);
  }
  return state.data;
}

function needModel(): Stage2Model {
  if (!state.model) throw new Error('no stage-2 model yet: create the demo model, train one, or load a checkpoint');
  return state.model;
}

function setModel(m: Stage2Model, arch: Stage2Arch): string {
  if (state.model && state.model !== state.run?.model) disposeStage2(state.model);
  state.model = m;
  state.arch = arch;
  state.modelVersion++;
  for (const v of state.videos) v.emb = undefined;
  return describeModel();
}

function describeModel(): string {
  const m = needModel();
  const np = m.vision.numParameters() + m.text.numParameters();
  return `${m.source}: ${describeArch(state.arch)}, ${(np / 1e6).toFixed(2)} M parameters, vocabulary ${m.tokenizer.vocabulary().length}`;
}

/** Windows of a video and the frames they need, read once at the model's size. */
async function addFrames(name: string, all: Frames, fps: number, extra: Partial<Video> = {}): Promise<number> {
  const c = needModel().vision.config;
  const windows = videoWindows(all.count, fps, c.num_frames, state.windowSeconds, state.windowSeconds / 2);
  state.videos.push({ name, frames: all, fps, numVideoFrames: all.count, windows, ...extra });
  return state.videos.length - 1;
}

async function embeddings(v: Video): Promise<WindowEmbeddings> {
  if (!v.emb) v.emb = await embedWindows(needModel(), v.frames, v.windows);
  return v.emb;
}

const api = {
  async init(pref: BackendName | 'auto', wasmBase: string): Promise<{ backend: string; info: string }> {
    const order: BackendName[] = pref === 'auto' ? ['webgpu', 'wasm', 'cpu'] : [pref as BackendName];
    let lastErr: unknown = null;
    for (const b of order) {
      try {
        state.backend = await initBackend(b, { wasmPaths: wasmBase });
        const d = await describeBackend();
        const adapter = d.adapter ? ` — ${d.adapter.vendor || '?'} ${d.adapter.architecture || ''}`.trimEnd() : '';
        return { backend: state.backend, info: `${state.backend}${adapter}` };
      } catch (e) {
        lastErr = e;
      }
    }
    throw lastErr;
  },

  /** The page's preset with fresh weights (the demo data rendered here gives its tokenizer). */
  async demoModel(seed = 0): Promise<string> {
    const d = ensureData(DEMO_RUN.data);
    return setModel(createStage2(demoTokenizer(d), seed), DEMO_ARCH);
  },

  /**
   * A stage-2 model from a URL or picked files, read tensor by tensor. Its sizes and tokenizer come from the
   * manifest beside it (a `.json` URL is the manifest itself; a `.safetensors` URL looks for
   * `stage2_manifest.json` in its folder); a checkpoint without one is read under the page's preset.
   */
  async loadModel(source: File[] | string, label?: string): Promise<{ info: string; note?: string }> {
    let manifest: Stage2Manifest | null = null;
    let manifestName = '';
    let weights: Blob | string;
    if (typeof source === 'string') {
      const isManifest = /\.json(\?|$)/.test(source);
      const mUrl = isManifest ? source : new URL(MANIFEST_FILE, source).href;
      const r = await fetch(mUrl).catch(() => null);
      if (r?.ok) {
        manifestName = mUrl;
        manifest = parseStage2Manifest(await r.text(), mUrl);
      } else if (isManifest) throw new Error(`${mUrl}: HTTP ${r?.status ?? 'error'}`);
      weights = manifest && isManifest ? new URL(manifest.checkpoint, mUrl).href : source;
    } else {
      const json = source.filter((f) => f.name.endsWith('.json'));
      const rest = source.filter((f) => !f.name.endsWith('.json'));
      if (json.length > 1) throw new Error(`pick one manifest, not ${json.map((f) => f.name).join(', ')}`);
      if (json.length) {
        manifestName = json[0].name;
        manifest = parseStage2Manifest(await json[0].text(), manifestName);
      }
      const want = manifest?.checkpoint.split('/').pop();
      const w = rest.find((f) => f.name === want) ?? (rest.length === 1 ? rest[0] : undefined);
      if (!w) throw new Error(manifest ? `${manifestName} names ${manifest.checkpoint}: pick that file with it` : 'pick a checkpoint (model.safetensors), with its stage2_manifest.json');
      weights = w;
    }
    let m: Stage2Model;
    let arch: Stage2Arch;
    let note: string | undefined;
    if (manifest) {
      arch = manifestArch(manifest);
      m = await loadStage2(weights, manifestTokenizer(manifest, manifestName), arch, manifestName.split('/').pop()!);
    } else {
      arch = DEMO_ARCH;
      m = await loadStage2(weights, demoTokenizer(ensureData(DEMO_RUN.data)), arch, DEMO_PRESET);
      note = `no ${MANIFEST_FILE} with ${typeof weights === 'string' ? weights : (weights as File).name}: read under the page's preset (${describeArch(arch)}) and the page's vocabulary`;
    }
    if (label) m.source = label;
    return { info: setModel(m, arch), note };
  },

  modelInfo(): string | null {
    return state.model ? describeModel() : null;
  },

  /** The generated sample: held-out-style clips of the synthetic generator one after another. */
  async addSample(count = 8): Promise<{ index: number; name: string; duration: number; segments: Video['segments'] }> {
    const c = needModel().vision.config;
    const s = sampleLongVideo({ seed: 7, size: c.img_size, framesPerClip: 16, count });
    const index = await addFrames('sample (synthetic shapes)', s.frames, s.fps, { segments: s.segments });
    return { index, name: state.videos[index].name, duration: s.frames.count / s.fps, segments: s.segments };
  },

  /** A user video (File or URL), decoded here with WebCodecs; only the frames the windows use are kept. */
  async addVideo(source: File | string): Promise<{ index: number; name: string; duration: number }> {
    const c = needModel().vision.config;
    const name = typeof source === 'string' ? source.split('/').pop()! : source.name;
    const src = await openVideo(source as Blob | string).catch((e: Error) => {
      // A File reaches the decoder as a blob: name the file the user chose.
      e.message = e.message.replace(/^blob:(\S*)/, `${name}:`);
      throw e;
    });
    try {
      const fps = src.info.fps;
      const windows = videoWindows(src.info.numFrames, fps, c.num_frames, state.windowSeconds, state.windowSeconds / 2);
      const need = [...new Set(windows.flatMap((w) => w.frames))].sort((a, b) => a - b);
      const pos = new Map(need.map((f, i) => [f, i]));
      const frames = await src.readFrames(need, { width: c.img_size, height: c.img_size });
      state.videos.push({ name, frames, fps, numVideoFrames: src.info.numFrames, windows: windows.map((w) => ({ ...w, frames: w.frames.map((f) => pos.get(f)!) })) });
      return { index: state.videos.length - 1, name, duration: src.info.duration };
    } finally {
      await src.close();
    }
  },

  clearVideos(): void {
    state.videos = [];
  },

  /** Text → video: every window of every video ranked by cosine to the sentence, with the best frame and a timeline per video. */
  async search(query: string, top = 8) {
    const m = needModel();
    const q = await embedTexts(m, [query]);
    const hits: Array<{ video: number; window: number; start: number; end: number; score: number; thumb: Thumb }> = [];
    const timelines: Array<{ name: string; times: number[]; scores: number[]; segments?: Video['segments'] }> = [];
    for (let vi = 0; vi < state.videos.length; vi++) {
      const v = state.videos[vi];
      const e = await embeddings(v);
      const r = rankRows(e.embeddings, e.dim, q);
      timelines.push({ name: v.name, times: v.windows.map((w) => (w.start + w.end) / 2), scores: r.scores, segments: v.segments });
      r.scores.forEach((score, wi) => hits.push({ video: vi, window: wi, start: v.windows[wi].start, end: v.windows[wi].end, score, thumb: null as never }));
    }
    hits.sort((a, b) => b.score - a.score || a.video - b.video || a.window - b.window);
    const best = hits.slice(0, top);
    for (const h of best) {
      const v = state.videos[h.video];
      h.thumb = toThumb(v.frames, v.emb!.bestFrame[h.window]);
    }
    return { hits: best, ranking: hits.map((h) => [h.video, h.window] as [number, number]), timelines };
  },

  /** Zero-shot classification of every window with the user's labels. */
  async classify(labels: string[]) {
    const m = needModel();
    const out: Array<{ name: string; windows: Array<{ start: number; end: number; probs: number[] }> }> = [];
    for (const v of state.videos) {
      const e = await embeddings(v);
      const p = await zeroShot(m, e.embeddings, e.dim, labels);
      out.push({ name: v.name, windows: v.windows.map((w, i) => ({ start: w.start, end: w.end, probs: p[i] })) });
    }
    return out;
  },

  videoList() {
    return state.videos.map((v) => ({ name: v.name, windows: v.windows.map((w) => [w.start, w.end]) }));
  },

  /** Attention over the frames of one window: the pooling query (all heads or one), or a block's CLS row for a head. */
  async attention(o: { video: number; window: number; source: 'pool' | number; head: number }) {
    const m = needModel();
    const v = state.videos[o.video];
    if (!v) throw new Error(`no video ${o.video}`);
    const w = v.windows[o.window];
    const c = m.vision.config;
    const sub = pickFrames(v.frames, w.frames);
    const att = tf.tidy(() => {
      const video = preprocessFrames(sub, { size: c.img_size });
      if (o.source === 'pool') return poolAttention(m.vision, m.vision.forward(video, { tokensOnly: true }).tokens, o.head);
      return blockAttention(m.vision, video, o.source, o.head);
    });
    const row = (await att.data()) as Float32Array;
    att.dispose();
    const grid = c.img_size / c.patch_size;
    return {
      start: w.start, end: w.end, grid, heads: o.source === 'pool' ? c.attn_pool_num_heads : c.num_heads, depth: c.depth, tubelet: c.tubelet_size,
      cls: row[0], maps: perFrameMaps(row, c.num_frames, grid, c.tubelet_size), frames: w.frames.map((_, k) => toThumb(sub, k)),
    };
  },

  /**
   * Starts (or restarts) a training run: one of the page's runs (`RUNS`: the demo model, or the tiny one) with the
   * given settings, data options and sizes; `onStep` gets every step and evaluation.
   */
  async trainStart(
    settings: Partial<TrainSettings> & { run?: keyof typeof RUNS; data?: Partial<DemoDataOptions>; arch?: Stage2Arch; vocabSize?: number },
    onStep: (r: { row?: StepRow; eval?: EvalRow; done?: boolean; error?: string }) => void,
  ) {
    if (state.run && state.run.step < state.run.s.steps && !state.runEnded) throw new Error('a run is already going: let it finish first');
    if (state.run) {
      state.run.dispose();
      state.run = null;
    }
    const { run: which, data, arch, vocabSize, ...train } = settings;
    const base = RUNS[which ?? 'demo'];
    if (!base) throw new Error(`no run "${which}" (the page has ${Object.keys(RUNS).join(', ')})`);
    const spec = parseRunSpec({
      data: { ...base.data, ...data }, arch: arch ?? base.arch, vocabSize: vocabSize ?? base.vocabSize, train: { ...base.train, ...train },
    } satisfies Stage2RunSpec, 'training settings');
    const s = spec.train;
    const d = ensureData(spec.data);
    const run = new Stage2Run(spec, d, demoTokenizer(d, spec.vocabSize));
    state.run = run;
    state.runEnded = false;
    state.paused = false;
    void (async () => {
      try {
        while (run.step < s.steps && state.run === run) {
          if (state.paused) await new Promise<void>((r) => (state.resume = r));
          const row = await run.next();
          onStep({ row });
          if (s.evalEvery > 0 && (run.step % s.evalEvery === 0 || run.step === s.steps)) onStep({ eval: await run.evaluate() });
          // Let queued calls (pause, checkpoint) in between steps.
          await new Promise((r) => setTimeout(r, 0));
        }
        state.runEnded = true;
        onStep({ done: true });
      } catch (e) {
        state.runEnded = true;
        onStep({ error: String((e as Error).stack ?? e) });
      }
    })();
    // A glimpse of the data: the middle frame of one training clip per class, for the first classes.
    const samples = d.classes.slice(0, 16).map((name, c) => {
      const clip = d.train.clips.find((x) => x.label === c)!;
      return { name, thumb: toThumb({ data: clip.frames, count: d.numFrames, width: d.size, height: d.size }, d.numFrames >> 1) };
    });
    return { clips: d.train.clips.length, test: d.test.clips.length, classes: d.classes.length, samples };
  },

  trainPause(): number {
    state.paused = true;
    return state.run?.step ?? 0;
  },

  trainResume(): void {
    state.paused = false;
    state.resume?.();
    state.resume = null;
  },

  /**
   * What the training view downloads: `model.safetensors` of the run (the file `iv2 train` writes into each
   * checkpoint folder), its `stage2_manifest.json`, and `run.json` (the run's definition, which
   * `iv2 page-train run.json` replays in Node).
   */
  async trainFiles(): Promise<{ checkpoint: Uint8Array; manifest: string; run: string; step: number }> {
    if (!state.run) throw new Error('no training run');
    const checkpoint = await state.run.checkpoint();
    const manifest = `${JSON.stringify(state.run.manifest(), null, 1)}\n`;
    const run = `${JSON.stringify(state.run.spec, null, 1)}\n`;
    return Comlink.transfer({ checkpoint, manifest, run, step: state.run.step }, [checkpoint.buffer as ArrayBuffer]);
  },

  /** Uses the run's model for search and attention (a copy of its current weights). */
  async trainUseModel(): Promise<string> {
    if (!state.run) throw new Error('no training run');
    const bytes = await state.run.checkpoint();
    const arch = state.run.spec.arch;
    const m = await loadStage2(new Blob([bytes as BlobPart]), state.run.model.tokenizer, arch, 'the training run');
    m.source = `trained here (step ${state.run.step})`;
    return setModel(m, arch);
  },

  trainStop(): void {
    if (!state.run) return;
    const run = state.run;
    state.run = null;
    state.resume?.();
    // The loop sees state.run changed and ends; dispose after its current step.
    setTimeout(() => run.dispose(), 0);
  },

  memory() {
    return tf.memory().numTensors;
  },

  /** A tiny stage-3 model built here (random weights): vision tower of the current stage-2 model → Q-Former → projector → Mistral-layout LLM with LoRA. */
  async chatTiny(seed = 0): Promise<string> {
    state.chat?.dispose();
    state.chat = await tinyChatModel(needModel().vision.config, seed);
    return state.chat.describe();
  },

  /** An LLM folder (config.json, weights, tokenizer.json…), a stage-3 checkpoint (Q-Former, projector) and an optional LoRA adapter folder. */
  async chatLoad(files: ChatFiles): Promise<string> {
    state.chat?.dispose();
    state.chat = await loadChatFolder(files);
    return state.chat.describe();
  },

  /** Streams the answer about a window of a video. */
  async chatAsk(o: { video: number; window: number; question: string; maxNewTokens?: number }, onText: (text: string) => void): Promise<string> {
    if (!state.chat) throw new Error('no stage-3 model yet');
    const v = state.videos[o.video];
    if (!v) throw new Error(`no video ${o.video}`);
    const w = v.windows[o.window];
    return state.chat.ask(pickFrames(v.frames, w.frames), o.question, onText, o.maxNewTokens);
  },
};

export type WorkerApi = typeof api;
Comlink.expose(api);

import * as Comlink from 'comlink';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { Thumb, WorkerApi } from './worker.js';
import type { EvalRow, StepRow } from './lib/train.js';
import { DEMO_VISION, RUNS } from './lib/demo_config.js';

/** Vision encoders a stage-3 checkpoint may carry (presets of @iv2/encoder; InternVideo2-Chat-8B uses the first). */
const VISION_PRESETS = ['InternVideo2-Stage2_1B-224p-f4', 'internvideo2_1B_patch14_224', 'internvideo2_large_patch14_224'];

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (s: string) => ($('status').textContent = s);
const api = Comlink.wrap<WorkerApi>(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }));

/** What the views last showed, for scripted checks of the page. */
const last: Record<string, unknown> = {};

function note(text: string, kind: 'note' | 'error' = 'note') {
  const d = document.createElement('div');
  d.className = `note ${kind}`;
  d.textContent = text;
  $('notes').append(d);
}

function fail(e: unknown) {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  note(msg, 'error');
  status(msg);
}

function thumbCanvas(t: Thumb, overlay?: Float32Array, grid?: number): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = t.width;
  c.height = t.height;
  const ctx = c.getContext('2d')!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(t.rgba), t.width, t.height), 0, 0);
  if (overlay && grid) {
    const max = Math.max(...overlay);
    const cw = t.width / grid;
    overlay.forEach((w, i) => {
      const v = max > 0 ? w / max : 0;
      ctx.fillStyle = `rgba(255, ${Math.round(220 * (1 - v))}, 0, ${0.15 + 0.6 * v})`;
      ctx.fillRect((i % grid) * cw, Math.floor(i / grid) * cw, cw, cw);
    });
  }
  return c;
}

// ---- environment and backend -------------------------------------------------------------------------------

async function start(pref: string) {
  if (!window.isSecureContext) note('This page is not in a secure context (https or localhost): browsers hide WebGPU there, so it runs on wasm or cpu.');
  else if (!('gpu' in navigator)) note('This browser has no WebGPU: running on wasm (WebAssembly) instead.');
  else if (!(await navigator.gpu.requestAdapter().catch(() => null))) note('WebGPU is present but gives no adapter (blocklisted or disabled GPU): running on wasm instead.');
  status(`starting ${pref}…`);
  const r = await api.init(pref as never, new URL('wasm/', location.href).href);
  $('backend').textContent = r.info;
  last.backend = r.backend;
  status(`backend ${r.backend} ready`);
  return r.backend;
}

// ---- models ---------------------------------------------------------------------------------------------------

async function modelChanged(info: string) {
  $('model-info').textContent = info;
  await refreshVideos();
}

/** The trained demo model shipped with the page (public/models/demo: checkpoint + manifest, made by scripts/demo_model.sh from `iv2 demo --seed 0`). */
const BUNDLED = 'models/demo/stage2_manifest.json';

/** The demo model (the bundled trained one; random weights of the page's preset if it is missing) and the sample video. */
async function loadDemo() {
  status('loading the demo model…');
  let info: string;
  try {
    info = (await api.loadModel(new URL(BUNDLED, location.href).href, 'demo model (trained, bundled)')).info;
  } catch (e) {
    note(`The bundled model did not load (${e instanceof Error ? e.message : e}): using random weights of the page's preset.`);
    info = await api.demoModel(0);
  }
  await api.clearVideos();
  await api.addSample(8);
  await modelChanged(info);
  status('demo model and sample video ready');
}

async function loadCheckpoint(source: File[] | string) {
  status(`loading ${typeof source === 'string' ? source : source.map((f) => f.name).join(' + ')}…`);
  const r = await api.loadModel(source);
  if (r.note) note(r.note);
  // The sample is rendered at the model's size: a model of another size gets its own.
  await api.clearVideos();
  await api.addSample(8);
  await modelChanged(r.info);
  status('checkpoint loaded');
}

// ---- search ---------------------------------------------------------------------------------------------------

async function refreshVideos() {
  const list = await api.videoList();
  $('videos').textContent = list.length ? `Videos: ${list.map((v) => `${v.name} (${v.windows.length} windows)`).join(' · ')}` : 'no videos yet';
  for (const id of ['att-video']) {
    const s = $<HTMLSelectElement>(id);
    s.textContent = '';
    list.forEach((v, i) => s.add(new Option(v.name, String(i))));
  }
  const cw = $<HTMLSelectElement>('chat-window');
  cw.textContent = '';
  list.forEach((v, i) => v.windows.forEach(([a, b], j) => cw.add(new Option(`${v.name} ${a.toFixed(1)}–${b.toFixed(1)} s`, `${i}:${j}`))));
  last.videos = list;
}

const plots: uPlot[] = [];

async function search() {
  const q = $<HTMLInputElement>('query').value;
  status(`searching "${q}"…`);
  const t0 = performance.now();
  const r = await api.search(q, 8);
  last.search = { query: q, ranking: r.ranking, scores: r.hits.map((h) => h.score), timelines: r.timelines };
  const hits = $('hits');
  hits.textContent = '';
  r.hits.forEach((h, i) => {
    const d = document.createElement('div');
    d.className = `hit${i === 0 ? ' rank1' : ''}`;
    d.append(thumbCanvas(h.thumb));
    d.insertAdjacentHTML('beforeend', `<div><span class="score">${h.score.toFixed(3)}</span> · #${i + 1}</div><div class="muted">${h.start.toFixed(1)}–${h.end.toFixed(1)} s</div>`);
    hits.append(d);
  });
  for (const p of plots.splice(0)) p.destroy();
  const tl = $('timelines');
  tl.textContent = '';
  for (const t of r.timelines) {
    const box = document.createElement('div');
    tl.append(box);
    const truth = t.segments ? `, shapes: ${t.segments.map((s) => `${s.start.toFixed(0)}s ${s.caption}`).join(' · ')}` : '';
    plots.push(new uPlot({
      title: `${t.name}: similarity to "${q}" over time${truth}`.slice(0, 160), width: Math.min(900, tl.clientWidth || 900), height: 180,
      scales: { x: { time: false } }, axes: [{ label: 'seconds' }, { label: 'cosine' }],
      series: [{}, { label: 'similarity', stroke: '#3366dd', width: 2, fill: 'rgba(51,102,221,0.08)' }],
    }, [t.times, t.scores], box));
  }
  status(`"${q}": ${r.ranking.length} windows ranked in ${(performance.now() - t0).toFixed(0)} ms`);
}

const PALETTE = ['#d33', '#2a2', '#36d', '#db0', '#a3c', '#0aa', '#e72', '#777'];

async function classify() {
  const labels = $<HTMLInputElement>('labels').value.split(',').map((s) => s.trim()).filter(Boolean);
  status('classifying…');
  const r = await api.classify(labels);
  last.classify = { labels, result: r };
  const box = $('zeroshot');
  box.textContent = '';
  const legend = document.createElement('div');
  legend.className = 'row';
  labels.forEach((l, i) => legend.insertAdjacentHTML('beforeend', `<span style="color:${PALETTE[i % PALETTE.length]}">■ ${l}</span>`));
  box.append(legend);
  for (const v of r) {
    box.insertAdjacentHTML('beforeend', `<div class="muted">${v.name}</div>`);
    const strip = document.createElement('div');
    strip.className = 'zs';
    strip.style.gridTemplateColumns = `repeat(${v.windows.length}, 1fr)`;
    for (const w of v.windows) {
      const best = w.probs.indexOf(Math.max(...w.probs));
      const cell = document.createElement('div');
      cell.style.background = PALETTE[best % PALETTE.length];
      cell.style.opacity = String(0.35 + 0.65 * w.probs[best]);
      cell.title = `${w.start.toFixed(1)}–${w.end.toFixed(1)} s: ${labels.map((l, i) => `${l} ${(100 * w.probs[i]).toFixed(0)}%`).join(', ')}`;
      cell.textContent = `${(100 * w.probs[best]).toFixed(0)}%`;
      strip.append(cell);
    }
    box.append(strip);
  }
  status('zero-shot done');
}

async function addVideos(sources: Array<File | string>) {
  for (const s of sources) {
    status(`decoding ${typeof s === 'string' ? s : s.name}…`);
    await api.addVideo(s);
  }
  await refreshVideos();
  status('videos added');
}

// ---- attention ------------------------------------------------------------------------------------------------

let attInfo: { depth: number; heads: number } | null = null;
let attSeq = 0;

async function showAttention() {
  const seq = ++attSeq;
  const video = Number($<HTMLSelectElement>('att-video').value || 0);
  const list = (last.videos as Array<{ windows: unknown[] }>) ?? [];
  const slider = $<HTMLInputElement>('att-time');
  slider.max = String(Math.max(0, (list[video]?.windows.length ?? 1) - 1));
  const srcSel = $<HTMLSelectElement>('att-source').value;
  const source = srcSel === 'pool' ? 'pool' : Number(srcSel);
  const head = Number($<HTMLSelectElement>('att-head').value);
  const r = await api.attention({ video, window: Number(slider.value), source: source as never, head });
  // A later request (slider dragged on) supersedes this one.
  if (seq !== attSeq) return;
  last.attention = { video, window: Number(slider.value), source, head, maps: r.maps.map((m) => Array.from(m)), cls: r.cls };
  if (!attInfo) {
    attInfo = { depth: r.depth, heads: r.heads };
    const s = $<HTMLSelectElement>('att-source');
    for (let b = 0; b < r.depth; b++) s.add(new Option(`block ${b} ([CLS] query)`, String(b)));
  }
  const hs = $<HTMLSelectElement>('att-head');
  if (hs.options.length !== r.heads + 1) {
    const keep = hs.value;
    hs.textContent = '';
    hs.add(new Option('mean of heads', '-1'));
    for (let h = 0; h < r.heads; h++) hs.add(new Option(`head ${h}`, String(h)));
    hs.value = Number(keep) < r.heads ? keep : '-1';
  }
  $('att-when').textContent = `${r.start.toFixed(1)}–${r.end.toFixed(1)} s`;
  const box = $('att-frames');
  box.textContent = '';
  r.frames.forEach((f, t) => {
    const fig = document.createElement('figure');
    fig.append(thumbCanvas(f, r.maps[t], r.grid));
    const mass = r.maps[t].reduce((a, b) => a + b, 0);
    // With tubelets, one token spans several frames: they share its map and its share of the attention.
    const span = r.tubelet > 1 ? `frames ${t - (t % r.tubelet) + 1}–${t - (t % r.tubelet) + r.tubelet}` : `frame ${t + 1}`;
    fig.insertAdjacentHTML('beforeend', `<figcaption>${span}: ${(100 * mass).toFixed(0)}% of the attention</figcaption>`);
    box.append(fig);
  });
}

// ---- training -------------------------------------------------------------------------------------------------

let lossPlot: uPlot | null = null;
let evalPlot: uPlot | null = null;
const rows: StepRow[] = [];
const evals: EvalRow[] = [];

function drawTraining() {
  const lossData: uPlot.AlignedData = [rows.map((r) => r.step), rows.map((r) => r.loss), rows.map((r) => r.vtc), rows.map((r) => r.vtm), rows.map((r) => r.mlm)];
  const evalData: uPlot.AlignedData = [evals.map((r) => r.step), evals.map((r) => 100 * r.t2v_r1), evals.map((r) => 100 * r.v2t_r1), evals.map((r) => 100 * r.t2v_r5)];
  if (!lossPlot) {
    lossPlot = new uPlot({
      title: 'loss', width: 520, height: 260, scales: { x: { time: false } }, axes: [{ label: 'step' }, {}],
      series: [{}, { label: 'total', stroke: '#1d2430', width: 2 }, { label: 'vtc', stroke: '#36d' }, { label: 'vtm', stroke: '#d33' }, { label: 'mlm', stroke: '#2a2' }],
    }, lossData, $('tr-loss'));
    evalPlot = new uPlot({
      title: 'held-out retrieval (%)', width: 420, height: 260, scales: { x: { time: false }, y: { range: [0, 100] } }, axes: [{ label: 'step' }, {}],
      series: [{}, { label: 't2v R@1', stroke: '#36d', width: 2, points: { show: true } }, { label: 'v2t R@1', stroke: '#d33', width: 2, points: { show: true } }, { label: 't2v R@5', stroke: '#9ab', points: { show: true } }],
    }, evalData, $('tr-eval'));
  } else {
    lossPlot.setData(lossData);
    evalPlot!.setData(evalData);
  }
}

let training: 'idle' | 'running' | 'paused' | 'done' = 'idle';
let trainDone: () => void = () => {};

async function trainStart() {
  rows.length = 0;
  evals.length = 0;
  const settings = {
    run: $<HTMLSelectElement>('tr-run').value as 'demo' | 'tiny',
    steps: Number($<HTMLInputElement>('tr-steps').value), batchSize: Number($<HTMLInputElement>('tr-batch').value),
    seed: Number($<HTMLInputElement>('tr-seed').value), lr: Number($<HTMLInputElement>('tr-lr').value),
    ...((window as unknown as { iv2TrainOverrides?: object }).iv2TrainOverrides ?? {}),
  };
  last.train = { settings, rows, evals };
  const finished = new Promise<void>((r) => (trainDone = r));
  last.trainFinished = finished;
  status('rendering the synthetic dataset…');
  const info = await api.trainStart(settings, Comlink.proxy((m: { row?: StepRow; eval?: EvalRow; done?: boolean; error?: string }) => {
    if (m.row) {
      rows.push(m.row);
      $('tr-status').textContent = `step ${m.row.step}/${settings.steps} · loss ${m.row.loss.toFixed(4)} (vtc ${m.row.vtc.toFixed(3)}, vtm ${m.row.vtm.toFixed(3)}, mlm ${m.row.mlm.toFixed(3)}) · lr ${m.row.lr.toExponential(2)} · ${m.row.ms.toFixed(0)} ms/step`;
    }
    if (m.eval) evals.push(m.eval);
    if (m.row || m.eval) drawTraining();
    if (m.done || m.error) {
      training = 'done';
      $<HTMLButtonElement>('tr-pause').disabled = true;
      $<HTMLButtonElement>('tr-start').disabled = false;
      if (m.error) fail(m.error);
      else status(`training finished at step ${rows.at(-1)?.step}`);
      trainDone();
    }
  }));
  const box = $('tr-samples');
  box.textContent = '';
  for (const smp of info.samples) {
    const fig = document.createElement('figure');
    fig.append(thumbCanvas(smp.thumb));
    fig.insertAdjacentHTML('beforeend', `<figcaption>${smp.name}</figcaption>`);
    box.append(fig);
  }
  training = 'running';
  for (const id of ['tr-pause', 'tr-save', 'tr-use']) $<HTMLButtonElement>(id).disabled = false;
  $<HTMLButtonElement>('tr-start').disabled = true;
  status(`training on ${info.clips} clips of ${info.classes} classes (${info.test} held out)`);
}

async function trainPause() {
  const b = $<HTMLButtonElement>('tr-pause');
  if (training === 'running') {
    const step = await api.trainPause();
    training = 'paused';
    b.textContent = 'Resume';
    status(`paused after step ${step}`);
  } else if (training === 'paused') {
    await api.trainResume();
    training = 'running';
    b.textContent = 'Pause';
    status('training…');
  }
}

/** The run's files as links: the checkpoint with its manifest (what the page loads), and run.json (what `iv2 page-train` replays). */
async function trainSave() {
  const f = await api.trainFiles();
  last.checkpointBytes = f.checkpoint.length;
  const box = $('tr-files');
  box.querySelectorAll('a').forEach((a) => URL.revokeObjectURL(a.href));
  box.textContent = `step ${f.step}: `;
  const link = (name: string, body: BlobPart, type: string) => {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([body], { type }));
    a.download = name;
    a.id = `tr-file-${name.replace(/\W/g, '-')}`;
    a.textContent = name;
    box.append(a, ' ');
    return a;
  };
  const first = link('model.safetensors', f.checkpoint as BlobPart, 'application/octet-stream');
  link('stage2_manifest.json', f.manifest, 'application/json');
  link('run.json', f.run, 'application/json');
  box.insertAdjacentHTML('beforeend', '<span class="muted">— replay in Node: <code>iv2 page-train run.json</code></span>');
  first.click();
  status(`model.safetensors (${(f.checkpoint.length / 1e6).toFixed(1)} MB) at step ${f.step}, with its manifest and run.json`);
}

// ---- chat -----------------------------------------------------------------------------------------------------

function folderFiles(input: HTMLInputElement): Record<string, Blob> {
  const out: Record<string, Blob> = {};
  for (const f of Array.from(input.files ?? [])) out[f.name] = f;
  return out;
}

async function chatWindowFrames() {
  const [video, window] = ($<HTMLSelectElement>('chat-window').value || '0:0').split(':').map(Number);
  const r = await api.attention({ video, window, source: 'pool', head: -1 });
  const box = $('chat-frames');
  box.textContent = '';
  r.frames.forEach((f) => box.append(thumbCanvas(f)));
  return { video, window };
}

async function chatAsk() {
  const q = $<HTMLInputElement>('chat-q').value;
  const { video, window } = await chatWindowFrames();
  const log = $('chat-log');
  log.insertAdjacentHTML('beforeend', `<div class="msg q">${q.replace(/</g, '&lt;')}</div>`);
  const a = document.createElement('div');
  a.className = 'msg a';
  log.append(a);
  const steps: string[] = [];
  const answer = await api.chatAsk({ video, window, question: q, maxNewTokens: 16 }, Comlink.proxy((t: string) => {
    steps.push(t);
    a.textContent = t;
  }));
  a.textContent = answer || '(empty answer)';
  last.chat = { video, window, question: q, answer, streamed: steps };
  status(`answered in ${steps.length} streamed steps`);
}

// ---- wiring ---------------------------------------------------------------------------------------------------

function on(id: string, ev: string, f: (e: Event) => Promise<unknown> | unknown) {
  $(id).addEventListener(ev, (e) => {
    Promise.resolve(f(e)).catch(fail);
  });
}

function setup() {
  for (const name of VISION_PRESETS) $<HTMLSelectElement>('chat-vision').add(new Option(name, name));
  document.querySelectorAll<HTMLButtonElement>('#tabs button').forEach((b) =>
    b.addEventListener('click', () => {
      document.querySelectorAll('#tabs button').forEach((x) => x.classList.toggle('active', x === b));
      document.querySelectorAll('.view').forEach((v) => v.classList.toggle('active', v.id === `view-${b.dataset.view}`));
      if (b.dataset.view === 'attention') showAttention().catch(fail);
      if (b.dataset.view === 'chat') chatWindowFrames().catch(() => {});
    }),
  );
  on('backend-select', 'change', async () => {
    await start($<HTMLSelectElement>('backend-select').value);
    if (await api.modelInfo()) await loadDemo();
  });
  on('demo-model', 'click', loadDemo);
  on('ckpt-file', 'change', (e) => {
    const f = Array.from((e.target as HTMLInputElement).files ?? []);
    return f.length > 0 && loadCheckpoint(f);
  });
  on('ckpt-url-load', 'click', () => loadCheckpoint($<HTMLInputElement>('ckpt-url').value));
  on('search', 'click', search);
  on('query', 'keydown', (e) => (e as KeyboardEvent).key === 'Enter' && search());
  on('classify', 'click', classify);
  on('video-files', 'change', (e) => addVideos(Array.from((e.target as HTMLInputElement).files ?? [])));
  on('video-url-add', 'click', () => addVideos([$<HTMLInputElement>('video-url').value]));
  for (const id of ['att-video', 'att-source', 'att-head']) on(id, 'change', showAttention);
  on('att-time', 'input', showAttention);
  on('tr-run', 'change', () => {
    // Each run brings its own defaults; the fields stay editable.
    const t = RUNS[$<HTMLSelectElement>('tr-run').value as keyof typeof RUNS].train;
    $<HTMLInputElement>('tr-steps').value = String(t.steps);
    $<HTMLInputElement>('tr-batch').value = String(t.batchSize);
    $<HTMLInputElement>('tr-lr').value = String(t.lr);
  });
  on('tr-start', 'click', trainStart);
  on('tr-pause', 'click', trainPause);
  on('tr-save', 'click', trainSave);
  on('tr-use', 'click', async () => modelChanged(await api.trainUseModel()));
  on('chat-tiny', 'click', async () => {
    $('chat-info').textContent = await api.chatTiny(0);
    await chatWindowFrames();
  });
  on('chat-load', 'click', async () => {
    const stage3 = $<HTMLInputElement>('chat-stage3').files?.[0];
    if (!stage3) throw new Error('choose the stage-3 checkpoint (Q-Former + projector) first');
    const adapter = folderFiles($<HTMLInputElement>('chat-adapter'));
    const preset = $<HTMLSelectElement>('chat-vision').value;
    $('chat-info').textContent = await api.chatLoad({ llm: folderFiles($<HTMLInputElement>('chat-llm')), stage3, adapter: Object.keys(adapter).length ? adapter : undefined, numFrames: Number($<HTMLInputElement>('chat-frames-n').value),
      ...(preset ? { visionPreset: preset } : { visionConfig: { ...DEMO_VISION } }),
    });
  });
  on('chat-window', 'change', chatWindowFrames);
  on('chat-ask', 'click', chatAsk);
}

setup();
// Ready on arrival: the backend, then the trained demo model and the sample video.
const ready = start('auto')
  .then(async (b) => {
    await loadDemo();
    return b;
  })
  .catch((e) => {
    fail(e);
    throw e;
  });
Object.assign(window, { iv2app: { api, last, ready, start, loadDemo, search, classify, showAttention, trainStart, trainPause, trainSave, chatAsk } });

/** The libraries on the main thread, for the op conformance run in the page (loaded on demand). */
async function dev() {
  const [tf, core] = await Promise.all([import('@tensorflow/tfjs-core'), import('@iv2/core')]);
  const startBackend = (name: string) => core.initBackend(name as never, { wasmPaths: new URL('wasm/', location.href).href });
  return { tf, core, startBackend };
}
Object.assign(window, { iv2dev: dev });

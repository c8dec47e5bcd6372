import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW,
  clipCoefficient,
  GradAccumulator,
  gradsByName,
  type HostTensor,
  loadStateDict,
  loadTrainingState,
  type Module,
  type NamedParameter,
  paramGroups,
  type Rng,
  SafetensorsReader,
  saveSafetensors,
  saveTrainingState,
  type Schedule,
} from '@iv2/core';
import { type LogRow, readLogRows, writeCurves } from '../logging/curves.js';
import { TensorBoardWriter } from '../logging/tfevents.js';
import { formatSeconds, Progress } from '../progress.js';
import { type CheckpointInfo, CheckpointManager, resolveCheckpoint } from './checkpoints.js';

/** One micro-batch; `files` are named when its loss is not finite. */
export interface TrainBatch {
  files: string[];
}

/** What the loop trains: models under official key prefixes, batches by position, a synchronous loss. */
export interface TrainTask<B extends TrainBatch = TrainBatch> {
  readonly stage: string;
  /** `[prefix, module]`: the checkpoint key of a parameter is prefix + its module key (`vision_encoder.blocks.0…`). */
  modules(): Array<[string, Module]>;
  /** Micro-batches in one epoch. */
  readonly batchesPerEpoch: number;
  /** The micro-batch at a global position (a pure function of it and the seed, so a resumed run sees the same data). */
  batch(index: number): Promise<B> | B;
  /** The loss of one micro-batch; runs inside `tf.variableGrads`, so it must be synchronous. */
  loss(batch: B, rng: Rng): { total: tf.Scalar; parts: Record<string, tf.Scalar> };
  /** Called after each optimizer step (e.g. the temperature clamp). */
  afterStep?(): void;
  /** Metrics on held-out data, named without prefix (`t2v_r1`). */
  evaluate?(): Promise<Record<string, number>>;
  /** Releases what `batch` returned. */
  release?(batch: B): void;
}

export interface TrainOptions {
  outputDir: string;
  totalSteps: number;
  schedule: Schedule;
  /** The randomness of the model (dropout, masks, negatives): saved and restored with the optimizer. */
  rng: Rng;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  layerScale?: (name: string) => number;
  maxGradNorm?: number;
  accumulation?: number;
  /** Parameter-name prefixes kept frozen. */
  freeze?: string[];
  logFreq?: number;
  saveEvery?: number;
  keepLast?: number;
  evalEvery?: number;
  /** A checkpoint folder or a run folder to continue from. */
  resume?: string;
  progress?: Progress;
  /** Checked after every step; the loop saves a checkpoint and returns when it turns true (SIGINT/SIGTERM). */
  stop?: { requested: boolean };
  /**
   * Install SIGINT/SIGTERM handlers that request a stop (default true): the step in flight finishes, a checkpoint is
   * written and `train` resolves with `interrupted: true`. The process is not ended (a second signal ends it): a
   * caller that goes on after `train` checks `interrupted`, or passes `false` and handles the signals itself.
   */
  handleSignals?: boolean;
  log?: (line: string) => void;
  tensorboard?: boolean;
}

export interface TrainResult {
  step: number;
  interrupted: boolean;
  lastCheckpoint?: string;
  rows: LogRow[];
  curves?: { html: string; svg: string };
  seconds: number;
}

/** A loss that is NaN or ±Inf: training stops and says where. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly parts: Record<string, number>,
    readonly files: string[],
    readonly lastCheckpoint: string | undefined,
  ) {
    super(
      `loss is not finite at step ${step} (${Object.entries(parts).map(([k, v]) => `${k}=${v}`).join(', ')}); batch: ${files.join(', ') || '(no files)'}; ` +
        `last good checkpoint: ${lastCheckpoint ?? 'none yet'}`,
    );
    this.name = 'NonFiniteLossError';
  }
}

/** Every named parameter of the task under its checkpoint key. */
export function taskParameters(task: TrainTask): NamedParameter[] {
  return task.modules().flatMap(([prefix, m]) => m.parameters().map((p) => ({ name: prefix + p.name, variable: p.variable })));
}

/** Writes every module's state dict (official keys, PyTorch layout) into one safetensors file. */
export async function saveModel(task: TrainTask, path: string, metadata: Record<string, string> = {}): Promise<void> {
  const all = new Map<string, HostTensor>();
  for (const [prefix, m] of task.modules()) for (const [k, t] of await m.stateDict()) all.set(prefix + k, t);
  await saveSafetensors(
    path,
    [...all.entries()].map(([k, t]) => [k, { dtype: t.dtype === 'float32' ? 'F32' : t.dtype === 'int32' ? 'I32' : 'BOOL', shape: t.shape }]),
    (k) => all.get(k)!,
    { format: 'pt', ...metadata },
  );
}

/** Loads a model file written by {@link saveModel} (or any checkpoint with the same keys) into the task's modules. */
export async function loadModel(task: TrainTask, path: string): Promise<void> {
  // a run folder or a checkpoint folder: its (newest) model.safetensors
  if (existsSync(path) && statSync(path).isDirectory()) {
    const c = resolveCheckpoint(path);
    if (!c) throw new Error(`${path}: a folder without checkpoints (model.safetensors under checkpoints/step-…)`);
    path = join(c.dir, 'model.safetensors');
  }
  const r = await SafetensorsReader.open(path);
  try {
    const mods = task.modules();
    for (const [prefix, m] of mods) {
      // A key belongs to the module with the longest matching prefix ('' takes what no other prefix claims).
      const longer = mods.map(([p]) => p).filter((p) => p.length > prefix.length && p.startsWith(prefix));
      const keys = r.keys().filter((k) => k.startsWith(prefix) && !longer.some((p) => k.startsWith(p)));
      const view = { keys: () => keys, has: (k: string) => keys.includes(k), info: (k: string) => r.info(k), get: (k: string) => r.get(k) };
      await loadStateDict(m, view, { prefix, sourceName: path });
    }
  } finally {
    await r.close();
  }
}

/**
 * The training loop: AdamW with the official parameter groups, the schedule per optimizer step, gradient
 * accumulation and clipping; a progress line, JSON-lines and TensorBoard logs, curve pictures; atomic checkpoints
 * every `saveEvery` steps and on SIGINT/SIGTERM; `resume` continues bit for bit (weights, moments, schedule
 * position, RNG, data position).
 */
export async function train(task: TrainTask, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const progress = o.progress ?? new Progress();
  const accum = o.accumulation ?? 1;
  const logFreq = o.logFreq ?? 10;
  const saveEvery = o.saveEvery ?? 500;
  mkdirSync(o.outputDir, { recursive: true });
  const ckpts = new CheckpointManager(join(o.outputDir, 'checkpoints'), o.keepLast ?? 3);
  const stale = ckpts.cleanStale();
  if (stale.length) log(`removed ${stale.length} unfinished checkpoint folder(s) left by a killed run: ${stale.join(', ')}`);

  const params = taskParameters(task);
  const frozen = (n: string) => (o.freeze ?? []).some((p) => n.startsWith(p));
  for (const p of params) if (frozen(p.name)) p.variable.trainable = false;
  const trainable = params.filter((p) => p.variable.trainable);
  const groups = paramGroups(trainable, { weightDecay: o.weightDecay ?? 0.05, layerScale: o.layerScale });
  const opt = new AdamW(groups, { lr: o.schedule(0), betas: o.betas, eps: o.eps });

  let start = 0;
  let last: CheckpointInfo | undefined;
  const logPath = join(o.outputDir, 'log.jsonl');
  if (o.resume) {
    const c = resolveCheckpoint(o.resume);
    if (!c) throw new Error(`--resume ${o.resume}: no complete checkpoint there`);
    await loadModel(task, join(c.dir, 'model.safetensors'));
    const s = await loadTrainingState(join(c.dir, 'training_state.safetensors'));
    opt.loadStateDict(s.optimizer);
    o.rng.setState(s.rng);
    start = s.step;
    last = c;
    // Rows logged after the checkpoint belong to the steps that are about to run again.
    if (existsSync(logPath)) {
      const keep = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.trim() && (() => {
        try {
          return JSON.parse(l).step <= start;
        } catch {
          return false;
        }
      })());
      writeFileSync(logPath, keep.map((l) => `${l}\n`).join(''));
    }
    log(`resumed from ${c.dir} at step ${start}`);
  } else if (existsSync(logPath)) writeFileSync(logPath, '');

  const tb = o.tensorboard === false ? undefined : new TensorBoardWriter(join(o.outputDir, 'tensorboard'));
  const stop = o.stop ?? { requested: false };
  const onSignal = (sig: string) => () => {
    if (stop.requested) {
      log(`${sig} again: exiting without a checkpoint (the last one, ${last?.dir ?? 'none'}, is intact)`);
      process.exit(130);
    }
    stop.requested = true;
    log(`${sig}: saving a checkpoint after this step (send again to quit now)`);
  };
  const handlers: Array<[NodeJS.Signals, () => void]> =
    o.handleSignals === false ? [] : [['SIGINT', onSignal('SIGINT')], ['SIGTERM', onSignal('SIGTERM')]];
  for (const [s, h] of handlers) process.on(s, h);

  const save = async (step: number) => {
    last = await ckpts.save(step, task.stage, async (dir) => {
      await saveModel(task, join(dir, 'model.safetensors'), { step: String(step), stage: task.stage });
      await saveTrainingState(join(dir, 'training_state.safetensors'), { step, optimizer: await opt.stateDict(), rng: o.rng.getState() });
      return ['model.safetensors', 'training_state.safetensors'];
    });
    return last;
  };

  const writeRow = (row: LogRow) => {
    appendFileSync(logPath, `${JSON.stringify(row)}\n`);
    const { step, ...scalars } = row;
    tb?.scalars(step, scalars);
  };

  const varList = trainable.map((p) => p.variable);
  const acc = accum > 1 ? new GradAccumulator(accum) : undefined;
  progress.begin(task.stage, o.totalSteps, { initial: start, unit: 'it' });
  let step = start;
  let interrupted = false;
  let sums: Record<string, number> = {};
  let count = 0;
  try {
    while (step < o.totalSteps) {
      const lr = o.schedule(step);
      opt.lr = lr;
      let grads: Map<string, tf.Tensor> | null = null;
      const partsHost: Record<string, number> = {};
      for (let micro = 0; micro < accum; micro++) {
        const batch = await task.batch(step * accum + micro);
        let kept: Record<string, tf.Scalar> = {};
        const { value, grads: g } = tf.variableGrads(() => {
          const out = task.loss(batch, o.rng);
          kept = Object.fromEntries(Object.entries(out.parts).map(([k, t]) => [k, tf.keep(t)]));
          return out.total;
        }, varList);
        const total = (await value.data())[0];
        const parts: Record<string, number> = { total };
        for (const [k, t] of Object.entries(kept)) parts[k] = (await t.data())[0];
        tf.dispose([value, ...Object.values(kept)]);
        task.release?.(batch);
        if (!Object.values(parts).every(Number.isFinite)) {
          tf.dispose(Object.values(g));
          throw new NonFiniteLossError(step + 1, parts, batch.files, last?.dir);
        }
        for (const [k, v] of Object.entries(parts)) partsHost[k] = (partsHost[k] ?? 0) + v / accum;
        const named = gradsByName(trainable, g);
        grads = acc ? acc.add(named) : named;
      }
      let norm = Number.NaN;
      let coef = 1;
      if (o.maxGradNorm) ({ coef, norm } = await clipCoefficient(grads!, o.maxGradNorm));
      opt.apply(grads!, coef);
      tf.dispose([...grads!.values()]);
      task.afterStep?.();
      step += 1;
      for (const [k, v] of Object.entries(partsHost)) sums[k] = (sums[k] ?? 0) + v;
      count += 1;
      const info = `loss ${partsHost.total.toFixed(4)}${Object.entries(partsHost).filter(([k]) => k !== 'total').map(([k, v]) => ` ${k} ${v.toFixed(3)}`).join('')} lr ${lr.toExponential(2)}`;
      progress.update(step, info);
      if (step % logFreq === 0 || step === o.totalSteps) {
        const row: LogRow = { step, lr };
        for (const [k, v] of Object.entries(sums)) row[k === 'total' ? 'loss' : `loss/${k}`] = v / count;
        if (Number.isFinite(norm)) row.grad_norm = norm;
        row['time/elapsed_s'] = (performance.now() - t0) / 1000;
        writeRow(row);
        sums = {};
        count = 0;
      }
      if (task.evaluate && o.evalEvery && (step % o.evalEvery === 0 || step === o.totalSteps)) {
        const m = await task.evaluate();
        const row: LogRow = { step };
        for (const [k, v] of Object.entries(m)) row[`eval/${k}`] = v;
        writeRow(row);
        progress.log(`step ${step} eval ${Object.entries(m).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' ')}`);
      }
      // A step can run without ever leaving the microtask queue (cpu and wasm data() resolve at once), and signal
      // handlers only run between macrotasks: give them their turn, or Ctrl-C waits for the end of the stage.
      await new Promise((r) => setImmediate(r));
      if (stop.requested) {
        interrupted = true;
        await save(step);
        break;
      }
      if (step % saveEvery === 0 || step === o.totalSteps) await save(step);
    }
  } finally {
    progress.end();
    for (const [s, h] of handlers) process.off(s, h);
    tb?.close();
    opt.dispose();
  }
  const rows = existsSync(logPath) ? readLogRows(logPath) : [];
  const curves = rows.length ? await writeCurves(o.outputDir, rows, `${task.stage} — ${o.outputDir}`) : undefined;
  const seconds = (performance.now() - t0) / 1000;
  log(`${interrupted ? 'stopped' : 'finished'} at step ${step} in ${formatSeconds(seconds)}; checkpoint ${last?.dir ?? 'none'}`);
  return { step, interrupted, lastCheckpoint: last?.dir, rows, curves, seconds };
}

import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, loadTrainingState, SafetensorsReader } from '@iv2/core';
import { beforeAll, expect, test } from 'vitest';
import { loadModel, NonFiniteLossError, train } from '../src/train/loop.js';
import { Progress } from '../src/progress.js';
import { logged, spawnNode, until } from './helpers/spawn.js';
// @ts-expect-error plain JS helper shared with the child process
import { tinyTask } from './helpers/tiny_task.mjs';

const child = fileURLToPath(new URL('./helpers/train_child.mjs', import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'iv2-train-'));
const curve = (dir: string) =>
  readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => {
    const { ['time/elapsed_s']: _t, ...rest } = JSON.parse(l);
    return rest;
  });

const run = (args: string[], env: Record<string, string> = {}) => spawnNode(child, args, env);

let reference: Array<Record<string, number>>;
beforeAll(async () => {
  const dir = tmp();
  const r = await run([dir, '12']).done;
  expect(r.code, r.err).toBe(0);
  reference = curve(dir);
}, 120_000);

test('SIGINT saves a checkpoint; --resume continues with exactly the same loss curve', async () => {
  expect(reference).toHaveLength(12);
  expect(reference[11].loss).toBeLessThan(reference[0].loss);
  const dir = tmp();
  const a = run([dir, '12']);
  await until(() => logged(join(dir, 'log.jsonl'), 5));
  a.kill('SIGINT');
  const ra = await a.done;
  expect(ra.code, ra.err).toBe(0);
  const stopped = JSON.parse(ra.out.trim());
  expect(stopped.interrupted).toBe(true);
  expect(stopped.step).toBeLessThan(12);
  expect(ra.err).toMatch(/SIGINT: saving a checkpoint/);
  const rb = await run([dir, '12', dir]).done;
  expect(rb.code, rb.err).toBe(0);
  expect(rb.err).toMatch(new RegExp(`resumed from .*step-0*${stopped.step} at step ${stopped.step}`));
  expect(curve(dir)).toEqual(reference);
}, 180_000);

test('kill -9 during a checkpoint write leaves the previous checkpoint intact, and resuming from it gives the same curve', async () => {
  const dir = tmp();
  const a = run([dir, '12'], { IV2_TEST_CHECKPOINT_PAUSE_MS: '4000' });
  await until(() => /checkpoint step-00000004: writing/.test(a.stderr()));
  a.kill('SIGKILL');
  const ra = await a.done;
  expect(ra.signal).toBe('SIGKILL');
  const ck = join(dir, 'checkpoints');
  const names = readdirSync(ck);
  expect(names).toContain('step-00000002');
  expect(names.some((n) => n.startsWith('.tmp-step-00000004-'))).toBe(true);
  expect(names).not.toContain('step-00000004');
  // the previous checkpoint reads back whole
  const s = await loadTrainingState(join(ck, 'step-00000002', 'training_state.safetensors'));
  expect(s.step).toBe(2);
  const m = await SafetensorsReader.open(join(ck, 'step-00000002', 'model.safetensors'));
  expect(m.keys()).toContain('vision_encoder.blocks.0.attn.qkv.weight');
  await m.close();
  const rb = await run([dir, '12', dir]).done;
  expect(rb.code, rb.err).toBe(0);
  expect(rb.err).toMatch(/removed 1 unfinished checkpoint folder/);
  expect(readdirSync(ck).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  // keep-last-2
  expect(readdirSync(ck).sort()).toEqual(['step-00000010', 'step-00000012']);
  expect(curve(dir)).toEqual(reference);
}, 180_000);

test('a non-finite loss stops training naming the step, the batch files and the last good checkpoint', async () => {
  await initBackend('cpu');
  const t = tinyTask({ nan: 5 });
  const dir = tmp();
  const before = tf.memory().numTensors;
  let err: unknown;
  try {
    await train(t.task, { outputDir: dir, totalSteps: 10, schedule: t.schedule(10), rng: t.rng, saveEvery: 4, logFreq: 1, handleSignals: false, progress: new Progress({ quiet: true }), log: () => {} });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NonFiniteLossError);
  const e = err as NonFiniteLossError;
  expect(e.step).toBe(6);
  expect(e.files).toHaveLength(4);
  expect(e.message).toMatch(/loss is not finite at step 6 .*batch: clip_\d+\.mp4, .*last good checkpoint: .*step-00000004/);
  t.dispose();
  expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
});

test('a run writes JSON lines, a TensorBoard event file, curve pictures and evaluation rows; memory stays flat', async () => {
  await initBackend('cpu');
  const t = tinyTask();
  const dir = tmp();
  const counts: number[] = [];
  const task = { ...t.task, afterStep: () => counts.push(tf.memory().numTensors) };
  const r = await train(task, { outputDir: dir, totalSteps: 8, schedule: t.schedule(8), rng: t.rng, accumulation: 2, maxGradNorm: 1, evalEvery: 4, logFreq: 2, handleSignals: false, progress: new Progress({ quiet: true }), log: () => {} });
  expect(r.step).toBe(8);
  expect(new Set(counts.slice(2)).size).toBe(1);
  const rows = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(rows.filter((x) => 'loss' in x).map((x) => x.step)).toEqual([2, 4, 6, 8]);
  expect(rows.filter((x) => 'eval/pooled_norm' in x).map((x) => x.step)).toEqual([4, 8]);
  expect(Object.keys(rows[0])).toEqual(expect.arrayContaining(['loss', 'loss/mse', 'loss/norm', 'lr', 'grad_norm']));
  expect(readdirSync(join(dir, 'tensorboard'))[0]).toMatch(/^events\.out\.tfevents\./);
  expect(readFileSync(r.curves!.svg, 'utf8')).toMatch(/^<svg[^>]*>.*<polyline/s);
  const html = readFileSync(r.curves!.html, 'utf8');
  expect(html).toContain('uPlot');
  expect(html).toContain('"loss/mse"');
  // loadModel takes the run folder (its newest checkpoint) as well as a model file
  const u = tinyTask({ seed: 9 });
  const [a, b] = [t.task.modules()[0][1], u.task.modules()[0][1]].map((m) => m.parameters().find((p: { name: string }) => p.name === 'blocks.0.attn.qkv.weight')!.variable);
  expect(Array.from(await b.data())).not.toEqual(Array.from(await a.data()));
  await loadModel(u.task, dir);
  expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
  await expect(loadModel(u.task, tmp())).rejects.toThrow(/a folder without checkpoints/);
  u.dispose();
  t.dispose();
});

// `iv2 page-train`: the playground's training run in Node. Its curve is the run's own (the same definition gives
// the same losses in this process), its files load back as the page loads them, a bad run.json is named by field;
// `writeStage2Manifest` puts the manifest beside the newest stage-2 checkpoint (what `iv2 demo` calls).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@iv2/core';
import { expect, test } from 'vitest';
import { DEMO_RUN, TINY_RUN } from '../../playground/src/lib/demo_config.js';
import { MANIFEST_FILE, manifestArch, manifestTokenizer, parseStage2Manifest } from '../../playground/src/lib/manifest.js';
import { loadStage2 } from '../../playground/src/lib/stage2.js';
import { Stage2Run } from '../../playground/src/lib/train.js';
import { pageTrainMain } from '../src/commands/page_train.js';
import { writeStage2Manifest } from '../src/demo/manifest.js';
import { readRunSpec } from '../src/page/train.js';
import { CheckpointManager } from '../src/train/checkpoints.js';

const SPEC = { ...TINY_RUN, train: { ...TINY_RUN.train, steps: 4, evalEvery: 2 } };

test('iv2 page-train run.json: the run\'s losses and evaluations, a checkpoint and manifest the page loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-page-train-'));
  writeFileSync(join(dir, 'run.json'), JSON.stringify(SPEC));
  await pageTrainMain([join(dir, 'run.json'), '--out', join(dir, 'out')]);
  const rows = readFileSync(join(dir, 'out/log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const steps = rows.filter((r) => 'loss' in r);
  expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4]);
  expect(rows.filter((r) => 'eval/t2v_r1' in r).map((r) => r.step)).toEqual([2, 4]);
  expect(Object.keys(steps[0])).toEqual(expect.arrayContaining(['loss/vtc', 'loss/vtm', 'loss/mlm', 'lr', 'grad_norm']));
  expect(JSON.parse(readFileSync(join(dir, 'out/run.json'), 'utf8'))).toEqual(SPEC);
  expect(readFileSync(join(dir, 'out/curves.svg'), 'utf8')).toMatch(/<svg/);
  // The same definition in this process gives the same curve.
  await initBackend('wasm');
  const run = new Stage2Run(SPEC);
  for (const r of steps) expect((await run.next()).loss).toBe(r.loss);
  // The checkpoint and its manifest rebuild the run's model (compared in eval mode: no dropout).
  run.model.text.eval();
  const m = parseStage2Manifest(readFileSync(join(dir, 'out', MANIFEST_FILE), 'utf8'));
  expect(m.run).toMatchObject({ step: 4 });
  const back = await loadStage2(new Blob([readFileSync(join(dir, 'out/model.safetensors'))]), manifestTokenizer(m), manifestArch(m), MANIFEST_FILE);
  const a = tf.tidy(() => run.model.text.projectText(run.model.text.encodeText(tf.tensor2d([[2, 5, 6, 3]], undefined, 'int32'), tf.ones([1, 4], 'int32')).textEmbeds));
  const b = tf.tidy(() => back.text.projectText(back.text.encodeText(tf.tensor2d([[2, 5, 6, 3]], undefined, 'int32'), tf.ones([1, 4], 'int32')).textEmbeds));
  expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
  tf.dispose([a, b]);
  back.vision.dispose();
  back.text.dispose();
  run.dispose();
}, 300_000);

test('a run.json that cannot run names the file and the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-page-train-'));
  const f = join(dir, 'run.json');
  writeFileSync(f, JSON.stringify({ ...SPEC, data: { ...SPEC.data, size: 32 } }));
  expect(() => readRunSpec(f)).toThrow(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: data\\.size: 32 differs from arch\\.vision\\.img_size 16`));
  writeFileSync(f, '{"data": 1');
  expect(() => readRunSpec(f)).toThrow(/run\.json: \(root\): not JSON/);
});

test('writeStage2Manifest: beside the newest stage-2 checkpoint, without the stage-1 heads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-manifest-'));
  expect(() => writeStage2Manifest(dir, {} as never)).toThrow(/no complete checkpoint/);
  const ck = new CheckpointManager(join(dir, 'checkpoints'));
  for (const step of [5, 10]) await ck.save(step, 'stage2', async (tmp) => (writeFileSync(join(tmp, 'model.safetensors'), ''), ['model.safetensors']));
  await initBackend('wasm');
  const run = new Stage2Run({ ...SPEC, train: { ...SPEC.train, steps: 1 } });
  const vision = { ...SPEC.arch.vision, clip_return_layer: 2, clip_student_decoder: 'MLP_Decoder' as const, clip_teacher_embed_dim: 96, clip_teacher_final_dim: 96 };
  const path = writeStage2Manifest(dir, { vision, text: SPEC.arch.text, tokenizer: run.model.tokenizer, run: { seed: 0 } });
  run.dispose();
  expect(path).toBe(join(dir, 'checkpoints/step-00000010', MANIFEST_FILE));
  const m = parseStage2Manifest(readFileSync(path, 'utf8'), path);
  expect(m.vision).toEqual(SPEC.arch.vision);
  expect(m.run).toEqual({ step: 10, seed: 0 });
});

test('configs/page_demo.json is the page\'s own training run', () => {
  expect(readRunSpec(new URL('../configs/page_demo.json', import.meta.url).pathname)).toEqual(DEMO_RUN);
});

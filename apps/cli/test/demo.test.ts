import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openVideo, syntheticClips, writeSyntheticDataset } from '@iv2/data';
import { expect, test } from 'vitest';
import { logged, spawnNode, until } from './helpers/spawn.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const video = fileURLToPath(new URL('../../../fixtures/media/example1.mp4', import.meta.url));

test('iv2 demo runs every stage end to end (a few steps each) and prints the result keys as JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-demo-test-'));
  const out = execFileSync(process.execPath, [main, 'demo', '--dir', dir, '--scale', '0.005', '--json', '--quiet'], { encoding: 'utf8', timeout: 600_000 });
  const r = JSON.parse(out.trim().split('\n').pop()!);
  expect(Object.keys(r).sort()).toEqual(['qa_exact', 'seconds', 't2v_r1', 'v2t_r1', 'zs_top1']);
  for (const k of ['t2v_r1', 'v2t_r1', 'zs_top1', 'qa_exact']) expect(r[k]).toBeGreaterThanOrEqual(0), expect(r[k]).toBeLessThanOrEqual(1);
  expect(r.seconds).toBeGreaterThan(0);
  for (const f of ['curves.svg', 'curves.html', 'result.json', 'data/annotations/ret_test.json', 'data/annotations/qa_train.json']) expect(existsSync(join(dir, f)), f).toBe(true);
  for (const stage of ['stage1_pixels', 'stage1_distill', 'stage2', 'stage3_llm', 'stage3']) {
    expect(readdirSync(join(dir, stage, 'checkpoints')).some((n) => n.startsWith('step-')), stage).toBe(true);
    expect(readFileSync(join(dir, stage, 'log.jsonl'), 'utf8').trim().length, stage).toBeGreaterThan(0);
  }
  const ret = JSON.parse(readFileSync(join(dir, 'data/annotations/ret_test.json'), 'utf8'));
  expect(ret).toHaveLength(48);
  expect(readFileSync(join(dir, 'curves.svg'), 'utf8')).toMatch(/stage2.*stage3/s);
  // the stage-3 folder is what iv2 chat takes: the decoder as a Hugging Face folder, the peft adapter, the sizes
  for (const f of ['llm/config.json', 'llm/model.safetensors', 'llm/tokenizer.json', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'videochat2.json']) {
    expect(existsSync(join(dir, 'stage3', f)), f).toBe(true);
  }
  const answer = execFileSync(process.execPath, [main, 'chat', video, '--weights', join(dir, 'stage3'), '--prompt', 'What colour is the moving shape?', '--max-new-tokens', '6', '--backend', 'wasm'], { encoding: 'utf8', timeout: 300_000 });
  expect(answer.endsWith('\n')).toBe(true);
}, 900_000);

test('SIGINT in the middle of iv2 demo: the stage checkpoints, no later stage runs on the half-trained model, exit 130', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-demo-stop-'));
  const p = spawnNode(main, ['demo', '--dir', dir, '--scale', '0.05', '--json', '--quiet']);
  await until(() => logged(join(dir, 'stage2', 'log.jsonl')), 300_000, 'stage 2 to log a step');
  p.kill('SIGINT');
  const { code, out, err } = await p.done;
  expect(code, err).toBe(130);
  expect(err).toMatch(/iv2 demo stopped in stage2 at step \d+; its checkpoint is .*stage2\/checkpoints\/step-\d+; later stages did not run/);
  expect(out).toBe('');
  const ck = readdirSync(join(dir, 'stage2', 'checkpoints')).filter((n) => n.startsWith('step-'));
  expect(ck).toHaveLength(1);
  expect(existsSync(join(dir, 'stage2', 'checkpoints', ck[0], 'model.safetensors'))).toBe(true);
  // stage 2 was cut short (80 steps at this scale), and nothing after it ran
  expect(Number(ck[0].slice(5))).toBeLessThan(80);
  for (const later of ['stage3_llm', 'stage3', 'result.json']) expect(existsSync(join(dir, later)), later).toBe(false);
}, 400_000);

test('the in-memory synthetic clips are the frames, names and splits the written dataset encodes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-synth-'));
  const o = { clipsPerClass: 2, heldOutPerClass: 1, width: 32, height: 32, numFrames: 4, seed: 5, colors: ['red', 'blue'] as const, motions: ['left', 'up'] as const };
  const m = await writeSyntheticDataset({ dir, ...o, colors: [...o.colors], motions: [...o.motions] });
  const s = syntheticClips({ ...o, colors: [...o.colors], motions: [...o.motions] });
  expect(s.classes).toEqual(m.classes);
  const test = JSON.parse(readFileSync(join(dir, m.files.retrieval.test), 'utf8'));
  expect(s.clips.filter((c) => c.split === 'test').map((c) => c.name)).toEqual(test.map((e: { video: string }) => e.video));
  const c = s.clips[0];
  const src = await openVideo(join(dir, 'videos', c.name));
  const f = await src.readFrames([0, 1, 2, 3], { width: 32, height: 32 });
  await src.close();
  let err = 0;
  for (let i = 0; i < c.frames.length; i++) err += Math.abs(f.data[i] - c.frames[i]);
  // h264 at crf 18 in yuv420p: the decoded frames are the rendered ones up to compression error
  expect(err / c.frames.length).toBeLessThan(6);
});

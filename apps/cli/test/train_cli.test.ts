import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint } from '@iv2/core';
import { writeSyntheticDataset } from '@iv2/data';
import { beforeAll, expect, test } from 'vitest';
import { logged, spawnNode, until } from './helpers/spawn.js';

const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const iv2 = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, IV2_PROGRESS_INTERVAL: '0' } });

let dir: string;
let cfg: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'iv2-train-cli-'));
  const m = await writeSyntheticDataset({ dir: join(dir, 'data'), clipsPerClass: 3, heldOutPerClass: 1, width: 32, height: 32, numFrames: 8, colors: ['red', 'blue'], shapes: ['circle'], motions: ['left', 'right'] });
  cfg = join(dir, 'stage2.yaml');
  writeFileSync(cfg, `
stage: stage2
output_dir: ${join(dir, 'run')}
backend: wasm
model:
  vision_encoder: { img_size: 32, patch_size: 8, tubelet_size: 2, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 32, num_frames: 4 }
  text_encoder: { name: bert_tiny, vocab: build, vocab_size: 120 }
  embed_dim: 32
data:
  train: [{ anno_path: ${join(dir, 'data', m.files.retrieval.train)}, data_root: ${join(dir, 'data', 'videos')} }]
  num_frames: 4
  batch_size: 4
  max_txt_l: 16
optimizer: { lr: 1.0e-3, max_grad_norm: 3.0 }
scheduler: { max_steps: 4, warmup_epochs: 0 }
evaluation:
  every_n_steps: 2
  k_test: 4
  test: [{ anno_path: ${join(dir, 'data', m.files.retrieval.test)}, data_root: ${join(dir, 'data', 'videos')} }]
log_freq: 1
save_ckpt_freq: 2
`);
}, 300_000);

test('iv2 train runs a stage-2 config: progress lines, logs, TensorBoard, curves, checkpoints; eval and export read the run', async () => {
  const r = iv2('train', cfg);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/^stage2 4\/4 \(100%\) loss [\d.]+ vtc [\d.]+ vtm [\d.]+ mlm [\d.]+ lr [\d.e-]+ \| [\d.]+ it\/s \| ETA/m);
  expect(r.stderr).toMatch(/curves: .*curves\.svg/);
  const run = join(dir, 'run');
  for (const f of ['log.jsonl', 'curves.svg', 'curves.html', 'config.json', 'vocab.txt']) expect(existsSync(join(run, f)), f).toBe(true);
  expect(readdirSync(join(run, 'tensorboard'))[0]).toMatch(/^events\.out\.tfevents/);
  expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['step-00000002', 'step-00000004']);
  const rows = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(rows.filter((x) => 'eval/t2v_r1' in x).map((x) => x.step)).toEqual([2, 4]);

  const e = iv2('eval', run, '--json', '--quiet');
  expect(e.status, e.stderr).toBe(0);
  const m = JSON.parse(e.stdout.trim().split('\n').pop()!);
  expect(m.videos).toBe(4);
  for (const k of ['sim', 'dsl', 'match']) expect(Object.keys(m[k])).toEqual(expect.arrayContaining(['t2v_r1', 't2v_r5', 't2v_r10', 'v2t_r1', 'r_mean']));
  const table = iv2('eval', run, '--quiet');
  expect(table.stdout).toMatch(/^scores\s+t2v_r1\s+t2v_r5\s+t2v_r10\s+v2t_r1\s+v2t_r5\s+v2t_r10\s+r_mean$/m);
  expect(table.stdout).toMatch(/^match\s+[\d.]+/m);

  const x = iv2('export', run, '--out', join(dir, 'stage2.pth'), '--quiet');
  expect(x.status, x.stderr).toBe(0);
  const keys = (await openCheckpoint(join(dir, 'stage2.pth'))).keys();
  // architecture.md §3.4 / §4.1: the stage-2 namespaces
  for (const k of ['vision_encoder.blocks.0.attn.qkv.weight', 'vision_encoder.clip_projector.cross_attn.q_bias', 'text_encoder.bert.embeddings.word_embeddings.weight',
    'text_encoder.bert.encoder.layer.2.crossattention.self.key.weight', 'text_encoder.cls.predictions.bias', 'vision_proj.weight', 'text_proj.weight', 'itm_head.weight', 'temp']) {
    expect(keys, k).toContain(k);
  }
}, 600_000);

test('SIGINT stops iv2 train after a checkpoint and exits 130, so a script can tell it from a finished run', async () => {
  const out = join(dir, 'run-stopped');
  const p = spawnNode(main, ['train', cfg, '--set', `output_dir=${out}`, '--set', 'scheduler.max_steps=400', '--quiet']);
  await until(() => logged(join(out, 'log.jsonl')), 120_000, 'a logged step');
  p.kill('SIGINT');
  const { code, err } = await p.done;
  expect(code, err).toBe(130);
  const ck = readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('step-')).sort().pop()!;
  // --quiet keeps the progress lines off, not this one
  expect(err).toContain(`stopped at step ${Number(ck.slice(5))} of 400; checkpoint ${join(out, 'checkpoints', ck)}; continue with --resume ${out}`);
  expect(Number(ck.slice(5))).toBeLessThan(400);
  expect(existsSync(join(out, 'checkpoints', ck, 'model.safetensors'))).toBe(true);
}, 300_000);

test('iv2 eval scores the stage-2 run by zero-shot classification and by a linear probe; a task that does not apply is refused', async () => {
  const run = join(dir, 'run');
  const cls = (split: string) => join(dir, 'data', 'annotations', `cls_${split}.json`);
  const videos = join(dir, 'data', 'videos');
  const zs = iv2('eval', run, '--task', 'zs', '--test', cls('test'), '--data-root', videos, '--json', '--quiet');
  expect(zs.status, zs.stderr).toBe(0);
  const z = JSON.parse(zs.stdout.trim().split('\n').pop()!);
  expect(z.classes).toBe(4);
  expect(z.videos).toBe(4);
  expect(z.top1).toBeGreaterThanOrEqual(0);
  expect(z.top5).toBe(100); // 4 classes: every label is in the top 5
  const pr = iv2('eval', run, '--task', 'probe', '--train', cls('train'), '--test', cls('test'), '--data-root', videos, '--epochs', '30', '--lr', '1e-2', '--json', '--quiet');
  expect(pr.status, pr.stderr).toBe(0);
  const p = JSON.parse(pr.stdout.trim().split('\n').pop()!);
  expect([p.classes, p.train, p.test]).toEqual([4, 8, 4]);
  expect(p.losses).toHaveLength(30);
  expect(p.losses.at(-1)).toBeLessThan(p.losses[0]);
  expect(existsSync(join(run, 'eval_probe.json'))).toBe(true);
  const bad = iv2('eval', run, '--task', 'qa', '--quiet');
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toMatch(/task: 'qa' does not apply to a stage2 run \(allowed: retrieval, zs, probe\)/);
}, 600_000);

test('a bad config exits with the field and the allowed values', () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, readFileSync(cfg, 'utf8').replace('stage: stage2', 'stage: stage2\nscheduler_typo: 1').replace('lr: 1.0e-3', 'lr: 1.0e-3, opt: sgd'));
  const r = iv2('train', bad);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/bad\.yaml: (optimizer\.opt: not an allowed value \(allowed: "adamW"\)|scheduler_typo: unknown key \(allowed: .*stage.*\))/);
});

test('iv2 train runs a stage-3 config (VideoChat2: Q-Former, projector, decoder with LoRA); iv2 chat and iv2 export read the run', async () => {
  const data = join(dir, 'data');
  const anno = JSON.parse(readFileSync(join(data, 'annotations', 'qa_test.json'), 'utf8'));
  const s3 = join(dir, 'stage3.yaml');
  writeFileSync(s3, `
stage: stage3
output_dir: ${join(dir, 'run3')}
backend: wasm
model:
  model_cls: VideoChat2_it_mistral
  vision_encoder: { img_size: 32, patch_size: 8, tubelet_size: 2, embed_dim: 32, depth: 1, num_heads: 2, mlp_ratio: 2, attn_pool_num_heads: 2, clip_embed_dim: 32, num_frames: 4 }
  vision_return_layer: -1
  num_query_token: 4
  extra_num_query_token: 0
  qformer: { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, cross_attention_freq: 1, vocab_size: 64 }
  llm:
    config: { model_type: mistral, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1 }
  freeze_vit: true
  lora_r: 4
  lora_alpha: 8
  lora_dropout: 0
data:
  train: [{ anno_path: ${join(data, 'annotations', 'qa_train.json')}, data_root: ${join(data, 'videos')}, format: instruction }]
  num_frames: 4
  batch_size: 4
optimizer: { lr: 1.0e-3, opt_betas: [0.9, 0.999], weight_decay: 0.02 }
scheduler: { max_steps: 4, warmup_epochs: 0 }
evaluation:
  every_n_steps: 2
  tasks: [qa]
  test: [{ anno_path: ${join(data, 'annotations', 'qa_test.json')}, data_root: ${join(data, 'videos')} }]
log_freq: 1
save_ckpt_freq: 2
`);
  const r = iv2('train', s3);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/^stage3 4\/4 \(100%\) loss [\d.]+ lm [\d.]+ lr [\d.e-]+ \| [\d.]+ it\/s \| ETA/m);
  const run = join(dir, 'run3');
  expect(readdirSync(join(run, 'checkpoints')).sort()).toEqual(['step-00000002', 'step-00000004']);
  const rows = readFileSync(join(run, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const evals = rows.filter((x) => 'eval/qa_exact' in x);
  expect(evals.map((x) => x.step)).toEqual([2, 4]);
  for (const e of evals) expect(e['eval/qa_exact']).toBeGreaterThanOrEqual(0);
  // only the Q-Former side and LoRA trained: the frozen vision encoder's weights are unchanged across checkpoints
  const a = await openCheckpoint(join(run, 'checkpoints', 'step-00000002', 'model.safetensors'));
  const b = await openCheckpoint(join(run, 'checkpoints', 'step-00000004', 'model.safetensors'));
  const same = async (k: string) => Buffer.compare(Buffer.from((await a.get(k)).data.buffer), Buffer.from((await b.get(k)).data.buffer)) === 0;
  expect(await same('vision_encoder.blocks.0.attn.qkv.weight')).toBe(true);
  expect(await same('mistral_model.base_model.model.model.layers.0.self_attn.q_proj.weight')).toBe(true);
  expect(await same('mistral_model.base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight')).toBe(false);
  expect(await same('mistral_proj.weight')).toBe(false);
  await Promise.all([a.close(), b.close()]);
  for (const f of ['llm/config.json', 'llm/model.safetensors', 'llm/tokenizer.json', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors', 'videochat2.json']) expect(existsSync(join(run, f)), f).toBe(true);

  const video = join(data, anno[0].video.startsWith('/') ? '' : 'videos', anno[0].video);
  const c = iv2('chat', video, '--weights', run, '--prompt', anno[0].QA[1].q, '--max-new-tokens', '4', '--backend', 'wasm');
  expect(c.status, c.stderr).toBe(0);
  expect(c.stdout.trim().length).toBeGreaterThan(0);

  const e = iv2('eval', run, '--json', '--quiet');
  expect(e.status, e.stderr).toBe(0);
  const q = JSON.parse(e.stdout.trim().split('\n').pop()!);
  expect(q.videos).toBe(anno.length);
  expect(q.qa_exact).toBeGreaterThanOrEqual(0);
  expect(Object.keys(q)).toEqual(expect.arrayContaining(['qa_exact_1', 'qa_exact_2', 'qa_exact_3']));

  const x = iv2('export', run, '--out', join(dir, 'stage3.safetensors'), '--quiet');
  expect(x.status, x.stderr).toBe(0);
  const keys = (await openCheckpoint(join(dir, 'stage3.safetensors'))).keys();
  for (const k of ['query_tokens', 'qformer.bert.encoder.layer.0.crossattention.self.query.weight', 'mistral_proj.weight', 'mistral_model.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight']) expect(keys, k).toContain(k);
}, 600_000);

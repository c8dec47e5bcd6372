import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, loadStateDict, openCheckpoint, Rng, SafetensorsReader } from '@iv2/core';
import { InternVideo2, parseConfig, VideoEncoder } from '@iv2/encoder';
import { FIXTURES } from '../../../test-utils/fixtures.js';
import { buildFixtureModel } from '../../../packages/llm-bridge/test/videochat2_fixture.js';
import { beforeAll, describe, expect, test } from 'vitest';
import { exportModel } from '../src/commands/export.js';
import { saveModel, type TrainTask } from '../src/train/loop.js';

// A stage-1 student with every head the official PretrainInternVideo2 has (6 → 2 CLIP layers, 4 → 2 MAE layers).
const CFG = {
  img_size: 28, patch_size: 14, embed_dim: 32, depth: 3, num_heads: 4, mlp_ratio: 2, attn_pool_num_heads: 4, clip_embed_dim: 16, num_frames: 2,
  clip_return_layer: 2, clip_teacher_embed_dim: 24, clip_teacher_final_dim: 16, mae_return_layer: 2, mae_teacher_embed_dim: 20,
};

/** architecture.md §3.1–3.3: the official stage-1 key list, written out from the spec's tables. */
function officialStage1Keys(depth: number, clipLayers: number, maeLayers: number): string[] {
  const keys = ['patch_embed.proj.weight', 'patch_embed.proj.bias', 'cls_token', 'pos_embed', 'clip_pos_embed', 'mae_pos_embed'];
  for (let i = 0; i < depth; i++) {
    for (const k of ['norm1.weight', 'attn.qkv.weight', 'attn.q_norm.weight', 'attn.k_norm.weight', 'attn.proj.weight', 'attn.proj.bias', 'ls1.gamma', 'norm2.weight', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias', 'ls2.gamma']) {
      keys.push(`blocks.${i}.${k}`);
    }
  }
  for (const n of ['q', 'k', 'v']) keys.push(`clip_projector.norm1_${n}.weight`, `clip_projector.norm1_${n}.bias`, `clip_projector.cross_attn.${n}.weight`, `clip_projector.cross_attn.${n}_bias`);
  keys.push('clip_projector.cross_attn.proj.weight', 'clip_projector.cross_attn.proj.bias');
  for (let i = 0; i < clipLayers; i++) keys.push(...['head.weight', 'head.bias', 'norm.weight', 'norm.bias'].map((k) => `clip_decoder.${i}.${k}`));
  keys.push(...['head.weight', 'head.bias', 'norm.weight', 'norm.bias'].map((k) => `final_clip_decoder.${k}`));
  for (let i = 0; i < maeLayers; i++) keys.push(...['head.0.weight', 'head.0.bias', 'head.2.weight', 'head.2.bias', 'norm.weight', 'norm.bias'].map((k) => `mae_decoder.${i}.${k}`));
  return keys.sort();
}

const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

describe('iv2 export', () => {
  let dir: string;
  let model: InternVideo2;
  let video: tf.Tensor5D;
  let source: string;
  beforeAll(async () => {
    await initBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'iv2-export-'));
    model = new InternVideo2(parseConfig(CFG), new Rng(3)).eval();
    source = join(dir, 'model.safetensors');
    await saveModel({ modules: () => [['', model]] } as unknown as TrainTask, source);
    video = new Rng(4).normalTensor([2, 3, 2, 28, 28]) as tf.Tensor5D;
  });

  test('the stage-1 export holds exactly the official key list (architecture.md §3)', async () => {
    const r = await exportModel({ input: source, out: join(dir, 's1.pth'), quiet: true });
    expect(r.stage).toBe('stage1');
    expect([...r.keys].sort()).toEqual(officialStage1Keys(3, 2, 2));
    const d = await exportModel({ input: source, out: join(dir, 's1-inference.safetensors'), dropHeads: true, quiet: true });
    expect(d.keys.some((k) => /decoder|clip_pos_embed|mae_pos_embed/.test(k))).toBe(false);
  });

  test('.pth read back through iv2’s PyTorch reader: same keys, shapes and values (f32 exact, bf16 as torch rounds)', async () => {
    const a = await SafetensorsReader.open(source);
    for (const [dtype, wrap] of [['f32', 'none'], ['bf16', 'module'], ['f16', 'model']] as const) {
      const out = join(dir, `m-${dtype}.pth`);
      await exportModel({ input: source, out, dtype, wrap, quiet: true });
      const b = await openCheckpoint(out);
      expect(b.keys().sort()).toEqual(a.keys().sort());
      for (const k of a.keys()) {
        const x = await a.get(k);
        const y = await b.get(k);
        expect(b.info(k), k).toEqual({ dtype: dtype.toUpperCase(), shape: x.shape });
        const tol = dtype === 'f32' ? 0 : dtype === 'bf16' ? 2 ** -8 : 2 ** -11;
        for (let i = 0; i < x.data.length; i++) {
          const err = Math.abs(Number(y.data[i]) - Number(x.data[i]));
          if (err > tol * Math.max(Math.abs(Number(x.data[i])), 2 ** -14)) throw new Error(`${k}[${i}]: ${y.data[i]} vs ${x.data[i]}`);
        }
      }
      await b.close?.();
    }
    await a.close();
  });

  test('export → .pth → VideoEncoder.fromPretrained gives identical outputs', async () => {
    const out = join(dir, 'roundtrip.pth');
    await exportModel({ input: source, out, quiet: true });
    const enc = await VideoEncoder.fromPretrained(out, { config: CFG });
    const want = model.forward(video);
    const got = await enc.forward(video);
    for (const k of ['tokens', 'pooled', 'clipAlign', 'align', 'maeAlign'] as const) {
      expect(Array.from(await got[k]!.data()), k).toEqual(Array.from(await want[k]!.data()));
    }
    tf.dispose([...Object.values(want), ...Object.values(got)] as tf.Tensor[]);
    enc.dispose();
  });

  test.skipIf(!hasTorch)('torch.load(weights_only=True) reads the exported .pth (Debian python3-torch)', async () => {
    for (const [f, wrap] of [['t-none.pth', 'none'], ['t-module.pth', 'module']] as const) {
      const out = join(dir, f);
      await exportModel({ input: source, out, dtype: 'bf16', wrap, quiet: true });
      const py = `
import torch, json, sys
sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True)
if 'module' in sd: sd = sd['module']
print(json.dumps({k: [list(v.shape), str(v.dtype), float(v.float().sum())] for k, v in sd.items()}))`;
      const got = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py, out], { encoding: 'utf8' }));
      const b = await openCheckpoint(out);
      expect(Object.keys(got).sort()).toEqual(b.keys().sort());
      for (const k of b.keys()) {
        const t = await b.get(k);
        expect(got[k][0], k).toEqual(t.shape);
        expect(got[k][1]).toBe('torch.bfloat16');
        expect(got[k][2]).toBeCloseTo(Array.from(t.data as Float32Array).reduce((s, v) => s + v, 0), 3);
      }
      await b.close?.();
    }
  });
});

describe('iv2 export of a stage-3 (VideoChat2) model', () => {
  // The official VideoChat2_it_mistral state dict of fixtures/llm/videochat2-tiny (Q-Former, projector, peft LoRA
  // decoder): loaded strictly into iv2's model, saved as `iv2 train` saves it, exported.
  const fx = join(FIXTURES, 'llm/videochat2-tiny');

  test('the exported keys are the official checkpoint’s, with its values, as .pth and .safetensors', async () => {
    await initBackend('cpu');
    const dir = mkdtempSync(join(tmpdir(), 'iv2-export-s3-'));
    const model = buildFixtureModel(fx);
    const official = await SafetensorsReader.open(join(fx, 'weights.safetensors'));
    await loadStateDict(model, official, { sourceName: 'videochat2-tiny' });
    const source = join(dir, 'model.safetensors');
    await saveModel({ modules: () => [['', model]] } as unknown as TrainTask, source);
    for (const out of [join(dir, 's3.pth'), join(dir, 's3.safetensors')]) {
      const r = await exportModel({ input: source, out, quiet: true });
      expect(r.stage).toBe('stage3');
      expect([...r.keys].sort()).toEqual(official.keys().sort());
      const b = await openCheckpoint(out);
      expect(b.keys().sort()).toEqual(official.keys().sort());
      for (const k of official.keys()) {
        const want = await official.get(k);
        const got = await b.get(k);
        expect(got.shape, k).toEqual(want.shape);
        expect(Array.from(got.data as Float32Array), k).toEqual(Array.from(want.data as Float32Array));
      }
      await b.close?.();
    }
    await official.close();
    model.dispose();
  });
});

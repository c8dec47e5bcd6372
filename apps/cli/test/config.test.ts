import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ConfigError, loadTrainConfig, parseTrainConfig } from '../src/config/load.js';
import { trainConfigJsonSchema } from '../src/config/schema.js';

const configs = fileURLToPath(new URL('../configs/', import.meta.url));
const base = { stage: 'stage2', model: { text_encoder: { name: 'bert_base' } }, data: { train: [{ anno_path: 'a.json' }] }, optimizer: { lr: 1e-4 } };

function errorOf(raw: unknown): ConfigError {
  try {
    parseTrainConfig(raw, 'x.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('config was accepted');
}

describe('train config', () => {
  test('defaults are the official stage-2 values', () => {
    const c = parseTrainConfig(base);
    expect(c.optimizer).toMatchObject({ opt: 'adamW', opt_betas: [0.9, 0.98], weight_decay: 0.05 });
    expect(c.criterion).toMatchObject({ loss_weight: { vtc: 1, vtm: 1, mlm: 1, uta: 0 }, vtm_hard_neg: true, mlm_masking_prob: 0.5 });
    expect(c.scheduler).toMatchObject({ sched: 'cosine', min_lr_multi: 0.01 });
    expect(c.model).toMatchObject({ temp: 0.07, embed_dim: 512 });
  });

  test('a bad value names the field and the allowed values', () => {
    const e = errorOf({ ...base, optimizer: { lr: 1e-4, opt: 'sgd' } });
    expect(e.field).toBe('optimizer.opt');
    expect(e.allowed).toEqual(['"adamW"']);
    expect(errorOf({ ...base, stage: 'stage4' }).message).toMatch(/^x\.yaml: stage: .*allowed: "stage1", "stage2", "stage3"/);
    expect(errorOf({ ...base, scheduler: { sched: 'linear' } }).allowed).toEqual(['"cosine"', '"constant"', '"step"']);
    expect(errorOf({ ...base, optimizer: { lr: -1 } }).field).toBe('optimizer.lr');
  });

  test('an unknown key names itself and the keys allowed at its place', () => {
    const e = errorOf({ ...base, optimizer: { lr: 1, lrr: 1e-4 } });
    expect(e.field).toBe('optimizer.lrr');
    expect(e.allowed).toContain('weight_decay');
    const w = errorOf({ ...base, criterion: { loss_weight: { vtcc: 1 } } });
    expect(w.field).toBe('criterion.loss_weight.vtcc');
    expect(w.allowed).toEqual(expect.arrayContaining(['vtc', 'vtm', 'mlm']));
    expect(errorOf({ ...base, data: { train: [{ anno_path: 'x', foo: 1 }] } }).field).toBe('data.train.0.foo');
  });

  test('each stage says which section it needs', () => {
    expect(errorOf({ ...base, stage: 'stage1' }).field).toBe('model.teacher');
    expect(errorOf({ ...base, stage: 'stage3' }).field).toBe('model.llm');
  });

  test('--set overrides parse as YAML scalars', () => {
    const c = loadTrainConfig(join(configs, 'stage2_tiny.yaml'), ['optimizer.lr=3e-4', 'scheduler.max_steps=7', 'data.sample_type=middle']);
    expect(c.optimizer.lr).toBe(3e-4);
    expect(c.scheduler.max_steps).toBe(7);
    expect(c.data.sample_type).toBe('middle');
  });

  test('every example config validates', () => {
    const files = readdirSync(configs).filter((f) => /\.ya?ml$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(() => loadTrainConfig(join(configs, f)), f).not.toThrow();
  });

  test('configs/train.schema.json is the schema the code validates with', () => {
    const file = join(configs, 'train.schema.json');
    if (process.env.IV2_WRITE_SCHEMA) writeFileSync(file, `${JSON.stringify(trainConfigJsonSchema(), null, 2)}\n`);
    const onDisk = JSON.parse(readFileSync(file, 'utf8'));
    expect(onDisk).toEqual(trainConfigJsonSchema());
  });
});

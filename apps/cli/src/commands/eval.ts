import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { type BackendName, initBackend, openCheckpoint, Rng } from '@iv2/core';
import { loadWeights } from '@iv2/encoder';
import { BertTokenizer } from '@iv2/llm-bridge';
import { parseTrainConfig } from '../config/load.js';
import { loadClipSet, loadInstructionSet } from '../data/clips.js';
import { Stage3Task } from '../demo/stage3.js';
import { linearProbeEval, zeroShotEval } from '../eval/classification.js';
import { loadVideoChat2 } from './chat.js';
import type { DemoData } from '../demo/data.js';
import { Stage2Task } from '../demo/stage2.js';
import { modelFileOf } from '../export/layout.js';
import { Progress } from '../progress.js';
import { buildText, buildVision, TrainSetupError } from '../train/build.js';
import { loadModel } from '../train/loop.js';

const pct = (v: number) => v.toFixed(2).padStart(7);

/** The official metric table: one row per score set (ITC `sim`, dual softmax `dsl`, ITM re-ranked `match`). */
export function metricTable(r: Record<string, Record<string, number> | undefined>): string {
  const cols = ['t2v_r1', 't2v_r5', 't2v_r10', 'v2t_r1', 'v2t_r5', 'v2t_r10', 'r_mean'];
  const lines = [`${'scores'.padEnd(8)}${cols.map((c) => c.padStart(8)).join('')}`];
  for (const [k, m] of Object.entries(r)) if (m) lines.push(`${k.padEnd(8)}${cols.map((c) => ` ${pct(m[c])}`).join('')}`);
  return lines.join('\n');
}

export type EvalTask = 'retrieval' | 'zs' | 'probe' | 'qa';

export interface EvalOptions {
  run: string;
  weights?: string;
  /** retrieval (stage 2, default), zs (zero-shot classification, stage 2), probe (linear probe, stage 1 or 2), qa (stage 3, default there). */
  task?: EvalTask;
  test?: string;
  /** The training annotation of a linear probe. */
  train?: string;
  dataRoot?: string;
  kTest?: number;
  epochs?: number;
  lr?: number;
  backend?: string;
  quiet?: boolean;
  out?: string;
}

export async function runEval(o: EvalOptions) {
  const cfgFile = join(o.run, 'config.json');
  if (!existsSync(cfgFile)) throw new TrainSetupError('run', `${o.run} has no config.json (written by iv2 train)`);
  const c = parseTrainConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile);
  const task: EvalTask = o.task ?? (c.stage === 'stage3' ? 'qa' : c.stage === 'stage1' ? 'probe' : 'retrieval');
  const allowed: Record<string, EvalTask[]> = { stage1: ['probe'], stage2: ['retrieval', 'zs', 'probe'], stage3: ['qa'] };
  if (!allowed[c.stage].includes(task)) throw new TrainSetupError('task', `'${task}' does not apply to a ${c.stage} run (allowed: ${allowed[c.stage].join(', ')})`);
  await initBackend((o.backend ?? c.backend) as BackendName);
  const progress = new Progress({ quiet: o.quiet });
  const weights = modelFileOf(o.weights ?? o.run);
  const out = o.out ?? join(o.run, task === 'retrieval' ? 'eval.json' : `eval_${task}.json`);
  const testDs = o.test ? { anno_path: o.test, data_root: o.dataRoot ?? '' } : c.evaluation.test[0];
  if (!testDs) throw new TrainSetupError('evaluation.test', 'the config names no test set: pass --test ANNOTATION.json');
  const write = <T>(result: T, table: string) => {
    writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
    return { result, table, out };
  };

  if (task === 'qa') {
    const meta = join(o.run, 'videochat2.json');
    const { model, frames, size } = await loadVideoChat2({ weights, config: existsSync(meta) ? readFileSync(meta, 'utf8') : undefined, llm: join(o.run, 'llm'), adapter: existsSync(join(o.run, 'adapter')) ? join(o.run, 'adapter') : undefined });
    const test = await loadInstructionSet(testDs.anno_path, { dataRoot: testDs.data_root, numFrames: frames, size, progress, label: 'decode' });
    const data: DemoData = { classes: [], train: test, test, size, numFrames: frames, clipElems: frames * 3 * size * size };
    const qa = await new Stage3Task(model, data, { batchSize: 1, seed: c.seed, llmConfig: model.lm.config }).evaluate(test);
    model.dispose();
    const result = { weights, test: testDs.anno_path, videos: test.labels.length, ...qa };
    const per = Object.entries(qa).filter(([k]) => k !== 'qa_exact').map(([k, v]) => `${k} ${(100 * v).toFixed(2)}`).join('  ');
    return write(result, `QA exact match ${(100 * qa.qa_exact).toFixed(2)} over ${test.labels.length} videos${per ? ` (${per})` : ''}`);
  }

  const vision = await buildVision({ ...c, model: { ...c.model, vision_encoder: { ...c.model.vision_encoder, pretrained: undefined } } });
  const size = c.data.img_size ?? vision.config.img_size;
  const load = (d: { anno_path: string; data_root: string }) => loadClipSet(d.anno_path, { dataRoot: d.data_root, numFrames: c.data.num_frames, size, progress, label: 'decode' });
  const geometry = { numFrames: c.data.num_frames, size };

  if (task === 'probe') {
    // the vision encoder alone, under whatever prefix the checkpoint keeps it
    const src = await openCheckpoint(weights);
    try {
      await loadWeights(vision, src, { file: weights, allowMissing: true });
    } finally {
      await src.close();
    }
    if (!o.train) throw new TrainSetupError('train', 'a linear probe needs --train ANNOTATION.json (classification: {video, caption = class})');
    const train = await load({ anno_path: o.train, data_root: o.dataRoot ?? testDs.data_root });
    const test = await load(testDs);
    const r = await linearProbeEval(vision, train, test, { ...geometry, epochs: o.epochs ?? 100, lr: o.lr ?? 1e-3, batchSize: 64, seed: c.seed });
    const result = { weights, trainFile: o.train, testFile: testDs.anno_path, ...r };
    return write(result, `linear probe: top-1 ${r.top1.toFixed(2)}  top-5 ${r.top5.toFixed(2)}  (${r.classes} classes, ${r.train} training / ${r.test} test videos, ${r.losses.length} epochs, final loss ${r.losses.at(-1)?.toFixed(4)})`);
  }

  const tokenizer = await BertTokenizer.fromFile(join(o.run, 'vocab.txt'));
  const text = await buildText({ ...c, model: { ...c.model, text_encoder: { ...c.model.text_encoder!, pretrained: undefined } } }, vision, tokenizer.vocabulary().length);
  const test = await load(testDs);
  const data: DemoData = { classes: [], train: test, test, size, numFrames: c.data.num_frames, clipElems: c.data.num_frames * 3 * size * size };
  const s2 = new Stage2Task(vision, tokenizer, data, {
    sizes: { hidden: 0, layers: 0, fusionLayer: 0, heads: 0, intermediate: 0, embedDim: c.model.embed_dim, maxTxtL: c.data.max_txt_l },
    batchSize: 1, seed: c.seed, rng: new Rng(0), videoMaskRatio: 0, kTest: o.kTest ?? c.evaluation.k_test, text,
  });
  await loadModel(s2, weights);

  if (task === 'zs') {
    const r = await zeroShotEval(vision, text, tokenizer, test, { ...geometry, maxTxtL: c.data.max_txt_l });
    const result = { weights, test: testDs.anno_path, ...r };
    return write(result, `zero-shot classification: top-1 ${r.top1.toFixed(2)}  top-5 ${r.top5.toFixed(2)}  (${r.classes} classes, ${r.videos} videos, 16 templates)`);
  }

  const m = await s2.evaluate(test);
  const r = s2.lastRetrieval!;
  const result = { weights, test: testDs.anno_path, videos: test.labels.length, texts: test.captions.flat().length, sim: r.sim, dsl: r.dsl, match: r.match, headline: m };
  return write(result, metricTable({ sim: r.sim as never, dsl: r.dsl as never, match: r.match as never }));
}

export const evalCmd = defineCommand({
  meta: { name: 'eval', description: 'Evaluate a run: zero-shot retrieval with ITM re-ranking (official metric table), zero-shot classification, linear probing, stage-3 QA' },
  args: {
    run: { type: 'positional', description: 'Run folder written by iv2 train (config.json, vocab.txt, checkpoints/)', required: true },
    task: { type: 'string', description: 'retrieval | zs | probe | qa (default: retrieval for stage 2, probe for stage 1, qa for stage 3)' },
    train: { type: 'string', description: 'Training annotation of a linear probe (classification: {video, caption = class})' },
    epochs: { type: 'string', description: 'Linear-probe epochs (default 100)' },
    lr: { type: 'string', description: 'Linear-probe learning rate (default 1e-3)' },
    weights: { type: 'string', description: 'A model file or checkpoint folder (default: the run’s newest checkpoint)' },
    test: { type: 'string', description: 'Retrieval annotation JSON (default: the config’s evaluation.test)' },
    'data-root': { type: 'string', description: 'Folder the --test paths are relative to' },
    'k-test': { type: 'string', description: 'Candidates re-ranked by the matching head (official 128)' },
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow' },
    out: { type: 'string', description: 'Where to write the metrics JSON (default RUN/eval.json)' },
    json: { type: 'boolean', description: 'Print the metrics JSON on stdout', default: false },
    quiet: { type: 'boolean', description: 'No progress output', default: false },
  },
  async run({ args }) {
    const num = (v?: string) => (v === undefined ? undefined : Number(v));
    const r = await runEval({
      run: args.run, weights: args.weights, task: args.task as EvalTask | undefined, test: args.test, train: args.train, dataRoot: args['data-root'], kTest: num(args['k-test']),
      epochs: num(args.epochs), lr: num(args.lr), backend: args.backend, quiet: args.quiet, out: args.out,
    });
    if (args.json) console.log(JSON.stringify(r.result));
    else {
      const res = r.result as { videos?: number; texts?: number; test: string };
      console.log(`${res.texts !== undefined ? `${res.videos} videos, ${res.texts} texts (${res.test})\n` : ''}${r.table}\n→ ${r.out}`);
    }
  },
});

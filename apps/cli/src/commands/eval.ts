import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from 'citty';
import { type BackendName, initBackend, Rng } from '@iv2/core';
import { BertTokenizer } from '@iv2/llm-bridge';
import { parseTrainConfig } from '../config/load.js';
import { loadClipSet } from '../data/clips.js';
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

export async function runEval(o: { run: string; weights?: string; test?: string; dataRoot?: string; kTest?: number; backend?: string; quiet?: boolean; out?: string }) {
  const cfgFile = join(o.run, 'config.json');
  if (!existsSync(cfgFile)) throw new TrainSetupError('run', `${o.run} has no config.json (written by iv2 train)`);
  const c = parseTrainConfig(JSON.parse(readFileSync(cfgFile, 'utf8')), cfgFile);
  if (c.stage !== 'stage2') throw new TrainSetupError('stage', `iv2 eval scores stage-2 models (retrieval, zero-shot); this run is ${c.stage}`);
  await initBackend((o.backend ?? c.backend) as BackendName);
  const progress = new Progress({ quiet: o.quiet });
  const tokenizer = await BertTokenizer.fromFile(join(o.run, 'vocab.txt'));
  const vision = await buildVision({ ...c, model: { ...c.model, vision_encoder: { ...c.model.vision_encoder, pretrained: undefined } } });
  const text = await buildText({ ...c, model: { ...c.model, text_encoder: { ...c.model.text_encoder!, pretrained: undefined } } }, vision, tokenizer.vocabulary().length);
  const size = c.data.img_size ?? vision.config.img_size;
  const ds = o.test ? { anno_path: o.test, data_root: o.dataRoot ?? '' } : c.evaluation.test[0];
  if (!ds) throw new TrainSetupError('evaluation.test', 'the config names no test set: pass --test ANNOTATION.json');
  const test = await loadClipSet(ds.anno_path, { dataRoot: ds.data_root, numFrames: c.data.num_frames, size, progress, label: 'decode' });
  const data: DemoData = { classes: [], train: test, test, size, numFrames: c.data.num_frames, clipElems: c.data.num_frames * 3 * size * size };
  const task = new Stage2Task(vision, tokenizer, data, {
    sizes: { hidden: 0, layers: 0, fusionLayer: 0, heads: 0, intermediate: 0, embedDim: c.model.embed_dim, maxTxtL: c.data.max_txt_l },
    batchSize: 1, seed: c.seed, rng: new Rng(0), videoMaskRatio: 0, kTest: o.kTest ?? c.evaluation.k_test, text,
  });
  const weights = modelFileOf(o.weights ?? o.run);
  await loadModel(task, weights);
  const m = await task.evaluate(test);
  const r = task.lastRetrieval!;
  const result = { weights, test: ds.anno_path, videos: test.labels.length, texts: test.captions.flat().length, sim: r.sim, dsl: r.dsl, match: r.match, headline: m };
  const out = o.out ?? join(o.run, 'eval.json');
  writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
  return { result, table: metricTable({ sim: r.sim as never, dsl: r.dsl as never, match: r.match as never }), out };
}

export const evalCmd = defineCommand({
  meta: { name: 'eval', description: 'Zero-shot retrieval of a stage-2 run (ITC, dual softmax, ITM re-ranking) with the official metric table' },
  args: {
    run: { type: 'positional', description: 'Run folder written by iv2 train (config.json, vocab.txt, checkpoints/)', required: true },
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
    const r = await runEval({ run: args.run, weights: args.weights, test: args.test, dataRoot: args['data-root'], kTest: args['k-test'] ? Number(args['k-test']) : undefined, backend: args.backend, quiet: args.quiet, out: args.out });
    if (args.json) console.log(JSON.stringify(r.result));
    else console.log(`${r.result.videos} videos, ${r.result.texts} texts (${r.result.test})\n${r.table}\n→ ${r.out}`);
  },
});

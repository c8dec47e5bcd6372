import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend } from '@iv2/core';
// The playground's training run, the same code the page runs in its worker (bundled into this CLI by tsup).
import { DEMO_RUN, type Stage2RunSpec } from '../../../playground/src/lib/demo_config.js';
import { MANIFEST_FILE } from '../../../playground/src/lib/manifest.js';
import { parseRunSpec } from '../../../playground/src/lib/run_spec.js';
import { type EvalRow, Stage2Run, type StepRow } from '../../../playground/src/lib/train.js';
import { type LogRow, writeCurves } from '../logging/curves.js';

export interface PageTrainOptions {
  /** The run's definition; default the page's own (`DEMO_RUN`). */
  spec?: Stage2RunSpec;
  /** Overrides `spec.train.steps`. */
  steps?: number;
  out: string;
  backend?: BackendName;
  log?: (line: string) => void;
}

export interface PageTrainResult {
  spec: Stage2RunSpec;
  rows: StepRow[];
  evals: EvalRow[];
  backend: string;
  seconds: number;
  files: { log: string; checkpoint: string; manifest: string; run: string; curves: string };
}

/** Reads a run definition (`run.json` from the page, or a file under apps/cli/configs/); errors name the file and field. */
export function readRunSpec(path: string): Stage2RunSpec {
  return parseRunSpec(readFileSync(path, 'utf8'), path);
}

/** A step as a row of `log.jsonl` (the names `iv2 train` logs under). */
function stepRow(r: StepRow): LogRow {
  return { step: r.step, loss: r.loss, 'loss/vtc': r.vtc, 'loss/vtm': r.vtm, 'loss/mlm': r.mlm, lr: r.lr, grad_norm: r.gradNorm, 'time/step_ms': r.ms };
}

function evalRow(e: EvalRow): LogRow {
  return { step: e.step, 'eval/t2v_r1': e.t2v_r1, 'eval/t2v_r5': e.t2v_r5, 'eval/v2t_r1': e.v2t_r1, 'eval/v2t_r5': e.v2t_r5 };
}

/**
 * The playground's stage-2 training run in Node: the same definition (data, sizes, vocabulary, seed, settings)
 * gives the page's loss curve step for step. Writes `log.jsonl`, the curves, `model.safetensors` with its
 * `stage2_manifest.json` (which the page loads), and `run.json` (the definition as run).
 */
export async function runPageTrain(o: PageTrainOptions): Promise<PageTrainResult> {
  const t0 = performance.now();
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const base = o.spec ?? DEMO_RUN;
  const spec = parseRunSpec({ ...base, train: { ...base.train, ...(o.steps ? { steps: o.steps } : {}) } }, 'run definition');
  const backend = await initBackend(o.backend ?? 'wasm');
  mkdirSync(o.out, { recursive: true });
  const files = {
    log: join(o.out, 'log.jsonl'), checkpoint: join(o.out, 'model.safetensors'), manifest: join(o.out, MANIFEST_FILE), run: join(o.out, 'run.json'), curves: join(o.out, 'curves.svg'),
  };
  writeFileSync(files.run, `${JSON.stringify(spec, null, 1)}\n`);
  writeFileSync(files.log, '');
  const run = new Stage2Run(spec);
  const s = spec.train;
  const v = spec.arch.vision;
  log(`page-train  ${backend}: ${run.data.train.labels.length} training clips of ${run.data.classes.length} classes, vision ${v.depth}×${v.embed_dim} patch ${v.patch_size}, ${s.steps} steps of batch ${s.batchSize}, seed ${s.seed}`);
  const rows: LogRow[] = [];
  try {
    const n0 = tf.memory().numTensors;
    while (run.step < s.steps) {
      const r = await run.next();
      const row = stepRow(r);
      rows.push(row);
      let line = JSON.stringify(row);
      if (s.evalEvery > 0 && (run.step % s.evalEvery === 0 || run.step === s.steps)) {
        const e = evalRow(await run.evaluate());
        rows.push(e);
        line += `\n${JSON.stringify(e)}`;
        log(`step ${run.step}/${s.steps}  loss ${r.loss.toFixed(4)}  t2v R@1 ${e['eval/t2v_r1'].toFixed(3)}  R@5 ${e['eval/t2v_r5'].toFixed(3)}`);
      } else if (run.step % 10 === 0) log(`step ${run.step}/${s.steps}  loss ${r.loss.toFixed(4)}  (${r.ms.toFixed(0)} ms/step)`);
      writeFileSync(files.log, `${line}\n`, { flag: 'a' });
      if (run.step === 1) {
        // The tensor count after the first step is what every later step must come back to.
        const n1 = tf.memory().numTensors;
        if (n1 < n0) throw new Error(`tensor count fell from ${n0} to ${n1}`);
      }
    }
    writeFileSync(files.checkpoint, await run.checkpoint());
    writeFileSync(files.manifest, `${JSON.stringify(run.manifest(), null, 1)}\n`);
    await writeCurves(o.out, rows, `iv2 page-train — ${s.steps} steps, seed ${s.seed}`);
    const seconds = (performance.now() - t0) / 1000;
    log(`wrote       ${files.checkpoint}, ${files.manifest}, ${files.log}, ${files.curves} (${seconds.toFixed(0)} s)`);
    return { spec, rows: [...run.rows], evals: [...run.evals], backend, seconds, files };
  } finally {
    run.dispose();
  }
}

import { defineCommand } from 'citty';
import type { BackendName } from '@iv2/core';
import { DEMO, DemoInterruptedError, runDemo } from '../demo/run.js';

export const demo = defineCommand({
  meta: {
    name: 'demo',
    description: 'Train InternVideo2 progressively (stage 1 → 2 → 3) on the synthetic dataset and score its held-out clips',
  },
  args: {
    dir: { type: 'string', description: 'Where to write the run (annotations, checkpoints, logs, curves); default runs/demo-<time>' },
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'wasm' },
    seed: { type: 'string', description: 'Seed of the dataset and the models', default: '0' },
    scale: { type: 'string', description: 'Multiplies every stage’s step count (1 = the full demo)', default: '1' },
    'clips-per-class': { type: 'string', description: `Clips per class, one of them held out (default ${DEMO.clipsPerClass})` },
    json: { type: 'boolean', description: 'Print {t2v_r1, v2t_r1, zs_top1, qa_exact, seconds} as JSON on stdout at the end', default: false },
    quiet: { type: 'boolean', description: 'No progress bars or periodic lines', default: false },
  },
  async run({ args }) {
    let r;
    try {
      r = await runDemo({ dir: args.dir, backend: args.backend as BackendName, seed: Number(args.seed), scale: Number(args.scale), quiet: args.quiet, clipsPerClass: args['clips-per-class'] ? Number(args['clips-per-class']) : undefined });
    } catch (e) {
      if (!(e instanceof DemoInterruptedError)) throw e;
      // 128 + SIGINT, as a shell reports a program stopped by Ctrl-C
      process.stderr.write(`${e.message}\n`);
      process.exitCode = 130;
      return;
    }
    if (args.json) {
      const round = (v: number | null) => (v === null ? null : Math.round(v * 1e4) / 1e4);
      console.log(JSON.stringify({ t2v_r1: round(r.t2v_r1), v2t_r1: round(r.v2t_r1), zs_top1: round(r.zs_top1), qa_exact: round(r.qa_exact), seconds: Math.round(r.seconds * 10) / 10 }));
    }
  },
});

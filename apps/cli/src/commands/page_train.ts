import { defineCommand, runCommand } from 'citty';
import type { BackendName } from '@iv2/core';
import { readRunSpec, runPageTrain } from '../page/train.js';

export const pageTrain = defineCommand({
  meta: {
    name: 'page-train',
    description: "Run the playground's stage-2 training in Node: the same run definition (run.json from the page's training view) gives the page's loss curve",
  },
  args: {
    run: { type: 'positional', required: false, description: "run.json (the page's download, or apps/cli/configs/page_*.json); default the page's own run" },
    out: { type: 'string', description: 'Where to write log.jsonl, curves, model.safetensors + stage2_manifest.json', default: 'runs/page-train' },
    steps: { type: 'string', description: 'Overrides train.steps of the definition' },
    backend: { type: 'string', description: 'auto | cpu | wasm | webgpu | tensorflow', default: 'wasm' },
    json: { type: 'boolean', description: 'Print the losses as JSON on stdout at the end', default: false },
  },
  async run({ args }) {
    const r = await runPageTrain({
      spec: args.run ? readRunSpec(args.run) : undefined, steps: args.steps ? Number(args.steps) : undefined, out: args.out, backend: args.backend as BackendName,
    });
    if (args.json) console.log(JSON.stringify({ losses: r.rows.map((x) => x.loss), evals: r.evals, seconds: Math.round(r.seconds * 10) / 10 }));
  },
});

/** Runs `iv2 page-train <rawArgs…>` in this process (as the binary would), for scripts and tests. */
export function pageTrainMain(rawArgs: string[]): Promise<unknown> {
  return runCommand(pageTrain, { rawArgs });
}

import { defineCommand } from 'citty';
import { type CheckpointDType, openCheckpoint, saveSafetensors } from '@iv2/core';
import { Progress } from '../progress.js';

type RawSource = { getRaw(k: string): Promise<{ dtype: CheckpointDType; shape: number[]; bytes: Uint8Array }> };

/**
 * Converts a checkpoint (PyTorch `.pth`/`.bin`/`.pt`, safetensors, sharded index) to one safetensors file, tensor by
 * tensor, keeping each tensor's dtype; `--prefix` keeps only keys under a prefix and strips it.
 */
export const convert = defineCommand({
  meta: { name: 'convert', description: 'Convert a PyTorch checkpoint (or shards) to a single safetensors file' },
  args: {
    input: { type: 'positional', description: 'Checkpoint to read', required: true },
    output: { type: 'positional', description: 'safetensors file to write', required: true },
    prefix: { type: 'string', description: 'Keep only keys starting with this (e.g. vision_encoder.) and strip it' },
    quiet: { type: 'boolean', description: 'No progress output', default: false },
  },
  async run({ args }) {
    const src = await openCheckpoint(args.input);
    try {
      const prefix = args.prefix ?? '';
      const keys = src.keys().filter((k) => k.startsWith(prefix));
      if (!keys.length) throw new Error(`${args.input}: no tensor key starts with '${prefix}'`);
      const progress = new Progress({ quiet: args.quiet });
      progress.begin('convert', keys.length, { unit: 'tensors' });
      let done = 0;
      await saveSafetensors(
        args.output,
        keys.map((k) => [k.slice(prefix.length), src.info(k)]),
        async (k) => {
          const raw = await (src as unknown as RawSource).getRaw(prefix + k);
          progress.update(++done, k);
          return raw;
        },
        { format: 'pt', source: args.input.split('/').pop() ?? args.input },
      );
      progress.end();
      const skipped = (src as { skipped?: string[] }).skipped ?? [];
      console.error(`${keys.length} tensor(s) → ${args.output}${skipped.length ? `; not tensors, left out: ${skipped.join(', ')}` : ''}`);
    } finally {
      await src.close();
    }
  },
});

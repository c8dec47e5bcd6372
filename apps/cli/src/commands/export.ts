import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { defineCommand } from 'citty';
import { type CheckpointDType, openCheckpoint, saveSafetensors } from '@iv2/core';
import { detectStage, type ExportStage, modelFileOf, STAGE1_TRAINING_ONLY } from '../export/layout.js';
import { encodeTensor, savePth } from '../export/pth.js';
import { Progress } from '../progress.js';

const DTYPES: Record<string, CheckpointDType> = { f32: 'F32', fp32: 'F32', f16: 'F16', fp16: 'F16', bf16: 'BF16' };

export interface ExportOptions {
  input: string;
  out: string;
  dtype?: string;
  wrap?: 'none' | 'module' | 'model';
  dropHeads?: boolean;
  /** Keep only keys under this prefix and strip it (e.g. `vision_encoder.` for a bare encoder). */
  prefix?: string;
  quiet?: boolean;
}

/**
 * Writes a trained model (or any stage's checkpoint) in the official layout: the keys iv2 trains under are the
 * official ones (`vision_encoder.…`, `text_encoder.bert.…`, `qformer.…`), so exporting is choosing the file
 * format, the stored dtype and the wrapper the official loaders accept.
 */
export async function exportModel(o: ExportOptions): Promise<{ file: string; stage: ExportStage; keys: string[] }> {
  const storeAs = DTYPES[(o.dtype ?? 'f32').toLowerCase()];
  if (!storeAs) throw new Error(`--dtype ${o.dtype}: allowed f32, f16, bf16`);
  const src = await openCheckpoint(modelFileOf(o.input));
  const progress = new Progress({ quiet: o.quiet });
  try {
    mkdirSync(dirname(o.out), { recursive: true });
    const stage = detectStage(src.keys());
    const prefix = o.prefix ?? '';
    let keys = src.keys().filter((k) => k.startsWith(prefix));
    if (o.dropHeads) keys = keys.filter((k) => !STAGE1_TRAINING_ONLY.test(k));
    if (!keys.length) throw new Error(`${o.input}: no tensor left to export (prefix '${prefix}')`);
    const outKey = (k: string) => k.slice(prefix.length);
    const entries = keys.map((k) => {
      const i = src.info(k);
      const dtype: CheckpointDType = ['F32', 'F16', 'BF16', 'F64'].includes(i.dtype) ? storeAs : i.dtype === 'I64' ? 'I64' : i.dtype;
      return [k, { dtype, shape: i.shape }] as [string, { dtype: CheckpointDType; shape: number[] }];
    });
    const dtypeOf = new Map(entries.map(([k, e]) => [k, e.dtype]));
    progress.begin('export', keys.length, { unit: 'tensors' });
    let n = 0;
    const tick = () => progress.update(++n);
    if (o.out.endsWith('.safetensors')) {
      await saveSafetensors(
        o.out,
        entries.map(([k, e]) => [outKey(k), e]),
        async (k) => {
          const t = await src.get(prefix + k);
          tick();
          return { ...t, storeAs: dtypeOf.get(prefix + k)! };
        },
        { format: 'pt', iv2_stage: stage },
      );
    } else {
      const wrap = o.wrap && o.wrap !== 'none' ? o.wrap : undefined;
      const byOut = new Map(entries.map(([k]) => [outKey(k), k]));
      await savePth(
        o.out,
        entries.map(([k, e]) => [outKey(k), e]),
        async (k) => {
          const key = byOut.get(k)!;
          const t = await src.get(key);
          tick();
          return encodeTensor(t, dtypeOf.get(key)!);
        },
        { wrap },
      );
    }
    progress.end();
    return { file: o.out, stage, keys: keys.map(outKey) };
  } finally {
    await src.close?.();
  }
}

export const exportCmd = defineCommand({
  meta: { name: 'export', description: 'Write a trained model in the official layout (.safetensors or a torch.load-able .pth)' },
  args: {
    input: { type: 'positional', description: 'A run folder, a checkpoint folder or a model file', required: true },
    out: { type: 'string', description: 'Output: *.safetensors or *.pth', required: true },
    dtype: { type: 'string', description: 'Stored float type: f32 | f16 | bf16', default: 'f32' },
    wrap: { type: 'string', description: '.pth top level: none (bare state dict) | module (DeepSpeed) | model', default: 'none' },
    'drop-heads': { type: 'boolean', description: 'Leave out the stage-1 alignment heads and their position tables', default: false },
    prefix: { type: 'string', description: 'Keep only keys under this prefix and strip it (e.g. vision_encoder.)' },
    quiet: { type: 'boolean', description: 'No progress output', default: false },
  },
  async run({ args }) {
    if (!['none', 'module', 'model'].includes(args.wrap)) throw new Error(`--wrap ${args.wrap}: allowed none, module, model`);
    const r = await exportModel({
      input: args.input, out: args.out, dtype: args.dtype, wrap: args.wrap as ExportOptions['wrap'], dropHeads: args['drop-heads'], prefix: args.prefix, quiet: args.quiet,
    });
    console.error(`${r.keys.length} tensor(s), ${r.stage} layout → ${r.file}`);
  },
});

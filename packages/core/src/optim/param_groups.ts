import type { NamedParameter } from '../nn/parameter.js';

export interface ParamGroup {
  params: NamedParameter[];
  weightDecay: number;
  /** Multiplies the scheduled learning rate (layer-wise decay). */
  lrScale: number;
  name?: string;
}

const NO_DECAY = /(^|\.)(pos_embed|img_pos_embed|clip_pos_embed|clip_img_pos_embed|mae_pos_embed|cls_token|temp)$|bias$|_bias$/;

/**
 * The official grouping: no weight decay for 1-D parameters, biases, position embeddings, CLS tokens and
 * temperatures; `layerScale(name)` gives a per-parameter learning-rate scale (layer-wise decay), parameters with
 * the same decay and scale share a group.
 */
export function paramGroups(
  params: NamedParameter[],
  opts: { weightDecay: number; layerScale?: (name: string) => number; noDecay?: (p: NamedParameter) => boolean },
): ParamGroup[] {
  const groups = new Map<string, ParamGroup>();
  for (const p of params) {
    const skip = opts.noDecay?.(p) ?? (p.variable.rank <= 1 || NO_DECAY.test(p.name));
    const wd = skip ? 0 : opts.weightDecay;
    const scale = opts.layerScale?.(p.name) ?? 1;
    const key = `${wd}|${scale}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { params: [], weightDecay: wd, lrScale: scale, name: `${skip ? 'no_decay' : 'decay'}_x${scale}` }));
    g.params.push(p);
  }
  return [...groups.values()];
}

/**
 * Layer-wise learning-rate decay of the official fine-tuning: embeddings are layer 0, `blocks.i` is layer i+1, the
 * rest (pool, head) is the last layer; scale = decay^(numLayers + 1 − layer).
 */
export function layerDecayScale(numBlocks: number, decay: number): (name: string) => number {
  return (name) => {
    let layer = numBlocks + 1;
    if (/^(patch_embed|cls_token|pos_embed|img_pos_embed)/.test(name)) layer = 0;
    const m = /^blocks\.(\d+)\./.exec(name);
    if (m) layer = Number(m[1]) + 1;
    return decay ** (numBlocks + 1 - layer);
  };
}

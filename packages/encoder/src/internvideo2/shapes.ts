import { clipReturnBlocks, gridOf, hasClipPosEmbed, type InternVideo2Config, mlpHidden } from '../config.js';

/**
 * Official key → PyTorch shape of every parameter the model with this config has, computed without allocating
 * anything (the 6B model has 5.9 G parameters). Tests hold it equal to a built model's `stateDictShapes()`.
 */
export function parameterShapes(c: InternVideo2Config): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const C = c.embed_dim;
  const g = gridOf(c);
  const hd = mlpHidden(c);
  const lin = (p: string, i: number, o: number, bias = true) => {
    m.set(`${p}.weight`, [o, i]);
    if (bias) m.set(`${p}.bias`, [o]);
  };
  const ln = (p: string, d: number) => {
    m.set(`${p}.weight`, [d]);
    m.set(`${p}.bias`, [d]);
  };
  m.set('patch_embed.proj.weight', [C, c.in_chans, c.tubelet_size, c.patch_size, c.patch_size]);
  m.set('patch_embed.proj.bias', [C]);
  m.set('cls_token', [1, 1, C]);
  m.set('pos_embed', [1, 1 + g.numPatches, C]);
  if (c.sep_image_video_pos_embed) m.set('img_pos_embed', [1, 1 + g.numImgPatches, C]);
  if (hasClipPosEmbed(c)) {
    m.set('clip_pos_embed', [1, 1 + g.numPatches, C]);
    if (c.sep_image_video_pos_embed) m.set('clip_img_pos_embed', [1, 1 + g.numImgPatches, C]);
  }
  if (c.mae_return_layer > 0) m.set('mae_pos_embed', [1, g.numPatches, C]);
  for (let i = 0; i < c.depth; i++) {
    const p = `blocks.${i}`;
    m.set(`${p}.norm1.weight`, [C]);
    lin(`${p}.attn.qkv`, C, 3 * C, c.qkv_bias);
    if (c.qk_normalization) {
      m.set(`${p}.attn.q_norm.weight`, [C]);
      m.set(`${p}.attn.k_norm.weight`, [C]);
    }
    lin(`${p}.attn.proj`, C, C);
    if (c.init_values) m.set(`${p}.ls1.gamma`, [C]);
    m.set(`${p}.norm2.weight`, [C]);
    lin(`${p}.mlp.fc1`, C, hd);
    lin(`${p}.mlp.fc2`, hd, C);
    if (c.init_values) m.set(`${p}.ls2.gamma`, [C]);
  }
  for (const n of ['q', 'k', 'v']) ln(`clip_projector.norm1_${n}`, C);
  for (const n of ['q', 'k', 'v']) lin(`clip_projector.cross_attn.${n}`, C, C, false);
  for (const n of ['q', 'k', 'v']) m.set(`clip_projector.cross_attn.${n}_bias`, [C]);
  lin('clip_projector.cross_attn.proj', C, c.clip_embed_dim);
  const decoder = (p: string, i: number, o: number, mlp: boolean) => {
    if (mlp) {
      lin(`${p}.head.0`, i, i);
      lin(`${p}.head.2`, i, o);
    } else lin(`${p}.head`, i, o);
    ln(`${p}.norm`, o);
  };
  if (c.clip_return_layer > 0) {
    const mlp = c.clip_student_decoder === 'MLP_Decoder';
    clipReturnBlocks(c).forEach((_, k) => decoder(`clip_decoder.${k}`, C, c.clip_teacher_embed_dim, mlp));
    if (c.clip_teacher_final_dim > 0) decoder('final_clip_decoder', c.clip_embed_dim, c.clip_teacher_final_dim, mlp);
  }
  for (let k = 0; k < c.mae_return_layer; k++) decoder(`mae_decoder.${k}`, C, c.mae_teacher_embed_dim, true);
  if (c.num_classes > 0) {
    ln('fc_norm', c.clip_embed_dim);
    lin('head', c.clip_embed_dim, c.num_classes);
  }
  if (c.vision_align_dim > 0) {
    ln('vision_align.0', c.clip_embed_dim);
    lin('vision_align.1', c.clip_embed_dim, c.vision_align_dim);
  }
  return m;
}

export function countParameters(shapes: Map<string, number[]>): number {
  let n = 0;
  for (const s of shapes.values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

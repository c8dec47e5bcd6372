// The LLM input of VideoChat2_it_mistral.forward: per sample `[X] + embed(p_before) + video tokens +
// embed(p_after)`, right-padded with embed(pad) (mask 0) to min(longest + 1, max_txt_len + video tokens). X, the
// first position, is a vector whose every element is the BOS id (the official code assigns `bos_token_id` into
// the embedded tensor). Labels keep the answers and their `</s>` only.
import * as tf from '@tensorflow/tfjs-core';
import { IGNORE_INDEX, type SplitPrompt } from '../chat/videochat2_prompt.js';

export interface AssembledInputs {
  inputsEmbeds: tf.Tensor3D;
  /** int32 `[B, L]`, 1 on X and the sample, 0 on padding. */
  attentionMask: tf.Tensor2D;
  /** int32 `[B, L]`, −100 except on answers and their `</s>`. */
  labels: tf.Tensor2D;
}

export interface AssembleOptions {
  bosTokenId: number;
  padTokenId: number;
  maxTxtLen: number;
}

/** `videoEmbeds` `[B, Q, D]` (the projector's output), one split prompt per sample, `embed` = the LLM's embed_tokens. */
export function assembleInputs(
  videoEmbeds: tf.Tensor3D,
  samples: SplitPrompt[],
  embed: (ids: tf.Tensor) => tf.Tensor,
  opts: AssembleOptions,
): AssembledInputs {
  const [b, q, d] = videoEmbeds.shape;
  if (samples.length !== b) throw new RangeError(`${samples.length} prompts for ${b} videos`);
  const lens = samples.map((s) => s.pBeforeIds.length + q + s.pAfterIds.length);
  const txtLen = Math.min(Math.max(...lens) + 1, opts.maxTxtLen + q);
  const mask = new Int32Array(b * txtLen);
  const labels = new Int32Array(b * txtLen).fill(IGNORE_INDEX);
  const inputsEmbeds = tf.tidy(() => {
    const ids = (x: number[]) => tf.tensor2d(x, [1, x.length], 'int32');
    const padRow = tf.reshape(embed(ids([opts.padTokenId])), [1, d]);
    const bos = tf.fill([1, d], opts.bosTokenId);
    const rows: tf.Tensor[] = [];
    for (let i = 0; i < b; i++) {
      const s = samples[i];
      const parts: tf.Tensor[] = [bos];
      if (s.pBeforeIds.length) parts.push(tf.reshape(embed(ids(s.pBeforeIds)), [-1, d]));
      parts.push(tf.reshape(tf.slice(videoEmbeds, [i, 0, 0], [1, q, d]), [q, d]));
      if (s.pAfterIds.length) parts.push(tf.reshape(embed(ids(s.pAfterIds)), [-1, d]));
      const inputLen = Math.min(lens[i], txtLen - 1);
      let row = tf.slice(tf.concat(parts, 0), [0, 0], [inputLen + 1, d]);
      if (inputLen + 1 < txtLen) row = tf.concat([row, tf.tile(padRow, [txtLen - inputLen - 1, 1])], 0);
      rows.push(row);
      mask.fill(1, i * txtLen, i * txtLen + inputLen + 1);
      const from = s.pBeforeIds.length + q + 1;
      for (let t = from; t < inputLen + 1; t++) labels[i * txtLen + t] = s.pAfterTargets[t - from];
    }
    return tf.stack(rows) as tf.Tensor3D;
  });
  return {
    inputsEmbeds,
    attentionMask: tf.tensor2d(mask, [b, txtLen], 'int32'),
    labels: tf.tensor2d(labels, [b, txtLen], 'int32'),
  };
}

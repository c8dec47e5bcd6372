import * as tf from '@tensorflow/tfjs-core';
import { l2Normalize, softCrossEntropy } from '@iv2/core';
import { detach } from '../detach.js';
import type { Draws } from '../draws.js';

/**
 * `get_mask`: 1 where the sample ids are equal (`idx` int32 `[B]`); `normalize` divides each row by its count,
 * giving the soft VTC targets (several captions of one video are all positives).
 */
export function idMask(idx: tf.Tensor1D, normalize: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const eq = tf.cast(tf.equal(tf.expandDims(idx, 1), tf.expandDims(idx, 0)), 'float32');
    return (normalize ? tf.div(eq, tf.sum(eq, 1, true)) : eq) as tf.Tensor2D;
  });
}

/** `get_sim` for `[B, D]` projections: cosine similarities (F.normalize, eps 1e-12) over `temp`: `[sim_v2t, sim_t2v]`. */
export function getSim(visionProj: tf.Tensor2D, textProj: tf.Tensor2D, temp: tf.Tensor | number = 1): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    const v2t = tf.div(tf.matMul(l2Normalize(visionProj, -1, 1e-12), l2Normalize(textProj, -1, 1e-12), false, true), temp) as tf.Tensor2D;
    return [v2t, tf.transpose(v2t)];
  }) as [tf.Tensor2D, tf.Tensor2D];
}

/** `VTC_VTM_Loss.vtc_loss` on one device (the all-gather of world size 1): mean of both directions' soft CE. */
export function vtcLoss(visionProj: tf.Tensor2D, textProj: tf.Tensor2D, idx: tf.Tensor1D, temp: tf.Tensor | number): tf.Scalar {
  return tf.tidy(() => {
    const [v2t, t2v] = getSim(visionProj, textProj, temp);
    const targets = idMask(idx, true);
    return tf.div(tf.add(softCrossEntropy(v2t, targets), softCrossEntropy(t2v, targets)), 2) as tf.Scalar;
  });
}

export interface VtmNegatives {
  /** `weights_v2t`, `weights_t2v` `[B, B]`: the no-gradient sampling distributions (positives zeroed). */
  weightsV2t: tf.Tensor2D;
  weightsT2v: tf.Tensor2D;
  /** The negative video of each text and the negative text of each video, int32 `[B]`. */
  visionNeg: tf.Tensor1D;
  textNeg: tf.Tensor1D;
}

/**
 * Negative mining of `vtm_loss` (no gradient): softmax(sim + 1e-4) per row, positives (equal ids) zeroed,
 * NaN/±Inf → 0.01; with `hardNeg` one draw per row from these weights (`torch.multinomial`), else uniform among
 * the non-positives. Draw names: `vtm_vision_neg` then `vtm_text_neg`.
 */
export function vtmNegatives(
  visionProj: tf.Tensor2D,
  textProj: tf.Tensor2D,
  idx: tf.Tensor1D,
  temp: tf.Tensor | number,
  hardNeg: boolean,
  draws: Draws,
): VtmNegatives {
  return tf.tidy(() => {
    // The official `no_grad`: detached inputs keep the drawn indices off the gradient tape.
    const [v2t, t2v] = getSim(detach(visionProj), detach(textProj), typeof temp === 'number' ? temp : detach(temp));
    const pos = tf.cast(idMask(idx, false), 'bool');
    const clean = (w: tf.Tensor) => tf.where(tf.isFinite(w), w, tf.fill(w.shape, 0.01));
    const mk = (s: tf.Tensor2D) => clean(tf.where(pos, tf.zerosLike(s), tf.softmax(tf.add(s, 1e-4), 1))) as tf.Tensor2D;
    const weightsV2t = mk(v2t);
    const weightsT2v = mk(t2v);
    const draw = (name: string, w: tf.Tensor2D) =>
      tf.reshape(draws.multinomial(name, hardNeg ? w : (tf.cast(tf.logicalNot(pos), 'float32') as tf.Tensor2D), 1, true), [-1]) as tf.Tensor1D;
    const visionNeg = draw('vtm_vision_neg', weightsT2v);
    const textNeg = draw('vtm_text_neg', weightsV2t);
    return { weightsV2t, weightsT2v, visionNeg, textNeg } as unknown as tf.TensorContainer;
  }) as unknown as VtmNegatives;
}

/** Mean cross-entropy of `[R, C]` logits against int32 labels `[R]`. */
export function crossEntropy(logits: tf.Tensor2D, labels: number[]): tf.Scalar {
  return tf.tidy(() => softCrossEntropy(logits, tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]) as tf.Tensor2D));
}

export interface MlmTokens {
  pad: number;
  cls: number;
  mask: number;
}

/**
 * `MLMLoss.mask` on the host: Bernoulli(`prob`) positions (never [PAD] or [CLS]); labels keep the original ids
 * there and −100 elsewhere; of those, Bernoulli(0.8) become [MASK], Bernoulli(0.5) of the rest a random id drawn
 * over the whole vocabulary (special ids included), the rest stay. Draws: `mlm_bernoulli_mask`,
 * `mlm_bernoulli_replace`, `mlm_bernoulli_random`, `mlm_randint`.
 */
export async function mlmMask(
  inputIds: tf.Tensor2D,
  prob: number,
  vocabSize: number,
  tokens: MlmTokens,
  draws: Draws,
): Promise<{ inputIds: tf.Tensor2D; labels: tf.Tensor2D }> {
  const shape = inputIds.shape;
  const ids = Int32Array.from(await inputIds.data());
  const read = async (t: tf.Tensor) => {
    const d = await t.data();
    t.dispose();
    return d;
  };
  const bMask = await read(draws.bernoulli('mlm_bernoulli_mask', shape, prob));
  const masked = ids.map((id, i) => (bMask[i] !== 0 && id !== tokens.pad && id !== tokens.cls ? 1 : 0));
  const labels = ids.map((id, i) => (masked[i] ? id : -100));
  const bRep = await read(draws.bernoulli('mlm_bernoulli_replace', shape, 0.8));
  const replaced = masked.map((m, i) => (m && bRep[i] !== 0 ? 1 : 0));
  const out = ids.map((id, i) => (replaced[i] ? tokens.mask : id));
  const bRnd = await read(draws.bernoulli('mlm_bernoulli_random', shape, 0.5));
  const words = await read(draws.randint('mlm_randint', vocabSize, shape));
  for (let i = 0; i < out.length; i++) if (bRnd[i] !== 0 && masked[i] && !replaced[i]) out[i] = words[i];
  return { inputIds: tf.tensor2d(out, shape, 'int32'), labels: tf.tensor2d(labels, shape, 'int32') };
}

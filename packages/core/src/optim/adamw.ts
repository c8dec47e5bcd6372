import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../checkpoint/types.js';
import { adamwUpdate } from '../ops/adamw_update.js';
import type { ParamGroup } from './param_groups.js';

export interface AdamWOptions {
  lr: number;
  betas?: [number, number];
  eps?: number;
  /** Default weight decay for groups given as plain parameter lists. */
  weightDecay?: number;
}

/** What `stateDict()` returns: moments per parameter name, step counts, hyper-parameters. */
export interface AdamWState {
  step: number;
  lr: number;
  betas: [number, number];
  eps: number;
  moments: Map<string, { m: HostTensor; v: HostTensor }>;
}

/**
 * AdamW as torch.optim.AdamW: p ← p·(1 − lr·wd); m, v moving averages; p ← p − lr·m̂/(√v̂ + eps) with bias
 * corrections 1 − βᵗ. Gradients come keyed by parameter name (see {@link gradsByName}).
 */
export class AdamW {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly groups: ParamGroup[];
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(groups: ParamGroup[], opts: AdamWOptions) {
    this.groups = groups;
    this.lr = opts.lr;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
  }

  /**
   * One update with `grads` (name → gradient), each first multiplied by `gradScale` (a clipping coefficient, see
   * `clipCoefficient`). Parameters without a gradient are left as they are.
   */
  apply(grads: Map<string, tf.Tensor> | Record<string, tf.Tensor>, gradScale = 1): void {
    const g = grads instanceof Map ? grads : new Map(Object.entries(grads));
    this.step += 1;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    for (const group of this.groups) {
      const lr = this.lr * group.lrScale;
      for (const { name, variable } of group.params) {
        const grad = g.get(name);
        if (!grad || !variable.trainable) continue;
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (!m || !v) {
          m = ownedVariable(tf.zerosLike(variable));
          v = ownedVariable(tf.zerosLike(variable));
          this.m.set(name, m);
          this.v.set(name, v);
        }
        const [p1, m1, v1] = adamwUpdate(variable, grad, m, v, {
          lr, weightDecay: group.weightDecay ?? 0, beta1: b1, beta2: b2, eps: this.eps, bc1, bc2, gradScale,
        });
        m.assign(m1);
        v.assign(v1);
        variable.assign(p1);
        tf.dispose([p1, m1, v1]);
      }
    }
  }

  async stateDict(): Promise<AdamWState> {
    const moments = new Map<string, { m: HostTensor; v: HostTensor }>();
    for (const [name, m] of this.m) {
      const v = this.v.get(name)!;
      moments.set(name, {
        m: { dtype: 'float32', shape: m.shape, data: (await m.data()) as Float32Array },
        v: { dtype: 'float32', shape: v.shape, data: (await v.data()) as Float32Array },
      });
    }
    return { step: this.step, lr: this.lr, betas: this.betas, eps: this.eps, moments };
  }

  loadStateDict(s: AdamWState): void {
    this.step = s.step;
    this.lr = s.lr;
    this.disposeMoments();
    for (const [name, { m, v }] of s.moments) {
      this.m.set(name, ownedVariable(tf.tensor(m.data, m.shape, 'float32')));
      this.v.set(name, ownedVariable(tf.tensor(v.data, v.shape, 'float32')));
    }
  }

  private disposeMoments(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }

  dispose(): void {
    this.disposeMoments();
  }
}

/** A non-trainable variable that takes over `init` (tf.variable keeps its own reference to the data). */
function ownedVariable(init: tf.Tensor): tf.Variable {
  const v = tf.variable(init, false);
  init.dispose();
  return v;
}

/** `tf.variableGrads` keys gradients by tfjs variable name; this maps them back to parameter names. */
export function gradsByName(
  params: Array<{ name: string; variable: tf.Variable }>,
  grads: tf.NamedTensorMap,
): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const p of params) {
    const g = grads[p.variable.name];
    if (g) out.set(p.name, g);
  }
  return out;
}

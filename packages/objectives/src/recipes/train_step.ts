import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipCoefficient, GradAccumulator, type NamedParameter, type ParamGroup, paramGroups, type Schedule } from '@iv2/core';
import type { LossOutput, Objective } from '../objective.js';

export interface TrainerOptions {
  /** Learning rate per optimizer step (0-based), e.g. `warmupCosine` (stage 1) or `lambdaCosine` (stage 2). */
  schedule?: Schedule;
  /** L2 clip of the global gradient norm (`clip_grad` / `max_grad_norm`); 0 or absent = none. */
  clipGrad?: number;
  /** Micro-batches per optimizer step (gradients are averaged). */
  accumulation?: number;
  /** An optimizer built by the caller; default AdamW over {@link defaultGroups} with `adamw`. */
  optimizer?: AdamW;
  adamw?: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; layerScale?: (name: string) => number };
}

export interface StepResult {
  /** 0-based index of the optimizer step this micro-batch belongs to. */
  step: number;
  loss: number;
  parts: Record<string, number>;
  /** Whether the optimizer stepped (the last micro-batch of an accumulation). */
  applied: boolean;
  /** Global gradient norm before clipping (when the optimizer stepped). */
  gradNorm?: number;
  lr: number;
}

/**
 * The official grouping of the trainable parameters: no weight decay for 1-D tensors, biases, position tables,
 * CLS tokens and `temp`; optional layer-wise lr scale (`layerDecayScale` of @iv2/core).
 */
export function defaultGroups(params: NamedParameter[], weightDecay = 0.05, layerScale?: (name: string) => number): ParamGroup[] {
  return paramGroups(params.filter((p) => p.variable.trainable), { weightDecay, layerScale });
}

/**
 * Freezes (or unfreezes) every parameter whose name matches one of `patterns` (a prefix string, or a RegExp), the
 * `freeze_vision` / `freeze_text` / `freeze_vit` switches of the official configs; returns how many matched.
 */
export function setTrainable(params: NamedParameter[], patterns: Array<string | RegExp>, trainable: boolean): number {
  let n = 0;
  for (const p of params) {
    if (patterns.some((q) => (typeof q === 'string' ? p.name.startsWith(q) : q.test(p.name)))) {
      p.variable.trainable = trainable;
      n++;
    }
  }
  return n;
}

/**
 * Runs an objective's optimisation step: prepare (no gradient) → loss under `tf.variableGrads` over the trainable
 * parameters → accumulate → clip → AdamW with the scheduled lr. Gradients of parameters the loss does not reach
 * are absent (AdamW leaves those parameters alone). No tensors leak across steps.
 */
export class Trainer<B, P> {
  readonly optimizer: AdamW;
  private readonly accumulator: GradAccumulator | null;
  private micro = 0;

  constructor(
    readonly objective: Objective<B, P>,
    readonly opts: TrainerOptions = {},
  ) {
    const a = opts.adamw ?? {};
    this.optimizer =
      opts.optimizer ??
      new AdamW(defaultGroups(objective.parameters(), a.weightDecay ?? 0.05, a.layerScale), {
        lr: a.lr ?? 1e-4,
        betas: a.betas ?? [0.9, 0.98],
        eps: a.eps ?? 1e-6,
      });
    this.accumulator = (opts.accumulation ?? 1) > 1 ? new GradAccumulator(opts.accumulation!) : null;
  }

  /** The gradient of one batch, keyed by parameter name, with the loss values (nothing applied). */
  async gradients(batch: B): Promise<{ grads: Map<string, tf.Tensor>; loss: number; parts: Record<string, number> }> {
    const prepared = await this.objective.prepare(batch);
    try {
      const params = this.objective.parameters().filter((p) => p.variable.trainable);
      let out: LossOutput | null = null;
      const { value, grads } = tf.variableGrads(() => {
        out = this.objective.loss(prepared);
        for (const t of Object.values(out.parts)) tf.keep(t);
        return out.total;
      }, params.map((p) => p.variable));
      const o = out as unknown as LossOutput;
      const byVar = new Map(params.map((p) => [p.variable.name, p.name]));
      const named = new Map<string, tf.Tensor>();
      for (const [k, g] of Object.entries(grads)) {
        const name = byVar.get(k);
        if (name) named.set(name, g);
        else g.dispose();
      }
      const loss = (await value.data())[0];
      const parts: Record<string, number> = {};
      for (const [k, t] of Object.entries(o.parts)) parts[k] = (await t.data())[0];
      tf.dispose([value, ...Object.values(o.parts), ...Object.values(o.extras ?? {})]);
      return { grads: named, loss, parts };
    } finally {
      this.objective.release?.(prepared);
    }
  }

  /** One micro-batch; the optimizer steps every `accumulation` calls. */
  async step(batch: B): Promise<StepResult> {
    const step = this.optimizer.step;
    const lr = this.opts.schedule ? this.opts.schedule(step) : this.optimizer.lr;
    const { grads, loss, parts } = await this.gradients(batch);
    if (!Number.isFinite(loss)) {
      tf.dispose([...grads.values()]);
      throw new RangeError(`loss is ${loss} at step ${step} (the official engines stop here too)`);
    }
    this.micro++;
    let g: Map<string, tf.Tensor> | null = grads;
    if (this.accumulator) g = this.accumulator.add(grads);
    if (!g) return { step, loss, parts, applied: false, lr };
    let gradNorm: number | undefined;
    let coef = 1;
    if (this.opts.clipGrad && this.opts.clipGrad > 0) ({ coef, norm: gradNorm } = await clipCoefficient(g, this.opts.clipGrad));
    this.optimizer.lr = lr;
    this.optimizer.apply(g, coef);
    tf.dispose([...g.values()]);
    return { step, loss, parts, applied: true, gradNorm, lr };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

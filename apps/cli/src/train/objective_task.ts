import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@iv2/core';
import type { Objective } from '@iv2/objectives';
import type { TrainBatch, TrainTask } from './loop.js';

type Prepared<P> = TrainBatch & { prepared: P; owned: tf.Tensor[] };

/**
 * Any `@iv2/objectives` objective as a task of the training loop: `makeBatch(index)` builds the objective's batch
 * (and names its files), `prepare` runs outside the tape, `loss` inside it; parts keep their official names
 * without the `loss_` prefix.
 */
export class ObjectiveTask<B, P> implements TrainTask<Prepared<P>> {
  constructor(
    readonly stage: string,
    readonly objective: Objective<B, P>,
    private readonly mods: Array<[string, Module]>,
    readonly batchesPerEpoch: number,
    private readonly makeBatch: (index: number) => { batch: B; files: string[]; owned: tf.Tensor[] },
    private readonly hooks: { afterStep?: () => void; evaluate?: () => Promise<Record<string, number>>; beforeLoss?: () => void } = {},
  ) {}

  modules(): Array<[string, Module]> {
    return this.mods;
  }

  async batch(index: number): Promise<Prepared<P>> {
    const { batch, files, owned } = this.makeBatch(index);
    const prepared = await this.objective.prepare(batch);
    return { files, prepared, owned };
  }

  loss(b: Prepared<P>) {
    this.hooks.beforeLoss?.();
    const out = this.objective.loss(b.prepared);
    const parts: Record<string, tf.Scalar> = {};
    for (const [k, v] of Object.entries(out.parts)) parts[k.replace(/^loss_/, '')] = v;
    return { total: out.total, parts };
  }

  release(b: Prepared<P>): void {
    this.objective.release?.(b.prepared);
    for (const t of b.owned) t.dispose();
  }

  afterStep(): void {
    this.hooks.afterStep?.();
  }

  get evaluate(): (() => Promise<Record<string, number>>) | undefined {
    return this.hooks.evaluate;
  }
}

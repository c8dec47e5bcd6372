import * as tf from '@tensorflow/tfjs-core';
import type { NamedParameter } from '@iv2/core';

/** What every objective's `loss` returns: the weighted total and each named term (official names). */
export interface LossOutput {
  total: tf.Scalar;
  parts: Record<string, tf.Scalar>;
  /** Intermediate tensors worth inspecting (logits, embeddings); owned by the caller like the losses. */
  extras?: Record<string, tf.Tensor>;
}

/**
 * One pretext objective over models passed in. `prepare` does the asynchronous, gradient-free work (frozen
 * teachers, masks, corruptions drawn from the batch alone); `loss` is synchronous so it can run under
 * `tf.variableGrads`. `parameters` lists what the objective trains (its models' parameters, heads included).
 */
export interface Objective<Batch = unknown, Prepared = Batch> {
  readonly name: string;
  prepare(batch: Batch): Promise<Prepared>;
  loss(prepared: Prepared): LossOutput;
  /** Frees what `prepare` made (masks, targets); the caller's batch is left alone. */
  release?(prepared: Prepared): void;
  parameters(): NamedParameter[];
}

/** A term of {@link combine}: an objective, its weight, and how to get its batch out of the combined one. */
export interface WeightedObjective<B> {
  objective: Objective<any, any>;
  weight?: number;
  /**
   * Picks this objective's batch from the combined batch (default: the same batch). Tensors it creates (not found
   * in the combined batch) are disposed when the step's `release` runs.
   */
  select?: (batch: B) => unknown;
  /** Prefix of its part names (default: none). */
  prefix?: string;
}

/**
 * Sums objectives with their weights into one: parts keep their names (prefixed when asked), the total is
 * Σ weight·total in the given order. Parameters are the union, without repeats (shared encoders count once).
 */
export function combine<B>(terms: WeightedObjective<B>[], name = terms.map((t) => t.objective.name).join('+')): Objective<B, unknown[]> {
  const owned = new WeakMap<unknown[], tf.Tensor[]>();
  return {
    name,
    async prepare(batch: B) {
      const out: unknown[] = [];
      const made: tf.Tensor[] = [];
      const given = new Set(tensorsIn(batch));
      for (const t of terms) {
        const b = t.select ? t.select(batch) : batch;
        if (t.select) for (const x of tensorsIn(b)) if (!given.has(x)) made.push(x);
        out.push(await t.objective.prepare(b));
      }
      owned.set(out, made);
      return out;
    },
    loss(prepared: unknown[]) {
      return tf.tidy(() => {
        let total: tf.Scalar | null = null;
        const parts: Record<string, tf.Scalar> = {};
        terms.forEach((t, i) => {
          const r = t.objective.loss(prepared[i]);
          for (const [k, v] of Object.entries(r.parts)) parts[(t.prefix ?? '') + k] = v;
          const w = t.weight ?? 1;
          const term = w === 1 ? r.total : (tf.mul(r.total, w) as tf.Scalar);
          total = total ? (tf.add(total, term) as tf.Scalar) : term;
        });
        return { total: total ?? tf.scalar(0), parts } as unknown as tf.TensorContainer;
      }) as unknown as LossOutput;
    },
    release(prepared: unknown[]) {
      terms.forEach((t, i) => t.objective.release?.(prepared[i]));
      tf.dispose(owned.get(prepared) ?? []);
      owned.delete(prepared);
    },
    parameters() {
      const seen = new Set<tf.Variable>();
      const out: NamedParameter[] = [];
      for (const t of terms) {
        for (const p of t.objective.parameters()) {
          if (seen.has(p.variable)) continue;
          seen.add(p.variable);
          out.push(p);
        }
      }
      return out;
    },
  };
}

/** Prefixes parameter names (`vision_encoder.` + key), as the official stage-2 model nests its towers. */
export function prefixed(prefix: string, params: NamedParameter[]): NamedParameter[] {
  return params.map((p) => ({ name: prefix + p.name, variable: p.variable }));
}

/** The tensors among an object's own values (one level deep). */
function tensorsIn(x: unknown): tf.Tensor[] {
  if (x instanceof tf.Tensor) return [x];
  if (!x || typeof x !== 'object') return [];
  return Object.values(x as Record<string, unknown>).filter((v): v is tf.Tensor => v instanceof tf.Tensor);
}

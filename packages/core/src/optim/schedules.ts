/** A learning rate as a function of the 0-based optimizer step. */
export type Schedule = (step: number) => number;

/**
 * Linear warm-up then cosine decay, per step, as the official stage-1 scheduler (`cosine_scheduler` of
 * single_modality/utils.py): warm-up from `warmupStart` (0 officially) to `base` over `warmupSteps`, then
 * `final + ½(base − final)(1 + cos(π·i/(total − warmup)))`.
 */
export function warmupCosine(o: { base: number; final: number; totalSteps: number; warmupSteps: number; warmupStart?: number }): Schedule {
  const start = o.warmupStart ?? 0;
  const decaySteps = Math.max(1, o.totalSteps - o.warmupSteps);
  return (step) => {
    if (step < o.warmupSteps) return start + ((o.base - start) * step) / Math.max(1, o.warmupSteps - 1);
    const i = Math.min(step - o.warmupSteps, decaySteps);
    return o.final + 0.5 * (o.base - o.final) * (1 + Math.cos((Math.PI * i) / decaySteps));
  };
}

/**
 * The official stage-2 schedule (LambdaLR, multi_modality/utils/scheduler.py, "cosine"): factor
 * max(minLrMulti, step/warmup) during warm-up, then max(minLrMulti, ½(1 + cos(π·progress))), times `base`.
 */
export function lambdaCosine(o: { base: number; totalSteps: number; warmupSteps: number; minLrMulti?: number }): Schedule {
  const floor = o.minLrMulti ?? 0.01;
  return (step) => {
    if (step < o.warmupSteps) return o.base * Math.max(floor, step / Math.max(1, o.warmupSteps));
    const progress = (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps);
    return o.base * Math.max(floor, 0.5 * (1 + Math.cos(Math.PI * progress)));
  };
}

export function constant(lr: number): Schedule {
  return () => lr;
}

/** lr·gamma^⌊step/stepSize⌋ (torch StepLR). */
export function stepDecay(lr: number, stepSize: number, gamma: number): Schedule {
  return (step) => lr * gamma ** Math.floor(step / stepSize);
}

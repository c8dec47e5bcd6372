import type { RngState } from '../random/rng.js';
import { SafetensorsReader, saveSafetensors } from '../checkpoint/safetensors.js';
import { CheckpointFormatError } from '../checkpoint/errors.js';
import type { HostTensor } from '../checkpoint/types.js';
import type { AdamWState } from './adamw.js';

export interface TrainingState {
  /** Optimizer steps taken (the schedule position). */
  step: number;
  optimizer: AdamWState;
  rng: RngState;
  /** Anything else a trainer wants back (epoch, data position, …), JSON-serialisable. */
  extra?: Record<string, unknown>;
}

/**
 * Writes the optimizer moments as tensors (`optimizer.m.<param>`, `optimizer.v.<param>`) and the rest as JSON
 * metadata, atomically, so that a resumed run continues exactly where this one stopped.
 */
export async function saveTrainingState(path: string, s: TrainingState): Promise<void> {
  const tensors = new Map<string, HostTensor>();
  for (const [name, { m, v }] of s.optimizer.moments) {
    tensors.set(`optimizer.m.${name}`, m);
    tensors.set(`optimizer.v.${name}`, v);
  }
  const meta = {
    iv2_training_state: JSON.stringify({
      step: s.step,
      optimizer: { step: s.optimizer.step, lr: s.optimizer.lr, betas: s.optimizer.betas, eps: s.optimizer.eps },
      rng: s.rng,
      extra: s.extra ?? {},
    }),
  };
  await saveSafetensors(
    path,
    [...tensors.entries()].map(([k, t]) => [k, { dtype: 'F32', shape: t.shape }]),
    (k) => tensors.get(k)!,
    meta,
  );
}

export async function loadTrainingState(path: string): Promise<TrainingState> {
  const r = await SafetensorsReader.open(path);
  try {
    const raw = r.metadata.iv2_training_state;
    if (!raw) throw new CheckpointFormatError('no iv2_training_state metadata: not a training-state file', path);
    const j = JSON.parse(raw);
    const moments = new Map<string, { m: HostTensor; v: HostTensor }>();
    for (const k of r.keys()) {
      const m = /^optimizer\.m\.(.+)$/.exec(k);
      if (m) moments.set(m[1], { m: await r.get(k), v: await r.get(`optimizer.v.${m[1]}`) });
    }
    return { step: j.step, optimizer: { ...j.optimizer, moments }, rng: j.rng, extra: j.extra };
  } finally {
    await r.close();
  }
}

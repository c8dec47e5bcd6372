// Generation with the KV cache, as transformers' `generate` (greedy and sample) with `prepare_inputs_for_generation`
// of modeling_llama.py / modeling_mistral.py: the prompt runs once, then one token per step; positions come from
// the attention mask (cumsum − 1, 1 on pads), so left-padded batches line up.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@iv2/core';
import { DEFAULT_GENERATION_CONFIG, type GenerationConfig } from './generation_config.js';
import { GenerationError } from './errors.js';
import { KVCache } from './kv_cache.js';
import { applyRepetitionPenalty, applyTemperature, applyTopK, applyTopP, argmax, sample } from './logits_process.js';
import type { LlamaForCausalLM } from './modeling_llama.js';

export interface GenerateInputs {
  /** Prompt ids `[B, N]` (left-padded for batches). */
  inputIds?: number[][] | tf.Tensor2D;
  /** Or the prompt as embeddings `[B, N, hidden]` (then only new tokens count for the repetition penalty). */
  inputsEmbeds?: tf.Tensor3D;
  /** `[B, N]`, 1 = real token; defaults to all ones. */
  attentionMask?: number[][] | tf.Tensor2D;
}

export interface GenerateOptions extends Partial<GenerationConfig> {
  /** Seeds the sampler (default 0); or pass `rng`. */
  seed?: number;
  rng?: Rng;
  /** Turns ids into text for `stopStrings` and for `GenerationStep.text`. */
  decode?: (ids: number[]) => string;
  /** Keeps each step's raw logits `[B, V]` (before the processors) in the result. */
  returnStepLogits?: boolean;
  /** Aborts between steps. */
  signal?: AbortSignal;
  /** KV-cache storage grows this many columns at a time (0: exactly one per token). Default 64. */
  cacheBlock?: number;
}

export interface GenerationStep {
  step: number;
  /** The token each row took this step (pad for rows already finished). */
  tokens: number[];
  /** Rows that have finished, this step included. */
  finished: boolean[];
  /** Decoded text of each row's new tokens so far (when `decode` was given). */
  text?: string[];
  /** Bytes the KV cache holds after this step (it grows a block of columns at a time). */
  cacheBytes: number;
}

export interface GenerationResult {
  /** Each row's new tokens, up to and including its end-of-sequence token or stop string. */
  sequences: number[][];
  /** Why each row stopped. */
  stoppedBy: Array<'eos' | 'stop_string' | 'max_new_tokens' | 'aborted'>;
  stepLogits?: Float32Array[];
  text?: string[];
}

async function hostRows(x: number[][] | tf.Tensor2D | undefined): Promise<number[][] | undefined> {
  if (!x || Array.isArray(x)) return x;
  const d = await x.data();
  const [b, n] = x.shape;
  return Array.from({ length: b }, (_, i) => Array.from(d.subarray(i * n, (i + 1) * n), Number));
}

/**
 * Streams generated tokens step by step. The async iterator's return value is the {@link GenerationResult}; use
 * {@link generate} to just get it. Every tensor a step creates is released before the next one.
 */
export async function* streamGenerate(
  lm: LlamaForCausalLM,
  inputs: GenerateInputs,
  options: GenerateOptions = {},
): AsyncGenerator<GenerationStep, GenerationResult> {
  const cfg: GenerationConfig = { ...DEFAULT_GENERATION_CONFIG, ...stripUndefined(options) };
  if (!!inputs.inputIds === !!inputs.inputsEmbeds) throw new GenerationError('pass exactly one of inputIds and inputsEmbeds', 'inputs');
  if (cfg.stopStrings.length && !options.decode) throw new GenerationError('stop strings need a decode function (a tokenizer)', 'stopStrings');
  if (!(cfg.temperature > 0)) throw new GenerationError(`${cfg.temperature} is not positive`, 'temperature');
  if (!(cfg.topP > 0 && cfg.topP <= 1)) throw new GenerationError(`${cfg.topP} is not in (0, 1]`, 'topP');
  if (!(cfg.repetitionPenalty > 0)) throw new GenerationError(`${cfg.repetitionPenalty} is not positive`, 'repetitionPenalty');
  const ids = await hostRows(inputs.inputIds);
  const [b, n] = ids ? [ids.length, ids[0]?.length ?? 0] : inputs.inputsEmbeds!.shape;
  if (n === 0) throw new GenerationError('the prompt is empty', 'inputs');
  if (ids && ids.some((r) => r.length !== n)) throw new GenerationError('prompt rows have different lengths (pad them)', 'inputIds');
  // A private copy: it grows by one column per step.
  const mask = (await hostRows(inputs.attentionMask))?.map((r) => [...r]) ?? Array.from({ length: b }, () => new Array(n).fill(1));
  if (mask.length !== b || mask.some((r) => r.length !== n)) throw new GenerationError(`should be [${b}, ${n}]`, 'attentionMask');
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  const pad = cfg.padTokenId ?? cfg.eosTokenId[0] ?? 0;
  const eos = new Set(cfg.eosTokenId);
  // The penalty looks at every id of the sequence, pads included, as HF's does.
  const seen = ids ? ids.map((r) => [...r]) : Array.from({ length: b }, () => [] as number[]);
  const sequences = Array.from({ length: b }, () => [] as number[]);
  const stoppedBy: GenerationResult['stoppedBy'] = new Array(b).fill('max_new_tokens');
  const finished = new Array(b).fill(false);
  const stepLogits: Float32Array[] = [];
  const cache = new KVCache(lm.config.numHiddenLayers, options.cacheBlock ?? 64);
  let next: number[] | null = null;
  try {
    for (let step = 0; step < cfg.maxNewTokens; step++) {
      if (options.signal?.aborted) {
        for (let i = 0; i < b; i++) if (!finished[i]) stoppedBy[i] = 'aborted';
        break;
      }
      // Positions: cumsum(mask) − 1, 1 on pads; after the prompt only the new column.
      const cols = mask[0].length;
      const newCols = step === 0 ? n : 1;
      const pos = mask.map((r) => {
        let c = 0;
        return r.map((m) => (m > 0 ? c++ : 1)).slice(cols - newCols);
      });
      // The mask at the cache's storage width (zeros after the filled columns): the same shape for a whole block.
      const width = cache.reserve(newCols);
      const wide = mask.map((r) => (r.length < width ? r.concat(new Array(width - r.length).fill(0)) : r));
      const logits = tf.tidy(() => {
        const out = lm.forward({
          inputIds: step === 0 ? (ids ? tf.tensor2d(ids, [b, n], 'int32') : undefined) : tf.tensor2d(next!.map((t) => [t]), [b, 1], 'int32'),
          inputsEmbeds: step === 0 ? inputs.inputsEmbeds : undefined,
          attentionMask: tf.tensor2d(wide, [b, width], 'int32'),
          positionIds: tf.tensor2d(pos, [b, newCols], 'int32'),
          cache,
          lastN: 1,
        });
        return tf.reshape(out.logits, [b, -1]);
      });
      const raw = (await logits.data()) as Float32Array;
      logits.dispose();
      if (options.returnStepLogits) stepLogits.push(Float32Array.from(raw));
      const v = raw.length / b;
      next = [];
      for (let i = 0; i < b; i++) {
        if (finished[i]) {
          next.push(pad);
          continue;
        }
        const s = raw.slice(i * v, (i + 1) * v);
        applyRepetitionPenalty(s, seen[i], cfg.repetitionPenalty);
        let tok: number;
        if (cfg.doSample) {
          applyTemperature(s, cfg.temperature);
          applyTopK(s, cfg.topK);
          applyTopP(s, cfg.topP);
          tok = sample(s, rng);
        } else tok = argmax(s);
        next.push(tok);
        sequences[i].push(tok);
        seen[i].push(tok);
        if (eos.has(tok)) {
          finished[i] = true;
          stoppedBy[i] = 'eos';
        }
      }
      let text: string[] | undefined;
      if (options.decode) {
        text = sequences.map((s) => options.decode!(s));
        for (let i = 0; i < b; i++) {
          if (!finished[i] && cfg.stopStrings.some((ss) => text![i].includes(ss))) {
            finished[i] = true;
            stoppedBy[i] = 'stop_string';
          }
        }
      }
      for (const r of mask) r.push(1);
      yield { step, tokens: [...next], finished: [...finished], text, cacheBytes: cache.bytes };
      if (finished.every(Boolean)) break;
    }
  } finally {
    cache.dispose();
  }
  return {
    sequences,
    stoppedBy,
    stepLogits: options.returnStepLogits ? stepLogits : undefined,
    text: options.decode ? sequences.map((s) => options.decode!(s)) : undefined,
  };
}

/** Runs {@link streamGenerate} to the end. */
export async function generate(lm: LlamaForCausalLM, inputs: GenerateInputs, options: GenerateOptions = {}): Promise<GenerationResult> {
  const it = streamGenerate(lm, inputs, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

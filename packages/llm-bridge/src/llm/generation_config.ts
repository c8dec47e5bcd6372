// generation_config.json as a typed record (transformers GenerationConfig field names and defaults).
import { eosList } from './configuration.js';
import { LlmConfigError } from './errors.js';

export interface GenerationConfig {
  /** Upper bound on generated tokens. */
  maxNewTokens: number;
  /** false: greedy (argmax after the logits processors). */
  doSample: boolean;
  temperature: number;
  /** 0 disables. */
  topK: number;
  /** 1 disables. */
  topP: number;
  /** 1 disables; HF's CTRL-style penalty over the prompt ids and the generated ids. */
  repetitionPenalty: number;
  /** A row stops after emitting any of these. */
  eosTokenId: number[];
  /** Fed to finished rows while others go on. */
  padTokenId: number | null;
  /** A row stops once its decoded text contains one of these (needs a tokenizer). */
  stopStrings: string[];
}

export const DEFAULT_GENERATION_CONFIG: GenerationConfig = {
  maxNewTokens: 20,
  doSample: false,
  temperature: 1,
  topK: 50,
  topP: 1,
  repetitionPenalty: 1,
  eosTokenId: [],
  padTokenId: null,
  stopStrings: [],
};

const asList = (v: number | number[] | null): number[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

/** Reads `generation_config.json` (fields absent there keep the defaults). */
export function parseGenerationConfig(json: Record<string, unknown>, file = 'generation_config.json'): Partial<GenerationConfig> {
  const out: Partial<GenerationConfig> = {};
  const num = (name: string, check: (v: number) => boolean, why: string): number | undefined => {
    const v = json[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !check(v)) throw new LlmConfigError(`${JSON.stringify(v)} ${why}`, file, name);
    return v;
  };
  const set = <K extends keyof GenerationConfig>(k: K, v: GenerationConfig[K] | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  set('maxNewTokens', num('max_new_tokens', (v) => Number.isInteger(v) && v >= 0, 'is not a count'));
  set('temperature', num('temperature', (v) => v > 0, 'is not positive'));
  set('topK', num('top_k', (v) => Number.isInteger(v) && v >= 0, 'is not a count'));
  set('topP', num('top_p', (v) => v > 0 && v <= 1, 'is not in (0, 1]'));
  set('repetitionPenalty', num('repetition_penalty', (v) => v > 0, 'is not positive'));
  if (json.do_sample !== undefined) {
    if (typeof json.do_sample !== 'boolean') throw new LlmConfigError('expected a boolean', file, 'do_sample');
    out.doSample = json.do_sample;
  }
  const eos = eosList(json, file);
  if (eos != null) out.eosTokenId = asList(eos);
  if (json.pad_token_id != null) {
    if (!Number.isInteger(json.pad_token_id)) throw new LlmConfigError('expected a token id', file, 'pad_token_id');
    out.padTokenId = json.pad_token_id as number;
  }
  if (json.stop_strings != null) {
    const s = json.stop_strings;
    const list = typeof s === 'string' ? [s] : s;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) throw new LlmConfigError('expected strings', file, 'stop_strings');
    out.stopStrings = list;
  }
  return out;
}

export { asList as tokenIdList };

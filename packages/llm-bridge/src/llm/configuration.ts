// Typed config records for the decoders, read from a Hugging Face `config.json` with the defaults of
// transformers v4.40.1 (configuration_llama.py, configuration_mistral.py, configuration_qwen2.py).
import { LlmConfigError } from './errors.js';

export type DecoderModelType = 'llama' | 'mistral' | 'qwen2';

export interface DecoderConfig {
  modelType: DecoderModelType;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** Grouped-query attention: each k/v head serves numAttentionHeads / numKeyValueHeads consecutive query heads. */
  numKeyValueHeads: number;
  headDim: number;
  hiddenAct: 'silu';
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  ropeTheta: number;
  tieWordEmbeddings: boolean;
  /** Biases on q/k/v (Qwen2; LLaMA's `attention_bias` adds them to o too). */
  qkvBias: boolean;
  oBias: boolean;
  /** Mistral: a query at column i sees key columns i − w … i (inclusive, w + 1 keys). null = no window. */
  slidingWindow: number | null;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  padTokenId: number | null;
}

type Json = Record<string, unknown>;

function field<T>(json: Json, file: string, name: string, kind: 'number' | 'boolean' | 'int', dflt: T): number | boolean | T {
  const v = json[name];
  if (v === undefined || v === null) return dflt;
  if (kind === 'boolean') {
    if (typeof v !== 'boolean') throw new LlmConfigError(`expected a boolean, got ${JSON.stringify(v)}`, file, name);
    return v;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new LlmConfigError(`expected a number, got ${JSON.stringify(v)}`, file, name);
  if (kind === 'int' && (!Number.isInteger(v) || v <= 0)) throw new LlmConfigError(`expected a positive integer, got ${v}`, file, name);
  return v;
}

function tokenId(json: Json, file: string, name: string, dflt: number | null): number | null {
  const v = json[name];
  if (v === undefined || v === null) return dflt;
  if (!Number.isInteger(v)) throw new LlmConfigError(`expected a token id, got ${JSON.stringify(v)}`, file, name);
  return v as number;
}

export function eosList(json: Json, file: string, name = 'eos_token_id'): number | number[] | null {
  const v = json[name];
  if (v === undefined || v === null) return null;
  if (Number.isInteger(v)) return v as number;
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return v as number[];
  throw new LlmConfigError(`expected a token id or a list of them, got ${JSON.stringify(v)}`, file, name);
}

const DEFAULTS: Record<DecoderModelType, Partial<DecoderConfig>> = {
  llama: {
    vocabSize: 32000, hiddenSize: 4096, intermediateSize: 11008, numHiddenLayers: 32, numAttentionHeads: 32,
    maxPositionEmbeddings: 2048, rmsNormEps: 1e-6, ropeTheta: 10000, slidingWindow: null, bosTokenId: 1, eosTokenId: 2,
  },
  mistral: {
    vocabSize: 32000, hiddenSize: 4096, intermediateSize: 14336, numHiddenLayers: 32, numAttentionHeads: 32,
    numKeyValueHeads: 8, maxPositionEmbeddings: 4096 * 32, rmsNormEps: 1e-6, ropeTheta: 10000, slidingWindow: 4096,
    bosTokenId: 1, eosTokenId: 2,
  },
  qwen2: {
    vocabSize: 151936, hiddenSize: 4096, intermediateSize: 22016, numHiddenLayers: 32, numAttentionHeads: 32,
    numKeyValueHeads: 32, maxPositionEmbeddings: 32768, rmsNormEps: 1e-6, ropeTheta: 10000, slidingWindow: 4096,
    bosTokenId: null, eosTokenId: null,
  },
};

/** Reads a Hugging Face `config.json` object; `model_type` picks the architecture (`llama`, `mistral`, `qwen2`). */
export function parseDecoderConfig(json: Json, file = 'config.json', fallbackType?: DecoderModelType): DecoderConfig {
  const mt = (json.model_type ?? fallbackType) as string | undefined;
  if (mt !== 'llama' && mt !== 'mistral' && mt !== 'qwen2') {
    throw new LlmConfigError(`model_type ${JSON.stringify(mt)} is not one of llama, mistral, qwen2`, file, 'model_type');
  }
  const d = DEFAULTS[mt];
  const num = (name: string, dflt: number | undefined, kind: 'int' | 'number' = 'int') => {
    const v = field(json, file, name, kind, dflt);
    if (v === undefined) throw new LlmConfigError('required field is missing', file, name);
    return v as number;
  };
  const heads = num('num_attention_heads', d.numAttentionHeads);
  const hidden = num('hidden_size', d.hiddenSize);
  const kv = num('num_key_value_heads', d.numKeyValueHeads ?? heads);
  if (heads % kv !== 0) throw new LlmConfigError(`num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kv}`, file, 'num_key_value_heads');
  const headDim = num('head_dim', Math.floor(hidden / heads));
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu') throw new LlmConfigError(`hidden_act ${JSON.stringify(act)} is not supported (silu only)`, file, 'hidden_act');
  if (json.rope_scaling != null) throw new LlmConfigError('RoPE scaling is not supported', file, 'rope_scaling');
  let slidingWindow: number | null = null;
  if (mt === 'mistral') slidingWindow = json.sliding_window === null ? null : num('sliding_window', d.slidingWindow ?? undefined);
  // Qwen2 windows attention only when `use_sliding_window` is set.
  if (mt === 'qwen2' && json.use_sliding_window === true) slidingWindow = num('sliding_window', d.slidingWindow ?? undefined);
  const attentionBias = field(json, file, 'attention_bias', 'boolean', false) as boolean;
  return {
    modelType: mt,
    vocabSize: num('vocab_size', d.vocabSize),
    hiddenSize: hidden,
    intermediateSize: num('intermediate_size', d.intermediateSize),
    numHiddenLayers: num('num_hidden_layers', d.numHiddenLayers),
    numAttentionHeads: heads,
    numKeyValueHeads: kv,
    headDim,
    hiddenAct: 'silu',
    maxPositionEmbeddings: num('max_position_embeddings', d.maxPositionEmbeddings),
    rmsNormEps: num('rms_norm_eps', d.rmsNormEps, 'number'),
    ropeTheta: num('rope_theta', d.ropeTheta, 'number'),
    tieWordEmbeddings: field(json, file, 'tie_word_embeddings', 'boolean', false) as boolean,
    qkvBias: mt === 'qwen2' || attentionBias,
    oBias: mt === 'llama' && attentionBias,
    slidingWindow,
    bosTokenId: tokenId(json, file, 'bos_token_id', d.bosTokenId ?? null),
    eosTokenId: eosList(json, file) ?? d.eosTokenId ?? null,
    padTokenId: tokenId(json, file, 'pad_token_id', null),
  };
}

/** A config from a few fields (the rest take the model type's defaults). */
export function decoderConfig(modelType: DecoderModelType, fields: Json): DecoderConfig {
  return parseDecoderConfig({ ...fields, model_type: modelType }, '<config>');
}

/** Parameter count of the decoder (float32 bytes = 4×), without building it. */
export function decoderParameterCount(c: DecoderConfig): number {
  const d = c.hiddenSize;
  const q = c.numAttentionHeads * c.headDim;
  const kv = c.numKeyValueHeads * c.headDim;
  const attn = d * q + 2 * d * kv + q * d + (c.qkvBias ? q + 2 * kv : 0) + (c.oBias ? d : 0);
  const mlp = 3 * d * c.intermediateSize;
  const layer = attn + mlp + 2 * d;
  return c.vocabSize * d * (c.tieWordEmbeddings ? 1 : 2) + c.numHiddenLayers * layer + d;
}

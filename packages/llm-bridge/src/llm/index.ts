export * from './errors.js';
export * from './configuration.js';
export { RotaryEmbedding, rotateHalf, applyRotary } from './rotary.js';
export { causalMask4d, FLOAT32_MIN } from './attention_mask.js';
export { KVCache } from './kv_cache.js';
export * from './modeling_llama.js';
export { causalLmLoss, IGNORE_INDEX } from './loss.js';
export * from './generation_config.js';
export * from './logits_process.js';
export * from './generation.js';
export { MistralForCausalLM } from './modeling_mistral.js';
export { Qwen2ForCausalLM } from './modeling_qwen2.js';
export * from './from_pretrained.js';
export { DECODER_PRESETS, decoderPreset } from './presets.js';

import { loadCausalLM } from './from_pretrained.js';
/** transformers' `AutoModelForCausalLM.from_pretrained(dir)`: the class `config.json`'s `model_type` names. */
export const AutoModelForCausalLM = { fromPretrained: loadCausalLM };

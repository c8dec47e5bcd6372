// modeling_mistral.py (transformers v4.40.1): LLaMA's layers with grouped-query attention and the inclusive
// sliding window (config.slidingWindow; null as in Mistral-7B-Instruct-v0.2). Same keys as LLaMA.
import { defaultRng, type Rng } from '@iv2/core';
import { decoderConfig, type DecoderConfig } from './configuration.js';
import { LlamaForCausalLM } from './modeling_llama.js';

export class MistralForCausalLM extends LlamaForCausalLM {
  constructor(config: DecoderConfig = decoderConfig('mistral', {}), rng: Rng = defaultRng()) {
    super(config, rng);
  }
}

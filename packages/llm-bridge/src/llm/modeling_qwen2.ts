// modeling_qwen2.py: the Mistral layout with biases on q/k/v (not o); small checkpoints tie lm_head to the
// embeddings. The window applies only with `use_sliding_window`.
import { defaultRng, type Rng } from '@iv2/core';
import { decoderConfig, type DecoderConfig } from './configuration.js';
import { LlamaForCausalLM } from './modeling_llama.js';

export class Qwen2ForCausalLM extends LlamaForCausalLM {
  constructor(config: DecoderConfig = decoderConfig('qwen2', {}), rng: Rng = defaultRng()) {
    super(config, rng);
  }
}

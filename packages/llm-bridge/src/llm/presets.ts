// config.json of released checkpoints, keyed by their Hub names: `decoderPreset(name)` builds the typed config
// without the files (parameter counts, memory planning, random-weight benchmarks).
import { parseDecoderConfig, type DecoderConfig } from './configuration.js';
import { LlmConfigError } from './errors.js';

export const DECODER_PRESETS: Record<string, Record<string, unknown>> = {
  // The LLM of VideoChat2's Mistral stage and of InternVideo2-Chat-8B.
  'mistralai/Mistral-7B-Instruct-v0.2': {
    model_type: 'mistral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 32768, rms_norm_eps: 1e-5,
    rope_theta: 1000000.0, sliding_window: null, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
  },
  'mistralai/Mistral-7B-Instruct-v0.1': {
    model_type: 'mistral', vocab_size: 32000, hidden_size: 4096, intermediate_size: 14336, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 8, max_position_embeddings: 32768, rms_norm_eps: 1e-5,
    rope_theta: 10000.0, sliding_window: 4096, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
  },
  // VideoChat2's Vicuna stage (LLaMA-1 7B layout).
  'lmsys/vicuna-7b-v1.5': {
    model_type: 'llama', vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
    num_attention_heads: 32, num_key_value_heads: 32, max_position_embeddings: 4096, rms_norm_eps: 1e-5,
    tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
  },
  'Qwen/Qwen2-7B-Instruct': {
    model_type: 'qwen2', vocab_size: 152064, hidden_size: 3584, intermediate_size: 18944, num_hidden_layers: 28,
    num_attention_heads: 28, num_key_value_heads: 4, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000.0, sliding_window: 131072, use_sliding_window: false, max_window_layers: 28,
    tie_word_embeddings: false, bos_token_id: 151643, eos_token_id: 151645,
  },
  'Qwen/Qwen2-0.5B-Instruct': {
    model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
    num_attention_heads: 14, num_key_value_heads: 2, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
    rope_theta: 1000000.0, sliding_window: 131072, use_sliding_window: false, max_window_layers: 21,
    tie_word_embeddings: true, bos_token_id: 151643, eos_token_id: 151645,
  },
};

export function decoderPreset(name: string): DecoderConfig {
  const p = DECODER_PRESETS[name];
  if (!p) throw new LlmConfigError(`unknown preset; known: ${Object.keys(DECODER_PRESETS).join(', ')}`, '<presets>', name);
  return parseDecoderConfig(p, name);
}

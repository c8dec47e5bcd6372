import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadStateDict, openCheckpoint, Rng } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import {
  createCausalLM,
  type DecoderConfig,
  HfTokenizer,
  type LlamaForCausalLM,
  loadCausalLM,
  loraConfig,
  parseDecoderConfig,
  VideoChat2ItMistral,
} from '@iv2/llm-bridge';
import type { TrainConfig } from '../config/schema.js';
import type { DemoData } from '../demo/data.js';
import { Stage3Task, stage3Tokenizer } from '../demo/stage3.js';
import { TrainSetupError } from './build.js';

/**
 * Stage 3 from a config (`VideoChat2_it_mistral` / `_llama`): the vision encoder given, a Q-Former and projector,
 * the decoder from a Hugging Face folder (`llm.model_path`) or built from `llm.config` with a tokenizer (a folder or
 * tokenizer.json under `llm.tokenizer`, else a word-level one built from the training conversations), frozen and
 * adapted with LoRA (`use_lora`, `lora_r`, …); `pretrained_path` continues from a stage-3 checkpoint.
 */
export async function buildStage3Task(c: TrainConfig, vision: InternVideo2, data: DemoData): Promise<Stage3Task> {
  const m = c.model;
  const l = m.llm!;
  if (m.qformer_text_input) {
    throw new TrainSetupError('model.qformer_text_input', 'iv2 train runs the InternVideo2-Chat setting, without the instruction in the Q-Former (allowed: false)');
  }
  if (!data.train.qa.length) throw new TrainSetupError('data.train', 'stage3 needs instruction data (format: instruction, {video, QA: [{i, q, a}]})');
  let lm: LlamaForCausalLM;
  let llmConfig: DecoderConfig;
  let tokenizer: HfTokenizer;
  let tokenizerFiles: { json: Record<string, unknown>; config: Record<string, unknown> } | undefined;
  let generationConfig = {};
  if (l.model_path) {
    if (!existsSync(join(l.model_path, 'config.json'))) throw new TrainSetupError('model.llm.model_path', `${l.model_path}: not a Hugging Face model folder (config.json, *.safetensors, tokenizer.json)`);
    const p = await loadCausalLM(l.model_path);
    [lm, llmConfig, generationConfig] = [p.model, p.config, p.generationConfig];
    const tdir = l.tokenizer ?? l.model_path;
    tokenizer = await HfTokenizer.fromPretrained(tdir);
    // copied beside the trained decoder, so the run folder alone is what iv2 chat needs
    const read = (f: string) => (existsSync(join(tdir, f)) ? JSON.parse(readFileSync(join(tdir, f), 'utf8')) : undefined);
    if (read('tokenizer.json')) tokenizerFiles = { json: read('tokenizer.json'), config: read('tokenizer_config.json') ?? {} };
  } else {
    if (!l.config) throw new TrainSetupError('model.llm', 'give model_path (a Hugging Face folder) or config (config.json fields)');
    if (l.tokenizer) {
      const dir = existsSync(l.tokenizer) && statSync(l.tokenizer).isDirectory() ? l.tokenizer : dirname(l.tokenizer);
      if (!existsSync(join(dir, 'tokenizer.json'))) throw new TrainSetupError('model.llm.tokenizer', `${l.tokenizer}: no tokenizer.json there`);
      tokenizer = await HfTokenizer.fromPretrained(dir);
      tokenizerFiles = { json: JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), config: existsSync(join(dir, 'tokenizer_config.json')) ? JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) : {} };
    } else {
      const w = stage3Tokenizer(data, m.system);
      [tokenizer, tokenizerFiles] = [w.tokenizer, { json: w.json, config: w.config }];
    }
    llmConfig = parseDecoderConfig({ bos_token_id: 1, eos_token_id: 2, vocab_size: vocabSizeOf(tokenizerFiles!.json), ...l.config }, 'model.llm.config');
    lm = createCausalLM(llmConfig, new Rng(c.seed + 3));
  }
  const model = new VideoChat2ItMistral({
    qformer: {
      hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, cross_attention_freq: 2,
      ...m.qformer,
      encoder_width: vision.config.embed_dim, num_query_token: m.num_query_token, extra_num_query_token: m.extra_num_query_token, qformer_text_input: false,
    },
    llm: llmConfig,
    decoder: lm,
    lora: m.use_lora ? loraConfig({ r: m.lora_r, loraAlpha: m.lora_alpha, loraDropout: m.lora_dropout, targetModules: m.lora_target_modules }) : null,
    maxTxtLen: m.max_txt_len,
    freezeVit: m.freeze_vit,
    freezeQformer: m.freeze_qformer,
    tokenizer,
    visionEncoder: vision,
    visionReturnLayer: m.vision_return_layer,
    startToken: m.start_token,
    endToken: m.end_token,
    generationConfig,
    seed: c.seed + 3,
  });
  if (!m.use_lora) lm.freeze();
  if (m.pretrained_path) {
    // a stage-3 checkpoint under the official keys (e.g. a previous run's model.safetensors): everything it has
    const src = await openCheckpoint(m.pretrained_path);
    try {
      await loadStateDict(model, src, { strict: false, sourceName: m.pretrained_path });
    } finally {
      await src.close();
    }
  }
  return new Stage3Task(model, data, { batchSize: c.data.batch_size, seed: c.seed, llmConfig, tokenizerFiles, system: m.system });
}

/** One more than the largest id of a tokenizer.json (its model vocabulary and added tokens). */
function vocabSizeOf(json: Record<string, unknown>): number {
  const vocab = ((json.model as { vocab?: Record<string, number> } | undefined)?.vocab ?? {}) as Record<string, number>;
  const added = ((json.added_tokens as Array<{ id: number }> | undefined) ?? []).map((t) => t.id);
  return Math.max(-1, ...Object.values(vocab), ...added) + 1;
}

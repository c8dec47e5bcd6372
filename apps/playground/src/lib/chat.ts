import * as tf from '@tensorflow/tfjs-core';
import { blobReader, type Frames, loadStateDict, openCheckpoint, Rng, SafetensorsReader, type TensorSource } from '@iv2/core';
import { type InternVideo2, InternVideo2 as IV2, parseConfig, preprocessFrames, type InternVideo2Config, VideoEncoder } from '@iv2/encoder';
import {
  createCausalLM, decoderConfig, HfTokenizer, inferQFormerConfig, loadDecoderWeights, loraConfig, type LoraConfig, parseDecoderConfig,
  parseGenerationConfig, parseLoraConfig, PeftModelForCausalLM, VIDEOCHAT2_TARGET_MODULES, VideoChat2ItMistral,
} from '@iv2/llm-bridge';
import { SYNTHETIC_QA_CORPUS } from './chat_corpus.js';
import { smallMistralTokenizer } from './chat_tokenizer.js';

/** Files of a stage-3 model picked in the page: the LLM folder, the Q-Former + projector checkpoint, a LoRA adapter folder. */
export interface ChatFiles {
  llm: Record<string, Blob>;
  stage3: Blob;
  adapter?: Record<string, Blob>;
  /** Frames per clip of the vision encoder when its position table allows several (VideoChat2: 8 or 16). */
  numFrames?: number;
  /** The vision encoder's sizes: a preset of @iv2/encoder (`PRESETS`) or the official constructor arguments. */
  visionPreset?: string;
  visionConfig?: Record<string, unknown>;
}

/** A stage-3 file set that cannot be used: names the file and what is wrong. */
export class ChatFilesError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ChatFilesError';
  }
}

export interface ChatSession {
  model: VideoChat2ItMistral;
  describe(): string;
  /** Streams the greedy answer about `frames` (the model's `num_frames`, any size); returns it whole. */
  ask(frames: Frames, question: string, onText?: (t: string) => void, maxNewTokens?: number): Promise<string>;
  dispose(): void;
}

const SYSTEM = 'Watch the video and answer the question.';

function session(model: VideoChat2ItMistral, source: string): ChatSession {
  const vc = model.vision_encoder!.config;
  return {
    model,
    describe: () => {
      const l = model.lm.config;
      return `${source}: vision ${vc.depth}×${vc.embed_dim} → Q-Former ${model.config.num_hidden_layers}×${model.config.hidden_size} (${model.config.num_query_token}+${model.config.extra_num_query_token} queries) → projector → ${l.modelType} ${l.numHiddenLayers}×${l.hiddenSize}${model.mistral_model instanceof PeftModelForCausalLM ? ' with LoRA' : ''}`;
    },
    async ask(frames, question, onText, maxNewTokens = 24) {
      const video = preprocessFrames(frames, { size: vc.img_size });
      const chat = model.startChat({ video }, SYSTEM);
      video.dispose();
      try {
        const it = chat.ask(question, { maxNewTokens });
        for (;;) {
          const r = await it.next();
          if (r.done) return r.value;
          onText?.(r.value.text?.[0] ?? '');
        }
      } finally {
        chat.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

/**
 * The tiny stage-3 model generated in the page: a demo-sized InternVideo2 (tokens of block −2), a two-layer
 * Q-Former with 4 + 4 queries, the projector, and a two-layer Mistral-layout decoder with LoRA on every official
 * target, speaking a vocabulary built from the synthetic QA annotations. Weights are random (seeded).
 */
export async function tinyChatModel(vision: InternVideo2Config, seed: number): Promise<ChatSession> {
  const { tokenizer, json: tj } = smallMistralTokenizer(SYNTHETIC_QA_CORPUS);
  const vocabSize = Object.keys((tj.model as { vocab: object }).vocab).length;
  const llm = decoderConfig('mistral', {
    vocab_size: vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 1e6, sliding_window: null, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2,
  });
  const encoder = new IV2(parseConfig({ ...vision }), new Rng(seed + 5));
  encoder.eval();
  const model = new VideoChat2ItMistral({
    qformer: { vocab_size: 64, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, encoder_width: vision.embed_dim, num_query_token: 4, extra_num_query_token: 4, qformer_text_input: false },
    llm,
    lora: loraConfig({ r: 4, loraAlpha: 8, targetModules: VIDEOCHAT2_TARGET_MODULES }),
    tokenizer,
    visionEncoder: encoder,
    seed,
  });
  model.eval();
  return session(model, `tiny stage-3 model (random, seed ${seed})`);
}

async function json(files: Record<string, Blob>, name: string, where: string, required: true): Promise<Record<string, unknown>>;
async function json(files: Record<string, Blob>, name: string, where: string, required: false): Promise<Record<string, unknown> | null>;
async function json(files: Record<string, Blob>, name: string, where: string, required: boolean) {
  const f = files[name];
  if (!f) {
    if (required) throw new ChatFilesError(`${where}/${name}`, 'missing from the chosen folder');
    return null;
  }
  try {
    return JSON.parse(await f.text());
  } catch (e) {
    throw new ChatFilesError(`${where}/${name}`, `not valid JSON: ${(e as Error).message}`);
  }
}

/** One lazy source over the folder's weights: `model.safetensors`, or the shards a `model.safetensors.index.json` names. */
async function llmWeights(files: Record<string, Blob>): Promise<TensorSource & { close(): Promise<void> }> {
  if (files['model.safetensors']) return SafetensorsReader.open(blobReader(files['model.safetensors'], 'model.safetensors')) as never;
  const index = await json(files, 'model.safetensors.index.json', 'LLM folder', false);
  if (!index) throw new ChatFilesError('LLM folder', 'no model.safetensors or model.safetensors.index.json');
  const map = index.weight_map as Record<string, string>;
  const shards = new Map<string, SafetensorsReader>();
  for (const f of new Set(Object.values(map))) {
    if (!files[f]) throw new ChatFilesError(`LLM folder/${f}`, 'named by model.safetensors.index.json but not chosen');
    shards.set(f, await SafetensorsReader.open(blobReader(files[f], f)));
  }
  const of = (k: string) => shards.get(map[k])!;
  return {
    keys: () => Object.keys(map),
    has: (k: string) => k in map,
    info: (k: string) => of(k).info(k),
    get: (k: string) => of(k).get(k),
    close: async () => {
      for (const s of shards.values()) await s.close?.();
    },
  } as never;
}

/**
 * A stage-3 model from files chosen in the page (each read tensor by tensor): the LLM folder (config.json,
 * generation_config.json, tokenizer.json + tokenizer_config.json, model.safetensors or its shards), a checkpoint
 * with the vision encoder, Q-Former and projector under VideoChat2's keys (sizes read off its shapes), and an
 * optional peft adapter folder (adapter_config.json + adapter_model.safetensors).
 */
export async function loadChatFolder(files: ChatFiles): Promise<ChatSession> {
  const config = parseDecoderConfig(await json(files.llm, 'config.json', 'LLM folder', true), 'config.json');
  const gen = await json(files.llm, 'generation_config.json', 'LLM folder', false);
  const tj = await json(files.llm, 'tokenizer.json', 'LLM folder', true);
  const tokenizer = HfTokenizer.fromJSON(tj, (await json(files.llm, 'tokenizer_config.json', 'LLM folder', false)) ?? {});
  let lora: LoraConfig | null = null;
  if (files.adapter) lora = parseLoraConfig(await json(files.adapter, 'adapter_config.json', 'adapter folder', true), 'adapter_config.json');
  const decoder = createCausalLM(config);
  const w = await llmWeights(files.llm);
  try {
    await loadDecoderWeights(decoder, w, 'LLM folder');
  } finally {
    await w.close();
  }
  const name = (files.stage3 as File).name ?? 'stage-3 checkpoint';
  const src = await openCheckpoint(blobReader(files.stage3, name));
  let model: VideoChat2ItMistral | null = null;
  try {
    if (!src.has('query_tokens')) throw new ChatFilesError(name, 'no query_tokens: not a VideoChat2 stage-3 checkpoint');
    let encoder: VideoEncoder;
    try {
      encoder = await VideoEncoder.fromPretrained(src, {
        keyPrefix: 'vision_encoder.',
        ...(files.visionPreset ? { preset: files.visionPreset } : {}),
        ...(files.visionConfig ? { config: files.visionConfig as never } : {}),
        ...(files.numFrames ? { checkpointNumFrames: files.numFrames } : {}),
      });
    } catch (e) {
      throw new ChatFilesError(name, `vision encoder: ${(e as Error).message.slice(0, 300)}`);
    }
    model = new VideoChat2ItMistral({
      qformer: inferQFormerConfig(src, ''), llm: config, decoder, lora, tokenizer, visionEncoder: encoder.model,
      generationConfig: gen ? parseGenerationConfig(gen, 'generation_config.json') : {},
    });
    const report = await loadStateDict(model, src, { strict: false, rename: (k) => (k.startsWith('vision_encoder.') || k.startsWith('mistral_model.') ? null : k) });
    const missing = report.missing.filter((k) => !k.startsWith('mistral_model.') && !k.startsWith('vision_encoder.'));
    if (missing.length || report.mismatched.length) {
      throw new ChatFilesError(name, `does not fit the model: missing ${missing.slice(0, 5).join(', ')}${report.mismatched.length ? `; shapes differ for ${report.mismatched.slice(0, 5).map((m) => `${m.key} [${m.got}] vs [${m.expected}]`).join(', ')}` : ''}`);
    }
    if (files.adapter) await loadAdapterFiles(model, files.adapter);
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    await src.close();
  }
  model.eval();
  return session(model, `${name} + LLM folder${files.adapter ? ' + LoRA adapter' : ''}`);
}

/** peft's adapter_model.safetensors into the model's LoRA layers (`…lora_A.weight` → `…lora_A.default.weight`). */
async function loadAdapterFiles(model: VideoChat2ItMistral, adapter: Record<string, Blob>): Promise<void> {
  const f = adapter['adapter_model.safetensors'];
  if (!f) throw new ChatFilesError('adapter folder', 'no adapter_model.safetensors');
  const src = await SafetensorsReader.open(blobReader(f, 'adapter_model.safetensors'));
  try {
    const peft = model.mistral_model as PeftModelForCausalLM;
    const slots = new Map(peft.namedParameterInfo().map((s) => [s.name, s]));
    for (const k of src.keys()) {
      const slot = slots.get(k.replace(/(lora_[AB])\.weight$/, '$1.default.weight'));
      if (!slot) throw new ChatFilesError('adapter_model.safetensors', `${k} matches no adapted layer`);
      const t = await src.get(k);
      slot.variable.assign(tf.tidy(() => tf.transpose(tf.tensor(t.data as Float32Array, t.shape, 'float32'))));
    }
  } finally {
    await src.close?.();
  }
}

export type { InternVideo2 };

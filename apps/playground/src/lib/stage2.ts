import * as tf from '@tensorflow/tfjs-core';
import { blobReader, openCheckpoint, Rng, serializeSafetensors, type TensorSource, urlReader } from '@iv2/core';
import { InternVideo2, parseConfig, VideoEncoder } from '@iv2/encoder';
import { type BertTokenizer, InternVideo2Stage2Text, trainBertTokenizer } from '@iv2/llm-bridge';
import { DEMO_ARCH, DEMO_VOCAB_SIZE, type Stage2Arch } from './demo_config.js';
import type { DemoData } from './data.js';

/** A stage-2 model: the vision tower (`vision_encoder.*`), the text tower with its heads, and the tokenizer. */
export interface Stage2Model {
  vision: InternVideo2;
  text: InternVideo2Stage2Text;
  tokenizer: BertTokenizer;
  maxTxtL: number;
  /** Where the weights came from (a file name, a URL, or "random init (seed s)"). */
  source: string;
}

/** The page's preset, used for a checkpoint that comes without a manifest. */
export const DEMO_PRESET = 'playground demo (stage 2)';

/**
 * A checkpoint whose tensors do not fit the sizes it was loaded under (the page's preset, or the manifest that came
 * with it): names the file, what it was checked against, and the tower and keys that differ.
 */
export class PresetMismatchError extends Error {
  constructor(
    readonly file: string,
    readonly preset: string,
    readonly detail: string,
  ) {
    super(`${file} does not match ${preset.endsWith('.json') ? `its manifest ${preset}` : `the preset "${preset}"`}: ${detail}`);
    this.name = 'PresetMismatchError';
  }
}

/** The demo tokenizer: a WordPiece vocabulary learned from the training captions (deterministic for the same data). */
export function demoTokenizer(d: DemoData, vocabSize = DEMO_VOCAB_SIZE): BertTokenizer {
  return trainBertTokenizer(d.train.captions.flat(), { vocabSize, minFrequency: 1 });
}

/** The text tower's configuration for a vocabulary and a vision tower. */
export function textConfig(tokenizer: BertTokenizer, arch: Stage2Arch) {
  const s = arch.text;
  return {
    bert: {
      vocab_size: tokenizer.vocabulary().length, hidden_size: s.hidden, num_hidden_layers: s.layers, num_attention_heads: s.heads,
      intermediate_size: s.intermediate, fusion_layer: s.fusionLayer, encoder_width: arch.vision.embed_dim, max_position_embeddings: Math.max(32, s.maxTxtL),
      ...(s.initializerRange !== undefined ? { initializer_range: s.initializerRange } : {}),
    },
    embed_dim: s.embedDim,
    vision_width: arch.vision.clip_embed_dim,
    temp: 0.07,
  };
}

/**
 * A stage-2 model with fresh weights: the vision tower draws from `rng` (which the training run then keeps using
 * for its masks and negatives), the text tower from seed + 2.
 */
export function createStage2(tokenizer: BertTokenizer, seed: number, arch: Stage2Arch = DEMO_ARCH, rng = new Rng(seed + 1)): Stage2Model {
  const vision = new InternVideo2(parseConfig(arch.vision), rng);
  const text = InternVideo2Stage2Text.create({ config: textConfig(tokenizer, arch), seed: seed + 2 });
  vision.eval();
  text.eval();
  return { vision, text, tokenizer, maxTxtL: arch.text.maxTxtL, source: `random init (seed ${seed})` };
}

/** A checkpoint read tensor by tensor: a File/Blob through slices, a URL through range requests. */
export async function openWeights(source: Blob | string): Promise<TensorSource & { close(): Promise<void> }> {
  const reader = typeof source === 'string' ? await urlReader(source) : blobReader(source, (source as File).name ?? 'checkpoint');
  return openCheckpoint(reader);
}

export function sourceName(source: Blob | string): string {
  return typeof source === 'string' ? source : ((source as File).name ?? 'checkpoint');
}

/**
 * Loads a stage-2 checkpoint (`model.safetensors` as `iv2 train` writes it, or any file with the same keys) under
 * the given sizes and tokenizer. Shapes or keys that differ raise {@link PresetMismatchError} naming `against`
 * (the preset's name or the manifest file).
 */
export async function loadStage2(source: Blob | string, tokenizer: BertTokenizer, arch: Stage2Arch = DEMO_ARCH, against = DEMO_PRESET): Promise<Stage2Model> {
  const name = sourceName(source);
  const src = await openWeights(source);
  try {
    let vision: VideoEncoder;
    let text: InternVideo2Stage2Text;
    try {
      vision = await VideoEncoder.fromPretrained(src, { config: arch.vision, keyPrefix: 'vision_encoder.' });
    } catch (e) {
      throw new PresetMismatchError(name, against, `vision tower: ${(e as Error).message.slice(0, 400)}`);
    }
    try {
      text = await InternVideo2Stage2Text.fromPretrained(src, { config: textConfig(tokenizer, arch) });
    } catch (e) {
      vision.dispose();
      throw new PresetMismatchError(name, against, `text tower: ${(e as Error).message.slice(0, 400)}`);
    }
    vision.model.eval();
    text.eval();
    return { vision: vision.model, text, tokenizer, maxTxtL: arch.text.maxTxtL, source: name };
  } finally {
    await src.close();
  }
}

/** The model as `iv2 train` saves it (`model.safetensors`: `vision_encoder.*` + the text keys, PyTorch layout, F32). */
export async function stage2Safetensors(m: Stage2Model, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const all = new Map<string, { dtype: 'float32' | 'int32'; shape: number[]; data: Float32Array | Int32Array }>();
  for (const [k, t] of await m.vision.stateDict()) all.set(`vision_encoder.${k}`, t as never);
  for (const [k, t] of await m.text.stateDict()) all.set(k, t as never);
  return serializeSafetensors(all as never, { format: 'pt', ...metadata });
}

export function disposeStage2(m: Stage2Model): void {
  m.vision.dispose();
  m.text.dispose();
}

export { tf };

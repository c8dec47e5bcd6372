// A Hugging Face model folder: config.json (model_type picks the class), model.safetensors or a sharded
// model.safetensors.index.json (or pytorch_model.bin), generation_config.json. Weights are read tensor by tensor
// through @iv2/core's readers; float16/bfloat16 are widened to float32 there.
import { loadStateDict, openCheckpoint, StateDictMismatchError, SafetensorsReader, ShardedSafetensors, type LoadReport, type Rng, type StateDictInput, type TensorSource } from '@iv2/core';
import * as tf from '@tensorflow/tfjs-core';
import { decoderParameterCount, parseDecoderConfig, type DecoderConfig } from './configuration.js';
import { ModelFolderError, ModelTooLargeError } from './errors.js';
import { parseGenerationConfig, type GenerationConfig } from './generation_config.js';
import { LlamaForCausalLM } from './modeling_llama.js';
import { MistralForCausalLM } from './modeling_mistral.js';
import { Qwen2ForCausalLM } from './modeling_qwen2.js';

/** Builds the class `config.modelType` names. */
export function createCausalLM(config: DecoderConfig, rng?: Rng): LlamaForCausalLM {
  switch (config.modelType) {
    case 'mistral':
      return new MistralForCausalLM(config, rng);
    case 'qwen2':
      return new Qwen2ForCausalLM(config, rng);
    default:
      return new LlamaForCausalLM(config, rng);
  }
}

/**
 * Copies a Hugging Face state dict into the decoder. Rotary `inv_freq` buffers are skipped; with tied embeddings
 * a stored `lm_head.weight` is skipped too. Missing or mis-shaped keys throw `StateDictMismatchError`.
 */
export async function loadDecoderWeights(lm: LlamaForCausalLM, source: StateDictInput, sourceName?: string): Promise<LoadReport> {
  const report = await loadStateDict(lm, source, {
    strict: false,
    sourceName,
    rename: (k) => (k.endsWith('rotary_emb.inv_freq') || (lm.config.tieWordEmbeddings && k === 'lm_head.weight') ? null : k),
  });
  if (report.missing.length || report.mismatched.length || report.unexpected.length) {
    throw new StateDictMismatchError(report.missing, report.unexpected, report.mismatched, sourceName);
  }
  return report;
}

export interface FromPretrainedOptions {
  /** Bytes the float32 weights may take; default: free system memory (cpu, webgpu) or 4 GiB (wasm's heap). */
  maxBytes?: number;
  rng?: Rng;
}

export interface PretrainedCausalLM {
  model: LlamaForCausalLM;
  config: DecoderConfig;
  generationConfig: Partial<GenerationConfig>;
  loadReport: LoadReport;
}

async function readJsonFile(dir: string, file: string, required: boolean): Promise<Record<string, unknown> | null> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  let text: string;
  try {
    text = await readFile(join(dir, file), 'utf8');
  } catch {
    if (required) throw new ModelFolderError('file is missing', dir, file);
    return null;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFolderError(`not valid JSON: ${(e as Error).message}`, dir, file);
  }
}

/** The folder's weights as one lazy source: sharded index, single safetensors, or a torch.save file. */
export async function openModelWeights(dir: string): Promise<TensorSource> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  if (existsSync(join(dir, 'model.safetensors.index.json'))) return ShardedSafetensors.open(join(dir, 'model.safetensors.index.json'));
  if (existsSync(join(dir, 'model.safetensors'))) return SafetensorsReader.open(join(dir, 'model.safetensors'));
  if (existsSync(join(dir, 'pytorch_model.bin'))) return openCheckpoint(join(dir, 'pytorch_model.bin'));
  throw new ModelFolderError('no model.safetensors, model.safetensors.index.json or pytorch_model.bin', dir);
}

async function availableBytes(): Promise<[number, string]> {
  if (tf.getBackend() === 'wasm') return [4 * 2 ** 30, 'the wasm heap'];
  const os = await import('node:os');
  return [os.freemem(), 'free system memory'];
}

/** `AutoModelForCausalLM.from_pretrained(dir)` for LLaMA, Mistral and Qwen2 folders. */
export async function loadCausalLM(dir: string, opts: FromPretrainedOptions = {}): Promise<PretrainedCausalLM> {
  const config = parseDecoderConfig((await readJsonFile(dir, 'config.json', true))!, `${dir}/config.json`);
  const gen = await readJsonFile(dir, 'generation_config.json', false);
  const generationConfig = gen ? parseGenerationConfig(gen, `${dir}/generation_config.json`) : {};
  if (generationConfig.eosTokenId === undefined && config.eosTokenId != null) {
    generationConfig.eosTokenId = Array.isArray(config.eosTokenId) ? config.eosTokenId : [config.eosTokenId];
  }
  if (generationConfig.padTokenId === undefined && config.padTokenId != null) generationConfig.padTokenId = config.padTokenId;
  const needed = decoderParameterCount(config) * 4;
  const [avail, where] = opts.maxBytes !== undefined ? [opts.maxBytes, 'the given maxBytes'] : await availableBytes();
  if (needed > avail) throw new ModelTooLargeError(dir, needed, avail, where);
  const source = await openModelWeights(dir);
  const model = createCausalLM(config, opts.rng);
  try {
    const loadReport = await loadDecoderWeights(model, source, dir);
    model.eval();
    return { model, config, generationConfig, loadReport };
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    await source.close?.();
  }
}

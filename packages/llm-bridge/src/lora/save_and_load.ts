// peft v0.4.0 `save_pretrained` / `get_peft_model_state_dict` / `set_peft_model_state_dict`: the adapter folder
// holds adapter_config.json and adapter_model.safetensors (metadata {"format": "pt"}) or adapter_model.bin, with
// keys `base_model.model.<module>.lora_A.weight` (the adapter name removed).
import { openCheckpoint, saveSafetensors, SafetensorsReader, type HostTensor, type TensorSource } from '@iv2/core';
import * as tf from '@tensorflow/tfjs-core';
import { LoraConfigError, parseLoraConfig, serializeLoraConfig } from './config.js';
import type { PeftModelForCausalLM } from './peft_model.js';

export class AdapterLoadError extends Error {
  constructor(
    message: string,
    readonly dir: string,
    readonly keys: string[] = [],
  ) {
    super(`${dir}: ${message}${keys.length ? `: ${keys.join(', ')}` : ''}`);
    this.name = 'AdapterLoadError';
  }
}

/** The adapter's tensors under peft's saved names (`base_model.model.…lora_A.weight`), PyTorch layout. */
export async function getPeftModelStateDict(p: PeftModelForCausalLM, adapter = p.activeAdapter): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  const all = await p.stateDict();
  for (const [k, t] of all) {
    if (k.includes('lora_') && k.includes(`.${adapter}.`)) out.set(k.replace(`.${adapter}`, ''), t);
  }
  return out;
}

/** Writes adapter_config.json and adapter_model.safetensors (or `.bin`-free: safetensors only) into `dir`. */
export async function saveAdapter(p: PeftModelForCausalLM, dir: string, adapter = p.activeAdapter): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const config = p.peftConfig.get(adapter);
  if (!config) throw new LoraConfigError(`no adapter named '${adapter}'`, dir);
  // peft writes the default adapter into the folder itself, others into a subfolder of their name.
  const out = adapter === 'default' ? dir : join(dir, adapter);
  await mkdir(out, { recursive: true });
  const sd = await getPeftModelStateDict(p, adapter);
  await saveSafetensors(
    join(out, 'adapter_model.safetensors'),
    [...sd].map(([k, t]) => [k, { dtype: 'F32' as const, shape: t.shape }]),
    (k) => sd.get(k)!,
    { format: 'pt' },
  );
  // peft saves the config with inference_mode = true.
  await writeFile(join(out, 'adapter_config.json'), serializeLoraConfig({ ...config, inferenceMode: true }));
}

/**
 * Loads a peft adapter folder into `p` (`PeftModel.from_pretrained` / `load_adapter`): the config adds the adapter
 * layers, then every saved tensor must find its layer (and every layer its tensors).
 */
export async function loadAdapter(p: PeftModelForCausalLM, dir: string, adapter = 'default'): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  const cfgPath = join(dir, 'adapter_config.json');
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(cfgPath, 'utf8'));
  } catch (e) {
    throw new LoraConfigError(`cannot read: ${(e as Error).message}`, cfgPath);
  }
  const config = parseLoraConfig(json, cfgPath);
  let src: TensorSource;
  if (existsSync(join(dir, 'adapter_model.safetensors'))) src = await SafetensorsReader.open(join(dir, 'adapter_model.safetensors'));
  else if (existsSync(join(dir, 'adapter_model.bin'))) src = await openCheckpoint(join(dir, 'adapter_model.bin'));
  else throw new AdapterLoadError('no adapter_model.safetensors or adapter_model.bin', dir);
  try {
    if (!p.peftConfig.has(adapter)) p.addAdapter(adapter, config);
    const slots = new Map(p.namedParameterInfo().map((s) => [s.name, s]));
    const unexpected: string[] = [];
    const loaded = new Set<string>();
    for (const k of src.keys()) {
      // set_peft_model_state_dict: `…lora_A.weight` → `…lora_A.<adapter>.weight`.
      const key = k.replace(/(lora_[AB])\.weight$/, `$1.${adapter}.weight`);
      const slot = slots.get(key);
      if (!slot) {
        unexpected.push(k);
        continue;
      }
      const t = await src.get(k);
      const want = [slot.variable.shape[1], slot.variable.shape[0]];
      if (t.shape.join() !== want.join()) throw new AdapterLoadError(`shape [${t.shape}] of ${k} should be [${want}]`, dir);
      tf.tidy(() => slot.variable.assign(tf.transpose(tf.tensor(t.data, t.shape, 'float32'))));
      loaded.add(key);
    }
    if (unexpected.length) throw new AdapterLoadError('keys match no adapted layer', dir, unexpected);
    const missing = [...slots.keys()].filter((k) => k.includes(`lora_`) && k.includes(`.${adapter}.`) && !loaded.has(k));
    if (missing.length) throw new AdapterLoadError('adapter layers without saved weights', dir, missing);
  } finally {
    await src.close?.();
  }
}

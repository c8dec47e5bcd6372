// peft v0.4.0 `get_peft_model` for causal LMs: PeftModelForCausalLM → `base_model` (LoraModel) → `model` (the
// decoder), so keys read `base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight` as in
// VideoChat2 checkpoints. Target Linear layers gain adapters; every base parameter is frozen.
import { Module, defaultRng, type Rng } from '@iv2/core';
import type { LlamaForCausalLM } from '../llm/modeling_llama.js';
import { LoraConfigError, type LoraConfig } from './config.js';
import { LoraLinear } from './layer.js';

/** Every LoraLinear under `root` with its dotted module name. */
export function namedLoraLinears(root: Module, prefix = ''): Array<[string, LoraLinear]> {
  const out: Array<[string, LoraLinear]> = [];
  for (const [n, c] of root.namedChildren()) {
    const name = prefix ? `${prefix}.${n}` : n;
    if (c instanceof LoraLinear) out.push([name, c]);
    else out.push(...namedLoraLinears(c, name));
  }
  return out;
}

/** peft's `_check_target_module_exists`: regex full match, or name ends with a listed entry (and layer filter). */
export function isTargetModule(config: LoraConfig, name: string): boolean {
  if (typeof config.targetModules === 'string') return new RegExp(`^(?:${config.targetModules})$`).test(name);
  let found = config.targetModules.some((t) => name.endsWith(t));
  if (found && config.layersToTransform != null) {
    const pattern = config.layersPattern ?? '(?:layers|h|block|blocks|layer)';
    const m = new RegExp(`.*\\.${pattern}\\.(\\d+)\\.*`).exec(name);
    const want = Array.isArray(config.layersToTransform) ? config.layersToTransform : [config.layersToTransform];
    found = m ? want.includes(Number(m[1])) : false;
  }
  return found;
}

/** `LoraModel`: holds the decoder as `model`. */
export class LoraModel extends Module {
  readonly model: LlamaForCausalLM;

  constructor(model: LlamaForCausalLM) {
    super();
    this.model = this.addModule('model', model);
  }
}

export class PeftModelForCausalLM extends Module {
  readonly base_model: LoraModel;
  readonly peftConfig = new Map<string, LoraConfig>();
  activeAdapter = 'default';

  constructor(model: LlamaForCausalLM) {
    super();
    this.base_model = this.addModule('base_model', new LoraModel(model));
  }

  /** The decoder inside (`base_model.model`). */
  get model(): LlamaForCausalLM {
    return this.base_model.model;
  }

  /** The adapted layers, named relative to the decoder (`model.layers.0.self_attn.q_proj`). */
  loraLayers(): Array<[string, LoraLinear]> {
    return namedLoraLinears(this.model).filter(([, l]) => l.hasAdapter);
  }

  /** Adds one adapter to every target layer (peft `add_adapter`). */
  addAdapter(name: string, config: LoraConfig, rng: Rng = defaultRng()): void {
    if (config.bias !== 'none') throw new LoraConfigError(`bias '${config.bias}' is not supported`, '<config>', 'bias');
    const targets = namedLoraLinears(this.model).filter(([n]) => isTargetModule(config, n));
    if (!targets.length) throw new LoraConfigError(`no module matches ${JSON.stringify(config.targetModules)}`, '<config>', 'target_modules');
    for (const [, l] of targets) l.addAdapter(name, { r: config.r, alpha: config.loraAlpha, dropout: config.loraDropout, rng });
    this.peftConfig.set(name, config);
    this.activeAdapter = name;
    this.markOnlyLoraTrainable();
  }

  /** `mark_only_lora_as_trainable` (bias 'none'): adapters train, everything else is frozen. */
  markOnlyLoraTrainable(): void {
    for (const p of this.namedParameterInfo()) if (!p.buffer) p.variable.trainable = p.name.includes('lora_');
  }

  /** Folds the active adapter into the base weights (inference; `unmerge` takes it back out). */
  merge(): void {
    for (const [, l] of this.loraLayers()) l.merge();
  }

  unmerge(): void {
    for (const [, l] of this.loraLayers()) l.unmerge();
  }

  /**
   * peft `merge_and_unload`: merges, then drops the adapters, leaving a plain decoder whose state dict has the base
   * keys only. This wrapper is unusable afterwards.
   */
  mergeAndUnload(): LlamaForCausalLM {
    this.merge();
    for (const [, l] of namedLoraLinears(this.model)) l.removeAdapters();
    const m = this.model;
    m.requiresGrad(true);
    return m;
  }

  forward(...args: Parameters<LlamaForCausalLM['forward']>): ReturnType<LlamaForCausalLM['forward']> {
    return this.model.forward(...args);
  }
}

/** `get_peft_model(model, config)`: wraps the decoder and adds the `default` adapter. */
export function getPeftModel(model: LlamaForCausalLM, config: LoraConfig, rng?: Rng): PeftModelForCausalLM {
  const p = new PeftModelForCausalLM(model);
  p.addAdapter('default', config, rng);
  return p;
}

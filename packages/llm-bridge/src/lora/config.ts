// peft v0.4.0 `LoraConfig` (tuners/lora.py) with `PeftConfig`'s fields, and adapter_config.json as peft writes it
// (json.dumps(asdict(config), indent=2, sort_keys=True)).
export class LoraConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly field?: string,
  ) {
    super(`${file}${field ? ` [${field}]` : ''}: ${message}`);
    this.name = 'LoraConfigError';
  }
}

export interface LoraConfig {
  r: number;
  loraAlpha: number;
  loraDropout: number;
  /** A list: a module is a target when its name ends with an entry; a string: a regex the whole name must match. */
  targetModules: string[] | string;
  /** Only 'none' is supported (biases stay frozen and are not saved). */
  bias: 'none';
  fanInFanOut: false;
  modulesToSave: string[] | null;
  initLoraWeights: boolean;
  layersToTransform: number[] | number | null;
  layersPattern: string | null;
  taskType: string | null;
  inferenceMode: boolean;
  baseModelNameOrPath: string | null;
  revision: string | null;
}

/** The modules VideoChat2_it_mistral adapts (every projection of every layer, and lm_head). */
export const VIDEOCHAT2_TARGET_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'lm_head'];

export function loraConfig(fields: Partial<LoraConfig> = {}): LoraConfig {
  return {
    r: 8,
    loraAlpha: 8,
    loraDropout: 0,
    targetModules: ['q_proj', 'v_proj'],
    bias: 'none',
    fanInFanOut: false,
    modulesToSave: null,
    initLoraWeights: true,
    layersToTransform: null,
    layersPattern: null,
    taskType: 'CAUSAL_LM',
    inferenceMode: false,
    baseModelNameOrPath: null,
    revision: null,
    ...fields,
  };
}

// Python's json.dumps writes floats with a decimal point (0.0, 0.05), integers without.
const pyFloat = (x: number) => (Number.isInteger(x) ? `${x}.0` : String(x));

/** adapter_config.json text, byte for byte as peft v0.4.0 writes it. */
export function serializeLoraConfig(c: LoraConfig): string {
  const dict: Record<string, unknown> = {
    auto_mapping: null,
    base_model_name_or_path: c.baseModelNameOrPath,
    bias: c.bias,
    fan_in_fan_out: c.fanInFanOut,
    inference_mode: c.inferenceMode,
    init_lora_weights: c.initLoraWeights,
    layers_pattern: c.layersPattern,
    layers_to_transform: c.layersToTransform,
    lora_alpha: c.loraAlpha,
    lora_dropout: '__LORA_DROPOUT__',
    modules_to_save: c.modulesToSave,
    peft_type: 'LORA',
    r: c.r,
    revision: c.revision,
    target_modules: c.targetModules,
    task_type: c.taskType,
  };
  return JSON.stringify(dict, null, 2).replace('"__LORA_DROPOUT__"', pyFloat(c.loraDropout));
}

/** Reads adapter_config.json; only LoRA adapters without trained biases are accepted. */
export function parseLoraConfig(json: Record<string, unknown>, file = 'adapter_config.json'): LoraConfig {
  if (json.peft_type !== 'LORA') throw new LoraConfigError(`peft_type ${JSON.stringify(json.peft_type)} is not LORA`, file, 'peft_type');
  const int = (k: string) => {
    const v = json[k];
    if (!Number.isInteger(v) || (v as number) <= 0) throw new LoraConfigError(`expected a positive integer, got ${JSON.stringify(v)}`, file, k);
    return v as number;
  };
  const bias = json.bias ?? 'none';
  if (bias !== 'none') throw new LoraConfigError(`bias ${JSON.stringify(bias)} is not supported (only 'none')`, file, 'bias');
  if (json.fan_in_fan_out === true) throw new LoraConfigError('fan_in_fan_out (Conv1D layers) is not supported', file, 'fan_in_fan_out');
  const tm = json.target_modules;
  if (!(typeof tm === 'string' || (Array.isArray(tm) && tm.every((x) => typeof x === 'string')))) {
    throw new LoraConfigError(`expected a list of module names or a regex, got ${JSON.stringify(tm)}`, file, 'target_modules');
  }
  const dropout = json.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || dropout < 0 || dropout >= 1) throw new LoraConfigError(`expected a probability, got ${JSON.stringify(dropout)}`, file, 'lora_dropout');
  return loraConfig({
    r: int('r'),
    loraAlpha: typeof json.lora_alpha === 'number' ? json.lora_alpha : 8,
    loraDropout: dropout,
    targetModules: tm as string[] | string,
    modulesToSave: (json.modules_to_save as string[] | null) ?? null,
    initLoraWeights: json.init_lora_weights !== false,
    layersToTransform: (json.layers_to_transform as number[] | number | null) ?? null,
    layersPattern: (json.layers_pattern as string | null) ?? null,
    taskType: (json.task_type as string | null) ?? null,
    inferenceMode: json.inference_mode === true,
    baseModelNameOrPath: (json.base_model_name_or_path as string | null) ?? null,
    revision: (json.revision as string | null) ?? null,
  });
}

// peft v0.4.0 `tuners/lora.py` `Linear`: the base Linear keeps its own keys (`weight`, `bias`) and gains
// `lora_A.<adapter>.weight` [r, in] and `lora_B.<adapter>.weight` [out, r]; y = W x + b + B(A(dropout(x)))·alpha/r.
import * as tf from '@tensorflow/tfjs-core';
import { Dropout, Linear, Module, type Rng, defaultRng, torchDefaultUniform } from '@iv2/core';

/** torch.nn.ModuleDict: children under arbitrary names (peft keys adapters by name, `default`). */
export class ModuleDict<M extends Module = Module> extends Module {
  readonly entries = new Map<string, M>();

  set(name: string, m: M): M {
    this.entries.set(name, m);
    return this.addModule(name, m);
  }

  get(name: string): M | undefined {
    return this.entries.get(name);
  }
}

export interface LoraAdapterOptions {
  r: number;
  alpha: number;
  dropout?: number;
  rng?: Rng;
}

/**
 * A Linear that can carry LoRA adapters. Without an active adapter it is exactly torch.nn.Linear, so base
 * checkpoints load into it under the plain keys.
 */
export class LoraLinear extends Linear {
  loraA: ModuleDict<Linear> | null = null;
  loraB: ModuleDict<Linear> | null = null;
  loraDropout: ModuleDict<Dropout> | null = null;
  readonly scaling = new Map<string, number>();
  activeAdapter = 'default';
  /** Adapters folded into `weight` (peft's `merged`): the adapter branch is skipped. */
  merged = false;
  disableAdapters = false;

  constructor(inFeatures: number, outFeatures: number, opts: { bias?: boolean; rng?: Rng; std?: number } = {}) {
    super(inFeatures, outFeatures, opts);
  }

  /** peft's `update_layer`: A kaiming-uniform(a=√5), B zeros, scaling = alpha / r. */
  addAdapter(name: string, opts: LoraAdapterOptions): void {
    if (!this.loraA) {
      // Registered so that train()/eval() reach the dropouts; it holds no parameters.
      this.loraDropout = this.addModule('lora_dropout', new ModuleDict<Dropout>());
      this.loraA = this.addModule('lora_A', new ModuleDict<Linear>());
      this.loraB = this.addModule('lora_B', new ModuleDict<Linear>());
    }
    const rng = opts.rng ?? defaultRng();
    const a = new Linear(this.inFeatures, opts.r, { bias: false, rng });
    // Assigned inside tidy: assign() keeps the data, the temporary tensor objects go.
    tf.tidy(() => a.weight.assign(tf.transpose(torchDefaultUniform(rng, [opts.r, this.inFeatures], this.inFeatures))));
    const b = new Linear(opts.r, this.outFeatures, { bias: false, rng });
    tf.tidy(() => b.weight.assign(tf.zerosLike(b.weight)));
    this.loraA.set(name, a);
    this.loraB!.set(name, b);
    this.loraDropout!.set(name, new Dropout(opts.dropout ?? 0, rng));
    this.scaling.set(name, opts.alpha / opts.r);
    this.activeAdapter = name;
  }

  get hasAdapter(): boolean {
    return !!this.loraA?.get(this.activeAdapter);
  }

  override forward(x: tf.Tensor): tf.Tensor {
    const base = super.forward(x);
    if (!this.hasAdapter || this.merged || this.disableAdapters) return base;
    return tf.tidy(() => {
      const name = this.activeAdapter;
      const h = this.loraA!.get(name)!.forward(this.loraDropout!.get(name)!.forward(x));
      return tf.add(base, tf.mul(this.loraB!.get(name)!.forward(h), this.scaling.get(name)!));
    });
  }

  /** ΔW = B·A·scaling in tfjs layout `[in, out]`: (B A)ᵀ s = Aᵀ Bᵀ s. */
  deltaWeight(name = this.activeAdapter): tf.Tensor2D {
    return tf.tidy(() => tf.mul(tf.matMul(this.loraA!.get(name)!.weight, this.loraB!.get(name)!.weight), this.scaling.get(name)!)) as tf.Tensor2D;
  }

  /** Folds the active adapter into `weight` (peft `merge`). */
  merge(): void {
    if (!this.hasAdapter || this.merged) return;
    const d = this.deltaWeight();
    tf.tidy(() => this.weight.assign(tf.add(this.weight, d)));
    d.dispose();
    this.merged = true;
  }

  /** Takes the adapter back out of `weight` (peft `unmerge`). */
  unmerge(): void {
    if (!this.merged) return;
    const d = this.deltaWeight();
    tf.tidy(() => this.weight.assign(tf.sub(this.weight, d)));
    d.dispose();
    this.merged = false;
  }

  /** Drops every adapter (after a merge, for merge_and_unload): the layer is a plain Linear again. */
  removeAdapters(): void {
    if (!this.loraA) return;
    this.loraA.dispose();
    this.loraB!.dispose();
    // Module keeps children in a private map; an adapter is the one child a Linear may lose.
    const children = (this as unknown as { children: Map<string, Module> }).children;
    for (const k of ['lora_A', 'lora_B', 'lora_dropout']) children.delete(k);
    this.loraA = this.loraB = null;
    this.loraDropout = null;
    this.scaling.clear();
    this.merged = false;
  }
}

import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../checkpoint/types.js';
import { type ParamLayout, tfjsShapeToTorch } from './layout.js';
import type { NamedParameter } from './parameter.js';

interface ParamSlot {
  variable: tf.Variable;
  layout: ParamLayout;
  /** Buffers are saved in the state dict but never trained. */
  buffer: boolean;
}

export interface ParameterInfo extends NamedParameter {
  layout: ParamLayout;
  buffer: boolean;
}

/**
 * A node of the model tree. Parameters and children are registered under the attribute names of the official
 * PyTorch module, so that flattened names are the official state-dict keys.
 */
export abstract class Module {
  training = true;
  private readonly params = new Map<string, ParamSlot>();
  private readonly children = new Map<string, Module>();

  protected addParameter(name: string, init: tf.Tensor, layout: ParamLayout = 'none'): tf.Variable {
    const variable = tf.variable(init, true);
    init.dispose();
    this.params.set(name, { variable, layout, buffer: false });
    return variable;
  }

  protected addBuffer(name: string, init: tf.Tensor): tf.Variable {
    const variable = tf.variable(init, false);
    init.dispose();
    this.params.set(name, { variable, layout: 'none', buffer: true });
    return variable;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedChildren(): Array<[string, Module]> {
    return [...this.children.entries()];
  }

  /** Every parameter and buffer under its official key, depth first, in registration order. */
  namedParameterInfo(prefix = ''): ParameterInfo[] {
    const out: ParameterInfo[] = [];
    for (const [n, s] of this.params) out.push({ name: prefix + n, variable: s.variable, layout: s.layout, buffer: s.buffer });
    for (const [n, c] of this.children) out.push(...c.namedParameterInfo(`${prefix}${n}.`));
    return out;
  }

  /** Parameters (not buffers); `trainable` filters on the variables' trainable flag. */
  parameters(opts: { trainable?: boolean } = {}): NamedParameter[] {
    return this.namedParameterInfo()
      .filter((p) => !p.buffer && (opts.trainable === undefined || p.variable.trainable === opts.trainable))
      .map(({ name, variable }) => ({ name, variable }));
  }

  numParameters(opts: { trainable?: boolean } = {}): number {
    return this.parameters(opts).reduce((n, p) => n + p.variable.size, 0);
  }

  /** Official key → PyTorch-layout shape, without reading data. */
  stateDictShapes(): Map<string, number[]> {
    return new Map(this.namedParameterInfo().map((p) => [p.name, tfjsShapeToTorch(p.variable.shape, p.layout)]));
  }

  /** Host copies of every parameter and buffer, in PyTorch layout under the official keys. */
  async stateDict(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const p of this.namedParameterInfo()) {
      const perm = p.layout === 'linear' ? [1, 0] : p.layout === 'conv3d' ? [4, 3, 0, 1, 2] : null;
      const t = perm ? tf.transpose(p.variable, perm) : p.variable;
      const data = await t.data();
      if (t !== p.variable) t.dispose();
      out.set(p.name, {
        dtype: p.variable.dtype as HostTensor['dtype'],
        shape: tfjsShapeToTorch(p.variable.shape, p.layout),
        data: data as HostTensor['data'],
      });
    }
    return out;
  }

  /** Finds a registered parameter by its official key. */
  parameterSlot(key: string): ParameterInfo | undefined {
    return this.namedParameterInfo().find((p) => p.name === key);
  }

  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Freezes (or unfreezes) every parameter of this subtree. */
  requiresGrad(flag: boolean): this {
    for (const p of this.namedParameterInfo()) if (!p.buffer) p.variable.trainable = flag;
    return this;
  }

  freeze(): this {
    return this.requiresGrad(false);
  }

  unfreeze(): this {
    return this.requiresGrad(true);
  }

  dispose(): void {
    for (const s of this.params.values()) s.variable.dispose();
    for (const c of this.children.values()) c.dispose();
    this.params.clear();
    this.children.clear();
  }
}

/** An ordered list of children named `0`, `1`, … as torch.nn.ModuleList. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];

  constructor(items: M[]) {
    super();
    this.items = items;
    items.forEach((m, i) => this.addModule(String(i), m));
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): M {
    return this.items[i];
  }
}

// The decoder of transformers' modeling_llama.py / modeling_mistral.py / modeling_qwen2.py (v4.40.1) and of
// VideoChat2's own LLaMA copy (models/blip2/modeling_llama.py): pre-norm RMSNorm blocks, RoPE, grouped-query
// attention, SwiGLU MLP. Parameters carry the Hugging Face keys (`model.layers.0.self_attn.q_proj.weight`).
import * as tf from '@tensorflow/tfjs-core';
import { Module, ModuleList, RMSNorm, attention, defaultRng, type Rng } from '@iv2/core';
import { LoraLinear } from '../lora/layer.js';
import { causalMask4d } from './attention_mask.js';
import type { DecoderConfig } from './configuration.js';
import { DecoderInputError } from './errors.js';
import type { KVCache } from './kv_cache.js';
import { RotaryEmbedding, applyRotary } from './rotary.js';

/** torch.nn.Embedding: key `weight` `[vocab, dim]`. */
export class Embedding extends Module {
  readonly weight: tf.Variable;

  constructor(
    readonly numEmbeddings: number,
    readonly dim: number,
    rng: Rng = defaultRng(),
  ) {
    super();
    this.weight = this.addParameter('weight', rng.normalTensor([numEmbeddings, dim], 0, 0.02));
  }

  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.reshape(tf.gather(this.weight, tf.reshape(tf.cast(ids, 'int32'), [-1])), [...ids.shape, this.dim]));
  }
}

/** Per-call inputs every layer shares. */
export interface LayerContext {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  mask: tf.Tensor4D;
  cache: KVCache | null;
}

export class LlamaAttention extends Module {
  readonly q_proj: LoraLinear;
  readonly k_proj: LoraLinear;
  readonly v_proj: LoraLinear;
  readonly o_proj: LoraLinear;

  constructor(
    readonly config: DecoderConfig,
    readonly layerIdx: number,
    rng: Rng,
  ) {
    super();
    const { hiddenSize: d, numAttentionHeads: h, numKeyValueHeads: kv, headDim: hd, qkvBias, oBias } = config;
    this.q_proj = this.addModule('q_proj', new LoraLinear(d, h * hd, { bias: qkvBias, rng }));
    this.k_proj = this.addModule('k_proj', new LoraLinear(d, kv * hd, { bias: qkvBias, rng }));
    this.v_proj = this.addModule('v_proj', new LoraLinear(d, kv * hd, { bias: qkvBias, rng }));
    this.o_proj = this.addModule('o_proj', new LoraLinear(h * hd, d, { bias: oBias, rng }));
  }

  forward(x: tf.Tensor3D, ctx: LayerContext): tf.Tensor3D {
    return tf.tidy(() => {
      const [b, n] = x.shape;
      const { numAttentionHeads: h, numKeyValueHeads: kv, headDim: hd } = this.config;
      const heads = (t: tf.Tensor, nh: number) => tf.transpose(tf.reshape(t, [b, n, nh, hd]), [0, 2, 1, 3]);
      const q = applyRotary(heads(this.q_proj.forward(x), h), ctx.cos, ctx.sin) as tf.Tensor4D;
      let k = applyRotary(heads(this.k_proj.forward(x), kv), ctx.cos, ctx.sin) as tf.Tensor4D;
      let v = heads(this.v_proj.forward(x), kv) as tf.Tensor4D;
      if (ctx.cache) [k, v] = ctx.cache.update(this.layerIdx, k, v);
      const rep = h / kv;
      if (rep > 1) {
        // repeat_kv: k/v head j serves query heads j·rep … j·rep + rep − 1.
        // Tiled as rank 4 ([B, kv, 1, T·D]): tfjs has no gradient for a rank-5 tile.
        const expand = (t: tf.Tensor4D) => {
          const nk = t.shape[2];
          return tf.reshape(tf.tile(tf.reshape(t, [b, kv, 1, nk * hd]), [1, 1, rep, 1]), [b, h, nk, hd]) as tf.Tensor4D;
        };
        k = expand(k);
        v = expand(v);
      }
      const o = attention(q, k, v, { mask: ctx.mask });
      return this.o_proj.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b, n, h * hd])) as tf.Tensor3D;
    });
  }
}

export class LlamaMLP extends Module {
  readonly gate_proj: LoraLinear;
  readonly up_proj: LoraLinear;
  readonly down_proj: LoraLinear;

  constructor(config: DecoderConfig, rng: Rng) {
    super();
    const { hiddenSize: d, intermediateSize: m } = config;
    // Registration order of the official LlamaMLP (gate, down, up): it orders state dicts and parameter lists.
    this.gate_proj = this.addModule('gate_proj', new LoraLinear(d, m, { bias: false, rng }));
    this.down_proj = this.addModule('down_proj', new LoraLinear(m, d, { bias: false, rng }));
    this.up_proj = this.addModule('up_proj', new LoraLinear(d, m, { bias: false, rng }));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const g = this.gate_proj.forward(x);
      return this.down_proj.forward(tf.mul(tf.mul(g, tf.sigmoid(g)), this.up_proj.forward(x)));
    });
  }
}

export class LlamaDecoderLayer extends Module {
  readonly self_attn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;

  constructor(config: DecoderConfig, layerIdx: number, rng: Rng) {
    super();
    this.self_attn = this.addModule('self_attn', new LlamaAttention(config, layerIdx, rng));
    this.mlp = this.addModule('mlp', new LlamaMLP(config, rng));
    this.input_layernorm = this.addModule('input_layernorm', new RMSNorm(config.hiddenSize, config.rmsNormEps));
    this.post_attention_layernorm = this.addModule('post_attention_layernorm', new RMSNorm(config.hiddenSize, config.rmsNormEps));
  }

  forward(x: tf.Tensor3D, ctx: LayerContext): tf.Tensor3D {
    return tf.tidy(() => {
      const h = tf.add(x, this.self_attn.forward(this.input_layernorm.forward(x) as tf.Tensor3D, ctx)) as tf.Tensor3D;
      return tf.add(h, this.mlp.forward(this.post_attention_layernorm.forward(h))) as tf.Tensor3D;
    });
  }
}

export interface DecoderForwardInputs {
  /** int32 `[B, N]`; exactly one of inputIds / inputsEmbeds. */
  inputIds?: tf.Tensor2D;
  /** `[B, N, hidden]`. */
  inputsEmbeds?: tf.Tensor3D;
  /** `[B, P + N]`, 1 = attend; defaults to all ones. */
  attentionMask?: tf.Tensor2D | null;
  /** int32 `[B, N]`; defaults to P … P + N − 1 whatever the mask (as the plain forward does). */
  positionIds?: tf.Tensor2D;
  /** Grows by N columns per layer. */
  cache?: KVCache | null;
}

/** `LlamaModel` / `MistralModel` / `Qwen2Model`: embeddings, layers, final norm. */
export class LlamaModel extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;
  readonly rotary: RotaryEmbedding;

  constructor(
    readonly config: DecoderConfig,
    rng: Rng = defaultRng(),
  ) {
    super();
    this.embed_tokens = this.addModule('embed_tokens', new Embedding(config.vocabSize, config.hiddenSize, rng));
    this.layers = this.addModule('layers', new ModuleList(Array.from({ length: config.numHiddenLayers }, (_, i) => new LlamaDecoderLayer(config, i, rng))));
    this.norm = this.addModule('norm', new RMSNorm(config.hiddenSize, config.rmsNormEps));
    this.rotary = new RotaryEmbedding(config.headDim, config.maxPositionEmbeddings, config.ropeTheta);
  }

  /** Last hidden state `[B, N, hidden]`. */
  forward(inp: DecoderForwardInputs): tf.Tensor3D {
    if (!!inp.inputIds === !!inp.inputsEmbeds) throw new DecoderInputError('pass exactly one of inputIds and inputsEmbeds');
    const past = inp.cache?.length ?? 0;
    const [b, n] = inp.inputIds ? inp.inputIds.shape : inp.inputsEmbeds!.shape;
    // With a cache, keys span its storage (≥ P + N columns); the mask may be given at either width.
    const width = inp.cache ? inp.cache.reserve(n) : past + n;
    const mw = inp.attentionMask?.shape[1];
    if (inp.attentionMask && (inp.attentionMask.shape[0] !== b || (mw !== past + n && mw !== width))) {
      throw new DecoderInputError(`shape [${inp.attentionMask.shape}] should be [${b}, ${past + n}] (cached ${past} + new ${n})`, 'attentionMask');
    }
    if (inp.inputsEmbeds && inp.inputsEmbeds.shape[2] !== this.config.hiddenSize) {
      throw new DecoderInputError(`width ${inp.inputsEmbeds.shape[2]} is not hidden_size ${this.config.hiddenSize}`, 'inputsEmbeds');
    }
    return tf.tidy(() => {
      let x = (inp.inputsEmbeds ?? this.embed_tokens.forward(inp.inputIds!)) as tf.Tensor3D;
      const pos = inp.positionIds ?? (tf.tile(tf.reshape(tf.range(past, past + n, 1, 'int32'), [1, n]), [b, 1]) as tf.Tensor2D);
      const maxPos = inp.positionIds ? Math.max(...(pos.dataSync() as Int32Array)) : past + n - 1;
      const [cos, sin] = this.rotary.tables(pos, maxPos);
      let mask2d: tf.Tensor | null = inp.attentionMask ?? null;
      if (mask2d && mask2d.shape[1] !== width) mask2d = tf.concat([mask2d, tf.zeros([b, width - mask2d.shape[1]!], mask2d.dtype)], 1);
      const mask = causalMask4d(mask2d, b, n, past, this.config.slidingWindow, width);
      const ctx: LayerContext = { cos, sin, mask, cache: inp.cache ?? null };
      for (const layer of this.layers.items) x = layer.forward(x, ctx);
      inp.cache?.advance(n);
      return this.norm.forward(x) as tf.Tensor3D;
    });
  }

  override dispose(): void {
    this.rotary.dispose();
    super.dispose();
  }
}

export interface CausalLMOutput {
  logits: tf.Tensor3D;
}

/** `LlamaForCausalLM` (and Mistral's, Qwen2's): the model plus `lm_head` (untied) or the embedding matrix (tied). */
export class LlamaForCausalLM extends Module {
  readonly model: LlamaModel;
  readonly lm_head: LoraLinear | null;

  constructor(
    readonly config: DecoderConfig,
    rng: Rng = defaultRng(),
  ) {
    super();
    this.model = this.addModule('model', new LlamaModel(config, rng));
    this.lm_head = config.tieWordEmbeddings ? null : this.addModule('lm_head', new LoraLinear(config.hiddenSize, config.vocabSize, { bias: false, rng }));
  }

  /** Logits from hidden states (the last `lastN` positions only when given). */
  head(hidden: tf.Tensor3D, lastN?: number): tf.Tensor3D {
    return tf.tidy(() => {
      const n = hidden.shape[1];
      const h = lastN ? tf.slice(hidden, [0, n - lastN, 0], [-1, lastN, -1]) : hidden;
      if (this.lm_head) return this.lm_head.forward(h) as tf.Tensor3D;
      const [b, m, d] = h.shape;
      return tf.reshape(tf.matMul(tf.reshape(h, [b * m, d]), this.model.embed_tokens.weight, false, true), [b, m, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /** Embeddings of token ids (`model.embed_tokens`), for callers that splice other vectors in. */
  embed(ids: tf.Tensor): tf.Tensor {
    return this.model.embed_tokens.forward(ids);
  }

  forward(inp: DecoderForwardInputs & { lastN?: number }): CausalLMOutput {
    return tf.tidy(() => ({ logits: this.head(this.model.forward(inp), inp.lastN) }));
  }
}

// VideoChat2_it_mistral (models/videochat_mistra/videochat2_it_mistral.py): vision tokens → vision_layernorm →
// Q-Former (+ instruction) → mistral_proj → soft video tokens spliced into the decoder's input (LoRA-adapted as
// `mistral_model.base_model.model.*`), trained on answer tokens only; `chat` runs the official Mistral demo prompt.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, type NamedParameter } from '@iv2/core';
import type { InternVideo2 } from '@iv2/encoder';
import { splitPromptForVideo, VideoChat2Conversation, type SplitPrompt } from '../chat/videochat2_prompt.js';
import type { TextTokenizer } from '../chat/tokenizer.js';
import { causalLmLoss } from '../llm/loss.js';
import type { DecoderConfig } from '../llm/configuration.js';
import { streamGenerate, type GenerateOptions, type GenerationStep } from '../llm/generation.js';
import type { GenerationConfig } from '../llm/generation_config.js';
import { createCausalLM } from '../llm/from_pretrained.js';
import type { LlamaForCausalLM } from '../llm/modeling_llama.js';
import { loraConfig, VIDEOCHAT2_TARGET_MODULES, type LoraConfig } from '../lora/config.js';
import { getPeftModel, PeftModelForCausalLM } from '../lora/peft_model.js';
import { parseQFormerConfig, type QFormerConfigInput } from '../qformer/config.js';
import { QFormer, type EncodeImgOutput } from '../qformer/videochat2_qformer.js';
import { assembleInputs, type AssembledInputs } from './input_assembly.js';

/** The instruction tokenizer of the Q-Former (bert-base-uncased + `[DEC]`): ids with `[CLS]` … `[SEP]`. */
export interface InstructionTokenizer {
  encode(text: string): number[];
  readonly padTokenId?: number | null;
}

export class VideoChat2InputError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
    this.name = 'VideoChat2InputError';
  }
}

export interface VideoChat2Options {
  /** The connector (official Q-Former config fields); `llm_hidden_size` is taken from the LLM. */
  qformer: QFormerConfigInput;
  llm: DecoderConfig;
  /** LoRA on the decoder (`use_lora`); null = none. Default: the stage-3 config (r 16, alpha 32, dropout 0.1). */
  lora?: LoraConfig | null;
  /** `max_txt_len` (stage 3: 512; the class default 32). */
  maxTxtLen?: number;
  /** `freeze_vit` (stage 3: false) applies to the vision encoder and vision_layernorm; `freeze_qformer` likewise. */
  freezeVit?: boolean;
  freezeQformer?: boolean;
  startToken?: string;
  endToken?: string;
  /** The LLM tokenizer (`mistral_tokenizer`); pad falls back to eos as the official code sets it. */
  tokenizer: TextTokenizer;
  /** The Q-Former's instruction tokenizer; needed when `qformer_text_input` is on. */
  qformerTokenizer?: InstructionTokenizer;
  /** The vision encoder as `vision_encoder` (its tokens `[B, 1 + T·L, C]`, CLS first, are cut to `[B, T, L, C]`). */
  visionEncoder?: InternVideo2;
  /** `x_vis_return_idx` of the vision encoder (VideoChat2's UMT and InternVideo2-Chat take −2). */
  visionReturnLayer?: number;
  /** Defaults for `chat` (e.g. `generation_config.json` as `loadCausalLM` read it: its eos list). */
  generationConfig?: Partial<GenerationConfig>;
  /** A decoder to use as it is (e.g. loaded by `loadCausalLM`); built from `llm` otherwise. */
  decoder?: LlamaForCausalLM;
  seed?: number;
}

/** One training sample: the `process_qa` conversation and the instruction the Q-Former reads. */
export interface ConversationSample {
  conversation: string;
  instruction: string;
}

export interface VideoChat2ForwardInput {
  /** The frozen (or trainable) encoder's tokens `[B, T, L, C]`; or pass `video` with a vision encoder. */
  visionTokens?: tf.Tensor;
  /** `[B, 3, T, H, W]` (needs `visionEncoder`). */
  video?: tf.Tensor5D;
  samples: ConversationSample[];
  /** Image samples split at `</Image>` (the official `use_image`, T = 1). */
  useImage?: boolean;
}

export interface VideoChat2ForwardOutput extends AssembledInputs {
  logits: tf.Tensor3D;
  /** Mean cross-entropy over the answer tokens (the official `outputs.loss`). */
  loss: tf.Scalar;
  encoded: EncodeImgOutput;
}

export const VIDEOCHAT2_STAGE3_LORA = loraConfig({ r: 16, loraAlpha: 32, loraDropout: 0.1, targetModules: VIDEOCHAT2_TARGET_MODULES });

export class VideoChat2ItMistral extends QFormer {
  readonly mistral_model: PeftModelForCausalLM | LlamaForCausalLM;
  readonly vision_encoder: InternVideo2 | null;
  readonly tokenizer: TextTokenizer;
  readonly qformerTokenizer: InstructionTokenizer | null;
  readonly maxTxtLen: number;
  readonly startToken: string;
  readonly endToken: string;
  readonly visionReturnLayer: number;
  readonly generationConfig: Partial<GenerationConfig>;

  constructor(opts: VideoChat2Options) {
    const rng = new Rng(opts.seed ?? 0);
    super(parseQFormerConfig({ ...opts.qformer, llm_hidden_size: opts.llm.hiddenSize }), rng);
    this.tokenizer = opts.tokenizer;
    this.qformerTokenizer = opts.qformerTokenizer ?? null;
    this.maxTxtLen = opts.maxTxtLen ?? 32;
    this.startToken = opts.startToken ?? '<Video>';
    this.endToken = opts.endToken ?? '</Video>';
    this.visionReturnLayer = opts.visionReturnLayer ?? -2;
    this.generationConfig = opts.generationConfig ?? {};
    this.vision_encoder = opts.visionEncoder ? this.addModule('vision_encoder', opts.visionEncoder) : null;
    const lm = opts.decoder ?? createCausalLM(opts.llm, rng);
    lm.freeze();
    const lora = opts.lora === undefined ? VIDEOCHAT2_STAGE3_LORA : opts.lora;
    this.mistral_model = this.addModule('mistral_model', lora ? getPeftModel(lm, lora, rng) : lm);
    if (opts.freezeVit ?? true) {
      this.vision_encoder?.freeze();
      this.vision_layernorm?.freeze();
    }
    if (opts.freezeQformer ?? true) {
      this.qformer.freeze();
      this.query_tokens.trainable = false;
      // The official freeze leaves extra_query_tokens trainable.
    }
  }

  /** The decoder (inside the peft wrapper when LoRA is on). */
  get lm(): LlamaForCausalLM {
    return this.mistral_model instanceof PeftModelForCausalLM ? this.mistral_model.model : this.mistral_model;
  }

  get padTokenId(): number {
    const id = this.tokenizer.padTokenId ?? this.tokenizer.eosTokenId;
    if (id == null) throw new VideoChat2InputError('the tokenizer has neither a pad nor an eos token', 'tokenizer');
    return id;
  }

  /**
   * Every trainable parameter under its official key, in the official order (vision encoder, vision_layernorm,
   * query tokens, Q-Former, LoRA, projector), for the optimizer and for checkpoints.
   */
  trainableParameters(): NamedParameter[] {
    const rank = (n: string) =>
      n.startsWith('query_tokens') || n.startsWith('extra_query_tokens') ? 0 : n.startsWith('vision_encoder.') ? 1 : n.startsWith('vision_layernorm.') ? 2
        : n.startsWith('qformer.') ? 3 : n.startsWith('mistral_model.') ? 4 : 5;
    return this.parameters({ trainable: true })
      .map((p, i) => ({ p, i }))
      .sort((a, b) => rank(a.p.name) - rank(b.p.name) || a.i - b.i)
      .map(({ p }) => p);
  }

  /** The Q-Former instruction ids, right-padded with [PAD] to the longest (`padding='longest'`, truncated to max_txt_len). */
  instructionIds(instructions: string[]): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D } | undefined {
    if (!this.config.qformer_text_input) return undefined;
    if (!this.qformerTokenizer) throw new VideoChat2InputError('this Q-Former reads the instruction: pass qformerTokenizer', 'qformerTokenizer');
    const ids = instructions.map((t) => this.qformerTokenizer!.encode(t).slice(0, this.maxTxtLen));
    const n = Math.max(...ids.map((r) => r.length));
    const pad = this.qformerTokenizer.padTokenId ?? 0;
    return {
      inputIds: tf.tensor2d(ids.map((r) => [...r, ...new Array(n - r.length).fill(pad)]), [ids.length, n], 'int32'),
      attentionMask: tf.tensor2d(ids.map((r) => r.map(() => 1).concat(new Array(n - r.length).fill(0))), [ids.length, n], 'int32'),
    };
  }

  /** `[B, T, L, C]` vision tokens of a video through `vision_encoder` (CLS dropped). */
  encodeVision(video: tf.Tensor5D, useImage = false): tf.Tensor4D {
    if (!this.vision_encoder) throw new VideoChat2InputError('no vision encoder: pass visionTokens, or build with visionEncoder', 'video');
    return tf.tidy(() => {
      const out = this.vision_encoder!.forward(video, { returnLayer: this.visionReturnLayer, tokensOnly: true, useImage });
      const [b, n, c] = out.tokens.shape;
      const t = useImage ? 1 : video.shape[2] / this.vision_encoder!.config.tubelet_size;
      return tf.reshape(tf.slice(out.tokens, [0, 1, 0], [b, n - 1, c]), [b, t, (n - 1) / t, c]) as tf.Tensor4D;
    });
  }

  private visionOf(input: { visionTokens?: tf.Tensor; video?: tf.Tensor5D; useImage?: boolean }): tf.Tensor {
    if (!!input.visionTokens === !!input.video) throw new VideoChat2InputError('pass exactly one of visionTokens and video', 'visionTokens');
    return input.visionTokens ?? this.encodeVision(input.video!, input.useImage);
  }

  /** The prompt split and targets of each sample (`forward`'s per-sample loop). */
  splitSamples(samples: ConversationSample[], useImage = false): SplitPrompt[] {
    return samples.map((s) => splitPromptForVideo(s.conversation, this.tokenizer, useImage ? '</Image>' : this.endToken));
  }

  /**
   * The official training forward: logits over the assembled input and the answer-only loss. Call it inside
   * `tf.variableGrads(() => model.forward(…).loss, model.trainableParameters().map((p) => p.variable))`.
   */
  forward(input: VideoChat2ForwardInput): VideoChat2ForwardOutput {
    const b = input.samples.length;
    const split = this.splitSamples(input.samples, input.useImage);
    const bos = this.tokenizer.bosTokenId;
    if (bos == null) throw new VideoChat2InputError('the tokenizer has no bos token', 'tokenizer');
    const instr = this.instructionIds(input.samples.map((s) => s.instruction));
    try {
      return tf.tidy(() => {
        const vision = this.visionOf(input);
        if (vision.shape[0] !== b) throw new VideoChat2InputError(`${vision.shape[0]} videos for ${b} samples`, 'samples');
        const encoded = super.encodeImg(vision, instr ?? {});
        const asm = assembleInputs(encoded.projected, split, (ids) => this.lm.embed(ids), {
          bosTokenId: bos,
          padTokenId: this.padTokenId,
          maxTxtLen: this.maxTxtLen,
        });
        const { logits } = this.lm.forward({ inputsEmbeds: asm.inputsEmbeds, attentionMask: asm.attentionMask });
        const loss = causalLmLoss(logits, asm.labels);
        return { ...asm, logits, loss, encoded } as unknown as tf.TensorContainer;
      }) as unknown as VideoChat2ForwardOutput;
    } finally {
      if (instr) tf.dispose([instr.inputIds, instr.attentionMask]);
    }
  }

  /**
   * The prompt embeddings of a conversation (the demo's `get_context_emb`): the text before the video placeholder
   * tokenized with BOS, the soft video tokens, then the rest without special tokens.
   */
  contextEmbeds(conv: VideoChat2Conversation, videoEmbeds: tf.Tensor3D): tf.Tensor3D {
    const [before, after] = conv.segments();
    const a = this.tokenizer.encode(before, { addSpecialTokens: true });
    const c = this.tokenizer.encode(after, { addSpecialTokens: false });
    return tf.tidy(() => {
      const parts: tf.Tensor[] = [this.lm.embed(tf.tensor2d(a, [1, a.length], 'int32')), videoEmbeds];
      if (c.length) parts.push(this.lm.embed(tf.tensor2d(c, [1, c.length], 'int32')));
      return tf.concat(parts, 1) as tf.Tensor3D;
    });
  }

  /**
   * Starts a chat about one video: encodes it once (with `instruction` for the Q-Former, as the demo's
   * "Watch the video and answer the question."), then answers questions with the history kept.
   */
  startChat(input: { visionTokens?: tf.Tensor; video?: tf.Tensor5D; useImage?: boolean }, instruction = 'Watch the video and answer the question.'): VideoChat2Chat {
    const instr = this.instructionIds([instruction]);
    try {
      const videoEmbeds = tf.tidy(() => {
        const vision = this.visionOf(input);
        if (vision.shape[0] !== 1) throw new VideoChat2InputError(`chat takes one video, got ${vision.shape[0]}`, 'video');
        return super.encodeImg(vision, instr ?? {}).projected;
      });
      return new VideoChat2Chat(this, tf.keep(videoEmbeds), input.useImage ?? false);
    } finally {
      if (instr) tf.dispose([instr.inputIds, instr.attentionMask]);
    }
  }
}

/** A conversation about one encoded video (the demo's `ask` / `answer` loop). */
export class VideoChat2Chat {
  readonly conversation: VideoChat2Conversation;

  constructor(
    readonly model: VideoChat2ItMistral,
    private videoEmbeds: tf.Tensor3D,
    useImage: boolean,
  ) {
    this.conversation = useImage
      ? new VideoChat2Conversation('', '<ImageHere>', '<Image>', '</Image>')
      : new VideoChat2Conversation('', '<VideoHere>', model.startToken, model.endToken);
  }

  /**
   * Streams the answer to `question` token by token; when it ends the answer (cut at `</s>`, leading `<unk>`/`<s>`
   * dropped as the demo does) joins the history. Defaults follow the demo (greedy, 200 new tokens, stop on eos),
   * then the model's `generationConfig`, then `opts`.
   */
  async *ask(question: string, opts: GenerateOptions & { answerPrompt?: string } = {}): AsyncGenerator<GenerationStep, string> {
    const tok = this.model.tokenizer;
    this.conversation.ask(question);
    this.conversation.startAnswer(opts.answerPrompt ?? null);
    const embeds = this.model.contextEmbeds(this.conversation, this.videoEmbeds);
    const defaults = this.model.generationConfig;
    const eos = opts.eosTokenId ?? defaults.eosTokenId ?? (tok.eosTokenId != null ? [tok.eosTokenId] : []);
    let sequences: number[] = [];
    try {
      const it = streamGenerate(this.model.lm, { inputsEmbeds: embeds }, { maxNewTokens: 200, ...defaults, ...opts, eosTokenId: eos, decode: (ids) => tok.decode(ids) });
      for (;;) {
        const r = await it.next();
        if (r.done) {
          sequences = r.value.sequences[0];
          break;
        }
        yield r.value;
      }
    } finally {
      embeds.dispose();
    }
    let out = sequences;
    if (out[0] === 0) out = out.slice(1);
    if (out[0] === tok.bosTokenId) out = out.slice(1);
    const text = tok.decode(out).split('</s>')[0];
    this.conversation.setAnswer(text);
    return text;
  }

  /** {@link ask} to the end: the answer text. */
  async answer(question: string, opts: GenerateOptions & { answerPrompt?: string } = {}): Promise<string> {
    const it = this.ask(question, opts);
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
    }
  }

  dispose(): void {
    this.videoEmbeds.dispose();
  }
}


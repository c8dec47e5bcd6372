import * as tf from '@tensorflow/tfjs-core';
import { Tokenizer } from '@huggingface/tokenizers';

// The stage-2 tokenizer (`models/backbones/bert/tokenization_bert.py`, bert-base/large-uncased vocabulary): BERT
// WordPiece as @huggingface/tokenizers implements it (BertNormalizer: clean-up, lower case, accent stripping,
// CJK spacing; BertPreTokenizer: whitespace and punctuation splits; WordPiece with `##` continuations and
// [UNK] for words it cannot cover), with the transformers call's truncation and padding on top.

/** The special tokens of a BERT vocabulary, in the order {@link buildWordPieceVocab} puts them. */
export const BERT_SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** A vocabulary or tokenizer file that cannot serve as a BERT tokenizer; `field` names what is wrong. */
export class TokenizerConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${source}: ${field}: ${reason}`);
    this.name = 'TokenizerConfigError';
  }
}

export interface BertTokenizerOptions {
  /** Lower-case (bert-*-uncased); default true. */
  doLowerCase?: boolean;
  /** Strip accents; `null` (default) follows `doLowerCase`, as BertTokenizer does. */
  stripAccents?: boolean | null;
  /** Put spaces around CJK characters; default true. */
  tokenizeChineseChars?: boolean;
  /** Named in errors. */
  source?: string;
}

export interface CallOptions {
  /** `max_length` (the official `max_txt_l`), special tokens included. */
  maxLength?: number;
  /** `max_length` pads every row to `maxLength` (the stage-2 pipeline), `longest` to the longest row. */
  padding?: 'max_length' | 'longest' | 'do_not_pad';
  /** Cut rows longer than `maxLength` (default true when `maxLength` is given); [CLS] and [SEP] are kept. */
  truncation?: boolean;
  /** Where padding goes; VideoChat2's Q-Former tokenizer pads on the left. Default right. */
  paddingSide?: 'right' | 'left';
  /** Which end truncation cuts; VideoChat2's Q-Former tokenizer cuts on the left. Default right. */
  truncationSide?: 'right' | 'left';
  addSpecialTokens?: boolean;
}

export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
}

/** One vocabulary entry per line, in id order (`vocab.txt`). */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A tokenizer.json for BERT WordPiece over `vocab` (what `BertTokenizerFast` writes for bert-base-uncased). */
export function bertTokenizerJson(vocab: string[], opts: BertTokenizerOptions = {}, extraSpecial: string[] = []): Record<string, unknown> {
  const index = new Map<string, number>();
  vocab.forEach((t, i) => {
    if (!index.has(t)) index.set(t, i);
  });
  const specials = [...BERT_SPECIAL_TOKENS, ...extraSpecial].filter((t) => index.has(t));
  const cls = index.get('[CLS]');
  const sep = index.get('[SEP]');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content) => ({ id: index.get(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: opts.tokenizeChineseChars ?? true,
      strip_accents: opts.stripAccents ?? null,
      lowercase: opts.doLowerCase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(index),
    },
  };
}

/**
 * BERT WordPiece tokenizer (bert-base-uncased compatible) over @huggingface/tokenizers. `call` is the
 * transformers `tokenizer(texts, padding=…, truncation=True, max_length=…)` the official text pipeline makes.
 */
export class BertTokenizer {
  private tk: Tokenizer;
  private vocab: string[];
  readonly padTokenId: number;
  readonly unkTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly maskTokenId: number | undefined;

  private constructor(
    private json: Record<string, any>,
    private readonly tokenizerConfig: Record<string, unknown>,
    readonly source: string,
  ) {
    const model = json.model as { type?: string; vocab?: Record<string, number> } | undefined;
    if (!model || model.type !== 'WordPiece') throw new TokenizerConfigError(source, 'model.type', `expected WordPiece, got ${model?.type}`);
    if (!model.vocab || typeof model.vocab !== 'object') throw new TokenizerConfigError(source, 'model.vocab', 'missing');
    this.tk = new Tokenizer(json, tokenizerConfig);
    this.vocab = [];
    for (const [t, i] of this.tk.get_vocab(true)) this.vocab[i] = t;
    const need = (t: string) => {
      const id = this.tk.token_to_id(t);
      if (id === undefined) throw new TokenizerConfigError(source, 'vocab', `has no ${t} token`);
      return id;
    };
    this.padTokenId = need('[PAD]');
    this.unkTokenId = need('[UNK]');
    this.clsTokenId = need('[CLS]');
    this.sepTokenId = need('[SEP]');
    this.maskTokenId = this.tk.token_to_id('[MASK]');
  }

  /** From a vocabulary: the lines of `vocab.txt` (its text, or the list of tokens in id order). */
  static fromVocab(vocab: string | string[], opts: BertTokenizerOptions = {}): BertTokenizer {
    const list = typeof vocab === 'string' ? parseVocabTxt(vocab) : vocab;
    const source = opts.source ?? 'vocab.txt';
    if (list.length === 0) throw new TokenizerConfigError(source, 'vocab', 'is empty');
    const json = bertTokenizerJson(list, opts);
    return new BertTokenizer(json, { do_lower_case: opts.doLowerCase ?? true, clean_up_tokenization_spaces: true }, source);
  }

  /** From a Hugging Face `tokenizer.json` (object or text) and optionally its `tokenizer_config.json`. */
  static fromTokenizerJson(json: string | Record<string, unknown>, config: Record<string, unknown> = {}, source = 'tokenizer.json'): BertTokenizer {
    let obj = json;
    if (typeof json === 'string') {
      try {
        obj = JSON.parse(json);
      } catch (e) {
        throw new TokenizerConfigError(source, '(root)', `not JSON: ${(e as Error).message}`);
      }
    }
    return new BertTokenizer(obj as Record<string, any>, { clean_up_tokenization_spaces: true, ...config }, source);
  }

  /**
   * From a file or folder (Node): a `tokenizer.json` (with `tokenizer_config.json` beside it when present), a
   * `vocab.txt`, or a folder holding either (tokenizer.json preferred).
   */
  static async fromFile(path: string, opts: BertTokenizerOptions = {}): Promise<BertTokenizer> {
    const fs = await import('node:fs/promises');
    const { join, dirname } = await import('node:path');
    let file = path;
    if ((await fs.stat(path)).isDirectory()) {
      const names = await fs.readdir(path);
      const pick = names.includes('tokenizer.json') ? 'tokenizer.json' : names.includes('vocab.txt') ? 'vocab.txt' : null;
      if (!pick) throw new TokenizerConfigError(path, '(folder)', 'holds neither tokenizer.json nor vocab.txt');
      file = join(path, pick);
    }
    const text = await fs.readFile(file, 'utf8');
    if (file.endsWith('.json')) {
      let config: Record<string, unknown> = {};
      const cfgPath = join(dirname(file), 'tokenizer_config.json');
      try {
        config = JSON.parse(await fs.readFile(cfgPath, 'utf8'));
      } catch {
        // No tokenizer_config.json: the tokenizer.json alone defines the pipeline.
      }
      return BertTokenizer.fromTokenizerJson(text, config, file);
    }
    return BertTokenizer.fromVocab(text, { ...opts, source: file });
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Tokens in id order (write them one per line to get a `vocab.txt`). */
  vocabulary(): string[] {
    return [...this.vocab];
  }

  /** The tokenizer.json this tokenizer runs. */
  toTokenizerJson(): Record<string, unknown> {
    return structuredClone(this.json);
  }

  tokenToId(token: string): number | undefined {
    return this.tk.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tk.id_to_token(id);
  }

  /**
   * Appends special tokens (never split, skipped when decoding) with new ids, as `add_special_tokens` does:
   * VideoChat2's Q-Former tokenizer adds `[DEC]` as its bos token (id = the old vocabulary size).
   */
  addSpecialTokens(tokens: string[]): number[] {
    const fresh = tokens.filter((t) => this.tk.token_to_id(t) === undefined);
    if (fresh.length) {
      const json = structuredClone(this.json);
      const base = this.vocab.length;
      fresh.forEach((content, k) => {
        json.model.vocab[content] = base + k;
        json.added_tokens.push({ id: base + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
      });
      this.json = json;
      this.tk = new Tokenizer(json, this.tokenizerConfig);
      this.vocab = [];
      for (const [t, i] of this.tk.get_vocab(true)) this.vocab[i] = t;
    }
    return tokens.map((t) => this.tk.token_to_id(t)!);
  }

  /** WordPiece tokens of `text`, without special tokens. */
  tokenize(text: string): string[] {
    return this.tk.tokenize(text);
  }

  /** Ids of `text`; `[CLS] … [SEP]` around them unless `addSpecialTokens` is false. */
  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    const ids = this.tk.encode(text, { add_special_tokens: false }).ids;
    return opts.addSpecialTokens === false ? ids : [this.clsTokenId, ...ids, this.sepTokenId];
  }

  /** Text of `ids`: `##` pieces joined, special tokens skipped (default), spaces before punctuation cleaned up. */
  decode(ids: ArrayLike<number>, opts: { skipSpecialTokens?: boolean; cleanUpTokenizationSpaces?: boolean } = {}): string {
    return this.tk.decode(Array.from(ids), {
      skip_special_tokens: opts.skipSpecialTokens ?? true,
      clean_up_tokenization_spaces: opts.cleanUpTokenizationSpaces ?? true,
    });
  }

  /** Ids and attention masks of a batch, truncated and padded as transformers' tokenizer call does. */
  call(texts: string | string[], opts: CallOptions = {}): BatchEncoding {
    const list = typeof texts === 'string' ? [texts] : texts;
    const special = opts.addSpecialTokens === false ? 0 : 2;
    const truncate = opts.truncation ?? opts.maxLength !== undefined;
    if (opts.padding === 'max_length' && opts.maxLength === undefined) throw new TokenizerConfigError(this.source, 'maxLength', "padding 'max_length' needs maxLength");
    if (truncate && opts.maxLength !== undefined && opts.maxLength < special) {
      throw new TokenizerConfigError(this.source, 'maxLength', `${opts.maxLength} leaves no room for [CLS] and [SEP]`);
    }
    const rows = list.map((text) => {
      let ids = this.tk.encode(text, { add_special_tokens: false }).ids;
      if (truncate && opts.maxLength !== undefined && ids.length + special > opts.maxLength) {
        const keep = opts.maxLength - special;
        ids = opts.truncationSide === 'left' ? ids.slice(ids.length - keep) : ids.slice(0, keep);
      }
      return special ? [this.clsTokenId, ...ids, this.sepTokenId] : ids;
    });
    const padding = opts.padding ?? 'do_not_pad';
    const width = padding === 'max_length' ? opts.maxLength! : padding === 'longest' ? Math.max(0, ...rows.map((r) => r.length)) : 0;
    const inputIds: number[][] = [];
    const attentionMask: number[][] = [];
    for (const r of rows) {
      const pad = Math.max(0, width - r.length);
      const ids = new Array<number>(pad).fill(this.padTokenId);
      const mask = new Array<number>(pad).fill(0);
      const ones = new Array<number>(r.length).fill(1);
      if (opts.paddingSide === 'left') {
        inputIds.push([...ids, ...r]);
        attentionMask.push([...mask, ...ones]);
      } else {
        inputIds.push([...r, ...ids]);
        attentionMask.push([...ones, ...mask]);
      }
    }
    return { inputIds, attentionMask };
  }

  /** {@link call} as `[B, N]` int32 tensors; rows must come out the same length (pad them). */
  callTensors(texts: string | string[], opts: CallOptions = {}): { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D } {
    const enc = this.call(texts, { padding: opts.maxLength !== undefined ? 'max_length' : 'longest', ...opts });
    const n = enc.inputIds[0]?.length ?? 0;
    if (enc.inputIds.some((r) => r.length !== n)) throw new TokenizerConfigError(this.source, 'padding', 'rows differ in length: pad them to build a tensor');
    return {
      inputIds: tf.tensor2d(enc.inputIds.flat(), [enc.inputIds.length, n], 'int32'),
      attentionMask: tf.tensor2d(enc.attentionMask.flat(), [enc.inputIds.length, n], 'int32'),
    };
  }
}

// LLM tokenizers from a Hugging Face folder (tokenizer.json + tokenizer_config.json) through
// @huggingface/tokenizers: SentencePiece-style BPE (LLaMA, Mistral) and byte-level BPE (Qwen2).
import { Tokenizer } from '@huggingface/tokenizers';

export class TokenizerError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
    this.name = 'TokenizerError';
  }
}

/** What the LLM side needs from a tokenizer; the tests' word-level stand-ins implement it too. */
export interface TextTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  /** VideoChat2 sets pad = eos when the tokenizer has none. */
  readonly padTokenId: number | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  /** `tokenizer_config.json`'s `chat_template`, when it has one. */
  readonly chatTemplate: string | null;
}

type TokenSpec = string | { content?: string } | null | undefined;
const tokenText = (t: TokenSpec): string | null => (t == null ? null : typeof t === 'string' ? t : (t.content ?? null));

export class HfTokenizer implements TextTokenizer {
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly chatTemplate: string | null;

  constructor(
    readonly tokenizer: Tokenizer,
    readonly config: Record<string, unknown>,
  ) {
    this.bosToken = tokenText(config.bos_token as TokenSpec);
    this.eosToken = tokenText(config.eos_token as TokenSpec);
    this.padToken = tokenText(config.pad_token as TokenSpec);
    const id = (t: string | null) => (t == null ? null : (tokenizer.token_to_id(t) ?? null));
    this.bosTokenId = id(this.bosToken);
    this.eosTokenId = id(this.eosToken);
    this.padTokenId = id(this.padToken);
    const ct = config.chat_template;
    // A list of named templates (newer configs): take `default`.
    if (Array.isArray(ct)) this.chatTemplate = (ct.find((t) => t?.name === 'default')?.template as string) ?? null;
    else this.chatTemplate = typeof ct === 'string' ? ct : null;
  }

  static fromJSON(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}, file = 'tokenizer.json'): HfTokenizer {
    try {
      return new HfTokenizer(new Tokenizer(tokenizerJson, tokenizerConfig), tokenizerConfig);
    } catch (e) {
      throw new TokenizerError(`cannot build the tokenizer: ${(e as Error).message}`, file);
    }
  }

  /** Reads `tokenizer.json` and (optionally) `tokenizer_config.json` from a model folder. */
  static async fromPretrained(dir: string): Promise<HfTokenizer> {
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const read = async (f: string, required: boolean) => {
      let text: string;
      try {
        text = await readFile(join(dir, f), 'utf8');
      } catch {
        if (required) throw new TokenizerError('file is missing', join(dir, f));
        return {};
      }
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (e) {
        throw new TokenizerError(`not valid JSON: ${(e as Error).message}`, join(dir, f));
      }
    };
    return HfTokenizer.fromJSON(await read('tokenizer.json', true), await read('tokenizer_config.json', false), join(dir, 'tokenizer.json'));
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  decode(ids: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }
}

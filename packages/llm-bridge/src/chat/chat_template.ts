// `tokenizer.apply_chat_template`: tokenizer_config.json's Jinja `chat_template` rendered with @huggingface/jinja
// under the variables transformers passes (messages, bos_token, eos_token, add_generation_prompt; jinja's own
// raise_exception).
import { Template } from '@huggingface/jinja';
import type { TextTokenizer } from './tokenizer.js';

export class ChatTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChatTemplateError';
  }
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | string;
  content: string;
}

export interface ApplyChatTemplateOptions {
  addGenerationPrompt?: boolean;
  /** Overrides the tokenizer's template. */
  chatTemplate?: string;
  /** Extra template variables. */
  extra?: Record<string, unknown>;
}

const compiled = new Map<string, Template>();

/** The rendered prompt text (tokenize it with `addSpecialTokens: false`: the template writes BOS itself). */
export function applyChatTemplate(tokenizer: TextTokenizer, messages: ChatMessage[], opts: ApplyChatTemplateOptions = {}): string {
  const source = opts.chatTemplate ?? tokenizer.chatTemplate;
  if (!source) throw new ChatTemplateError('the tokenizer has no chat_template (tokenizer_config.json) and none was passed');
  let t = compiled.get(source);
  if (!t) {
    try {
      t = new Template(source);
    } catch (e) {
      throw new ChatTemplateError(`chat_template does not parse: ${(e as Error).message}`);
    }
    compiled.set(source, t);
  }
  try {
    return t.render({
      messages,
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
      add_generation_prompt: opts.addGenerationPrompt ?? false,
      ...opts.extra,
    });
  } catch (e) {
    if (e instanceof ChatTemplateError) throw e;
    throw new ChatTemplateError(`chat_template failed to render: ${(e as Error).message}`);
  }
}

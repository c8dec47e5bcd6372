import { HfTokenizer } from './tokenizer.js';

/** Mistral-7B-Instruct-v0.2's chat template, as its tokenizer_config.json carries it (system role refused). */
export const MISTRAL_INSTRUCT_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";

export interface WordTokenizerFiles {
  /** The `tokenizer.json` object (write it as is to a Hugging Face folder). */
  json: Record<string, unknown>;
  /** The `tokenizer_config.json` object. */
  config: Record<string, unknown>;
  tokenizer: HfTokenizer;
  vocabSize: number;
}

/**
 * A tokenizer in the Mistral/LLaMA layout (SentencePiece-style BPE: `▁` word marks, `<unk>` `<s>` `</s>` at 0/1/2,
 * byte fallback) whose merges spell out every whitespace-separated word of `corpus`, so that a small LLM trained
 * from scratch on a closed vocabulary sees one token per word; other text falls back to characters and bytes.
 * Deterministic: the same words in any order give the same files.
 */
export function wordMergeTokenizer(corpus: string | Iterable<string>, options: { chatTemplate?: string | null } = {}): WordTokenizerFiles {
  const text = typeof corpus === 'string' ? corpus : [...corpus].join(' ');
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  add('▁');
  const words = [...new Set(text.split(/\s+/).filter(Boolean))].sort();
  for (const ch of [...new Set(words.join(''))].sort()) add(ch);
  const merges: string[] = [];
  const seen = new Set<string>();
  for (const w of words) {
    // Left-to-right merges: ▁ + w → ▁w, ▁w + o → ▁wo, …
    let cur = '▁';
    for (const ch of w) {
      const m = `${cur} ${ch}`;
      cur += ch;
      add(cur);
      if (!seen.has(m)) {
        seen.add(m);
        merges.push(m);
      }
    }
  }
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }],
    },
    model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges },
  };
  const config: Record<string, unknown> = {
    add_bos_token: true,
    add_eos_token: false,
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: null,
    legacy: true,
    tokenizer_class: 'LlamaTokenizer',
  };
  if (options.chatTemplate) config.chat_template = options.chatTemplate;
  return { json, config, tokenizer: HfTokenizer.fromJSON(json, config, 'tokenizer.json'), vocabSize: Object.keys(vocab).length };
}

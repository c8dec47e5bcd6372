import { HfTokenizer } from '@iv2/llm-bridge';

/** Mistral-7B-Instruct-v0.2's chat template (what a VideoChat2 LLM folder's tokenizer_config.json carries). */
const MISTRAL_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}";

/**
 * A small tokenizer in the Mistral layout (SentencePiece BPE: `▁` word marks, `<unk>`/`<s>`/`</s>` at 0/1/2, byte
 * fallback) whose merges spell out every word of `corpus`: what the tiny chat model generated in the page speaks.
 * Returns the `tokenizer.json` and `tokenizer_config.json` objects, so it is built as a real folder's would be.
 */
export function smallMistralTokenizer(corpus: string): { json: Record<string, unknown>; config: Record<string, unknown>; tokenizer: HfTokenizer } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  add('▁');
  const words = [...new Set(corpus.split(/\s+/).filter(Boolean))].sort();
  for (const ch of [...new Set(words.join(''))].sort()) add(ch);
  const merges: string[] = [];
  const seen = new Set<string>();
  for (const w of words) {
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
    version: '1.0', truncation: null, padding: null,
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
  const config = {
    add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: null, legacy: true,
    tokenizer_class: 'LlamaTokenizer', chat_template: MISTRAL_TEMPLATE,
  };
  return { json, config, tokenizer: HfTokenizer.fromJSON(json, config) };
}

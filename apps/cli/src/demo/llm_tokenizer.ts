import { HfTokenizer } from '@iv2/llm-bridge';

/**
 * A Mistral-layout tokenizer (SentencePiece-style BPE: "▁" word marks, byte fallback, `<unk>` `<s>` `</s>`) whose
 * merges spell out every whitespace-separated word of `corpus`, so a small LLM trained from scratch sees one token
 * per word; anything else falls back to characters and bytes.
 */
export function corpusTokenizer(corpus: string[]): { tokenizer: HfTokenizer; vocabSize: number; json: Record<string, unknown>; config: Record<string, unknown> } {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  const text = corpus.join(' ');
  const merges: string[] = [];
  const seen = new Set<string>();
  add('▁');
  for (const ch of [...new Set(text.replace(/\s+/g, ''))].sort()) add(ch);
  for (const w of [...new Set(text.split(/\s+/).filter(Boolean))].sort()) {
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
  const config = { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: null, legacy: true, tokenizer_class: 'LlamaTokenizer' };
  return { tokenizer: HfTokenizer.fromJSON(json, config, 'demo tokenizer.json'), vocabSize: Object.keys(vocab).length, json, config };
}

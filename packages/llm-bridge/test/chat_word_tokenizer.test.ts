import { expect, test } from 'vitest';
import { MISTRAL_INSTRUCT_CHAT_TEMPLATE, wordMergeTokenizer } from '../src/index.js';

const corpus = ['a red circle moves left', 'what colour is the shape ? red', 'the square moves up'];

test('one token per corpus word after <s>, byte fallback for the rest, decode round trip', () => {
  const { tokenizer, vocabSize } = wordMergeTokenizer(corpus);
  const ids = tokenizer.encode('a red circle moves up');
  expect(ids[0]).toBe(1);
  expect(ids.length).toBe(6);
  expect(ids.every((i) => i < vocabSize)).toBe(true);
  expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('a red circle moves up');
  // An unseen word is spelled by its characters (and bytes where a character is absent): never <unk>.
  const odd = tokenizer.encode('zebra é', { addSpecialTokens: false });
  expect(odd).not.toContain(0);
  expect(tokenizer.decode(odd)).toBe('zebra é');
});

test('deterministic: the same words in any order give the same files', () => {
  const a = wordMergeTokenizer(corpus);
  const b = wordMergeTokenizer([...corpus].reverse().join('  '));
  expect(JSON.stringify(b.json)).toBe(JSON.stringify(a.json));
});

test('the chat template is written only when asked for', () => {
  expect(wordMergeTokenizer(corpus).config.chat_template).toBeUndefined();
  expect(wordMergeTokenizer(corpus, { chatTemplate: MISTRAL_INSTRUCT_CHAT_TEMPLATE }).config.chat_template).toBe(MISTRAL_INSTRUCT_CHAT_TEMPLATE);
});

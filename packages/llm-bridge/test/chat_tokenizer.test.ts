// LLM tokenizers from tokenizer.json / tokenizer_config.json through @huggingface/tokenizers (a Mistral-layout
// SentencePiece BPE written here), with the chat template of the same folder.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { HfTokenizer, TokenizerError, applyChatTemplate } from '../src/index.js';
import { mistralStyleTokenizer } from './llm_tokenizer_fixture.js';

const CORPUS = '[INST] What is the dog doing? [/INST] It runs after a toy in the snow. <Video></Video>';

test('encodes with BOS, decodes back, byte fallback for unseen characters, specials by id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-tok-'));
  const { tokenizer, config } = mistralStyleTokenizer(CORPUS);
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  const tok = await HfTokenizer.fromPretrained(dir);
  expect([tok.bosTokenId, tok.eosTokenId, tok.padTokenId]).toEqual([1, 2, null]);
  const ids = tok.encode('What is the dog doing?');
  expect(ids[0]).toBe(1);
  expect(ids).toHaveLength(1 + 5);
  expect(tok.encode('What is', { addSpecialTokens: false })).toEqual(ids.slice(1, 3));
  expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('What is the dog doing?');
  // "ß" is not in the vocabulary: its UTF-8 bytes come out as <0xC3> <0x9F> and decode back.
  const b = tok.encode('ß', { addSpecialTokens: false });
  expect(b.slice(-2)).toEqual([3 + 0xc3, 3 + 0x9f]);
  expect(tok.decode(b)).toBe('ß');
  expect(tok.encode('snow. </s>', { addSpecialTokens: false }).at(-1)).toBe(2);
  const prompt = applyChatTemplate(tok, [{ role: 'user', content: 'What is the dog doing?' }]);
  expect(prompt).toBe('<s>[INST] What is the dog doing? [/INST]');
});

test('missing or broken files throw TokenizerError naming the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iv2-tok-bad-'));
  await expect(HfTokenizer.fromPretrained(dir)).rejects.toThrow(TokenizerError);
  await expect(HfTokenizer.fromPretrained(dir)).rejects.toThrow(/tokenizer\.json: file is missing/);
  writeFileSync(join(dir, 'tokenizer.json'), '{ nope');
  await expect(HfTokenizer.fromPretrained(dir)).rejects.toThrow(/not valid JSON/);
});

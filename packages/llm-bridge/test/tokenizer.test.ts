import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { initBackend } from '@iv2/core';
import { BertTokenizer, loadDemoTokenizer, TokenizerConfigError } from '../src/index.js';
import { FIXTURES } from '../../../test-utils/fixtures.js';

// What users of a bert-base-uncased tokenizer rely on, checked on a small vocabulary written the way
// bert-base-uncased's is ([PAD] first, `##` continuations).
const VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'cafe', 'the', 'dog', 'play', '##ing', '##s', ',', '.', '!', '?', "'", 'a', 'snow', '##y', '-', 'covered',
  'un', '##believ', '##able', 'hello', 'world', 'naive', 't', 'don',
];
const tk = BertTokenizer.fromVocab(VOCAB);
const id = (t: string) => VOCAB.indexOf(t);

describe('WordPiece as bert-base-uncased does it', () => {
  test('upper case and accents: "Café" → cafe, "ÜNBELIEVABLE" → un ##believ ##able, "naïve" → naive', () => {
    expect(tk.tokenize('Café')).toEqual(['cafe']);
    expect(tk.tokenize('CAFÉ')).toEqual(['cafe']);
    expect(tk.tokenize('ÜNBELIEVABLE')).toEqual(['un', '##believ', '##able']);
    expect(tk.tokenize('naïve')).toEqual(['naive']);
  });

  test('punctuation is split off every word', () => {
    expect(tk.tokenize('hello,world!')).toEqual(['hello', ',', 'world', '!']);
    expect(tk.tokenize("don't")).toEqual(['don', "'", 't']);
    expect(tk.tokenize('snow-covered?')).toEqual(['snow', '-', 'covered', '?']);
  });

  test('## sub-words', () => {
    expect(tk.tokenize('dogs playing')).toEqual(['dog', '##s', 'play', '##ing']);
    expect(tk.tokenize('Snowy')).toEqual(['snow', '##y']);
  });

  test('unknown words become one [UNK], whole', () => {
    expect(tk.tokenize('the zebra')).toEqual(['the', '[UNK]']);
    // WordPiece gives up on the whole word when a piece is missing, as BERT does.
    expect(tk.tokenize('dogx')).toEqual(['[UNK]']);
    expect(tk.encode('zebra', { addSpecialTokens: false })).toEqual([tk.unkTokenId]);
  });

  test('special tokens written in the text stay whole', () => {
    expect(tk.encode('the [MASK] dog')).toEqual([id('[CLS]'), id('the'), id('[MASK]'), id('dog'), id('[SEP]')]);
  });

  test('[CLS] … [SEP] and the special ids', () => {
    expect(tk.encode('the dog')).toEqual([2, id('the'), id('dog'), 3]);
    expect([tk.padTokenId, tk.unkTokenId, tk.clsTokenId, tk.sepTokenId, tk.maskTokenId]).toEqual([0, 1, 2, 3, 4]);
    expect(tk.vocabSize).toBe(VOCAB.length);
  });

  test('truncation at max_txt_l keeps [CLS] and [SEP]', () => {
    const text = 'the dog the dog the dog the dog';
    const { inputIds, attentionMask } = tk.call(text, { maxLength: 6, padding: 'max_length', truncation: true });
    expect(inputIds[0]).toEqual([2, id('the'), id('dog'), id('the'), id('dog'), 3]);
    expect(attentionMask[0]).toEqual([1, 1, 1, 1, 1, 1]);
    const left = tk.call('a the dog play', { maxLength: 4, truncationSide: 'left' });
    expect(left.inputIds[0]).toEqual([2, id('dog'), id('play'), 3]);
  });

  test('padding to max_length and to the longest row, with the attention mask', () => {
    const batch = tk.call(['the dog', 'snowy'], { maxLength: 6, padding: 'max_length' });
    expect(batch.inputIds).toEqual([
      [2, id('the'), id('dog'), 3, 0, 0],
      [2, id('snow'), id('##y'), 3, 0, 0],
    ]);
    expect(batch.attentionMask).toEqual([
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 1, 0, 0],
    ]);
    const longest = tk.call(['the dog play', 'a'], { padding: 'longest' });
    expect(longest.inputIds[1]).toEqual([2, id('a'), 3, 0, 0]);
    expect(longest.attentionMask[1]).toEqual([1, 1, 1, 0, 0]);
    const left = tk.call(['the dog play', 'a'], { padding: 'longest', paddingSide: 'left' });
    expect(left.inputIds[1]).toEqual([0, 0, 2, id('a'), 3]);
    expect(left.attentionMask[1]).toEqual([0, 0, 1, 1, 1]);
  });

  test('tensors are int32 [B, max_txt_l]', async () => {
    await initBackend('cpu');
    const t = tk.callTensors(['the dog', 'a'], { maxLength: 8 });
    expect(t.inputIds.shape).toEqual([2, 8]);
    expect(t.inputIds.dtype).toBe('int32');
    expect(t.attentionMask.arraySync()).toEqual([
      [1, 1, 1, 1, 0, 0, 0, 0],
      [1, 1, 1, 0, 0, 0, 0, 0],
    ]);
    t.inputIds.dispose();
    t.attentionMask.dispose();
  });

  test('decode joins ## pieces, skips special tokens and cleans spaces before punctuation', () => {
    expect(tk.decode(tk.encode('Dogs playing, the DOG!'))).toBe('dogs playing, the dog!');
    expect(tk.decode(tk.encode('the dog'), { skipSpecialTokens: false })).toBe('[CLS] the dog [SEP]');
  });

  test('[DEC] added as a special token takes the next id (VideoChat2 Q-Former tokenizer)', () => {
    const q = BertTokenizer.fromVocab(VOCAB);
    expect(q.addSpecialTokens(['[DEC]'])).toEqual([VOCAB.length]);
    expect(q.encode('[DEC] the dog', { addSpecialTokens: false })).toEqual([VOCAB.length, id('the'), id('dog')]);
    expect(q.decode([VOCAB.length, id('dog')])).toBe('dog');
    expect(q.vocabSize).toBe(VOCAB.length + 1);
  });

  test('vocab.txt, tokenizer.json and folders load to the same tokenizer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iv2-tok-'));
    writeFileSync(join(dir, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
    const fromTxt = await BertTokenizer.fromFile(join(dir, 'vocab.txt'));
    const jdir = mkdtempSync(join(tmpdir(), 'iv2-tokj-'));
    writeFileSync(join(jdir, 'tokenizer.json'), JSON.stringify(tk.toTokenizerJson()));
    const fromJson = await BertTokenizer.fromFile(jdir);
    const s = 'Café dogs, snowy ÜNBELIEVABLE zebra!';
    expect(fromTxt.encode(s)).toEqual(tk.encode(s));
    expect(fromJson.encode(s)).toEqual(tk.encode(s));
    expect(fromJson.vocabulary()).toEqual(VOCAB);
  });

  test('bad vocabularies and options fail with TokenizerConfigError naming the problem', async () => {
    expect(() => BertTokenizer.fromVocab(['[PAD]', '[UNK]', 'a'])).toThrow(TokenizerConfigError);
    expect(() => BertTokenizer.fromVocab(['[PAD]', '[UNK]', 'a'])).toThrow(/\[CLS\]/);
    expect(() => BertTokenizer.fromTokenizerJson({ model: { type: 'BPE', vocab: {}, merges: [] } })).toThrow(/WordPiece/);
    expect(() => BertTokenizer.fromTokenizerJson('{not json')).toThrow(TokenizerConfigError);
    expect(() => tk.call('the', { padding: 'max_length' })).toThrow(/maxLength/);
    await expect(BertTokenizer.fromFile(mkdtempSync(join(tmpdir(), 'iv2-empty-')))).rejects.toThrow(/neither tokenizer.json nor vocab.txt/);
  });
});

describe('the ten demo captions of fixtures/media round-trip through the demo vocabulary', () => {
  const md = readFileSync(join(FIXTURES, 'README.md'), 'utf8');
  const media = md.slice(md.indexOf('## media/'), md.indexOf('## encoder/'));
  const captions = [...media.matchAll(/^\d+\. (.+)$/gm)].map((m) => m[1]);

  test('ten captions found', () => {
    expect(captions).toHaveLength(10);
    expect(captions[8]).toMatch(/^A man in a gray sweater plays fetch/);
  });

  test('encode → decode gives the lower-cased caption (BERT spaces hyphens), with no [UNK], within max_txt_l 40', async () => {
    const demo = await loadDemoTokenizer();
    for (const c of captions) {
      const ids = demo.encode(c);
      expect(ids, c).not.toContain(demo.unkTokenId);
      expect(ids.length, c).toBeLessThanOrEqual(40);
      const text = demo.decode(ids);
      expect(text).toBe(c.toLowerCase().replace(/-/g, ' - '));
      expect(demo.encode(text)).toEqual(ids);
    }
    const batch = demo.call(captions, { maxLength: 40, padding: 'max_length' });
    expect(batch.inputIds.every((r) => r.length === 40 && r[0] === demo.clsTokenId)).toBe(true);
    batch.inputIds.forEach((r, i) => expect(r[batch.attentionMask[i].lastIndexOf(1)]).toBe(demo.sepTokenId));
  });
});

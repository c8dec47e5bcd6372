import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BertTokenizer, buildDemoVocab, buildWordPieceVocab, corpusLines, parseVocabTxt, trainBertTokenizer } from '../src/index.js';

const ASSETS = join(import.meta.dirname, '..', 'assets');
const corpusText = readFileSync(join(ASSETS, 'demo-corpus.txt'), 'utf8');
const corpus = corpusLines(corpusText);

describe('buildWordPieceVocab', () => {
  test('special tokens first ([PAD] = 0), then the alphabet and its ## forms, then merges', () => {
    const v = buildWordPieceVocab(corpus, { vocabSize: 200, minFrequency: 1 });
    expect(v.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(v).toHaveLength(200);
    expect(v).toContain('a');
    expect(v).toContain('##a');
    expect(new Set(v).size).toBe(v.length);
  });

  test('deterministic: the same captions in another order give the same vocabulary', () => {
    const a = buildWordPieceVocab(corpus, { vocabSize: 300, minFrequency: 1 });
    const shuffled = [...corpus].reverse();
    shuffled.push(shuffled.shift()!);
    expect(buildWordPieceVocab(shuffled, { vocabSize: 300, minFrequency: 1 })).toEqual(a);
  });

  test('frequent words become whole tokens; merges seen fewer than minFrequency times do not happen', () => {
    const v = buildWordPieceVocab(['the dog runs', 'the dog sits', 'the dog sleeps', 'a zebra'], { minFrequency: 2 });
    expect(v).toContain('the');
    expect(v).toContain('dog');
    expect(v).not.toContain('zebra');
    const tk = BertTokenizer.fromVocab(v);
    // zebra is still covered, by its characters.
    expect(tk.tokenize('zebra')).toEqual(['z', '##e', '##b', '##r', '##a']);
  });

  test('every corpus word tokenizes without [UNK], and lower-casing / accent stripping match the tokenizer', () => {
    const tk = trainBertTokenizer([...corpus, 'Un CAFÉ très Naïve'], { vocabSize: 600, minFrequency: 1 });
    for (const line of [...corpus, 'un cafe tres naive']) expect(tk.encode(line), line).not.toContain(tk.unkTokenId);
    expect(tk.tokenize('Café')).toEqual(['cafe']);
  });

  test('limitAlphabet keeps the most frequent characters; words with others become [UNK]', () => {
    const tk = trainBertTokenizer(['aaa bbb aaa bbb aaa', 'q'], { limitAlphabet: 2, minFrequency: 1 });
    expect(tk.tokenize('aaa q')).toEqual(['aaa', '[UNK]']);
  });

  test('the shipped assets/vocab-demo.txt is buildDemoVocab(assets/demo-corpus.txt)', () => {
    const shipped = parseVocabTxt(readFileSync(join(ASSETS, 'vocab-demo.txt'), 'utf8'));
    expect(shipped).toEqual(buildDemoVocab(corpusText));
  });
});

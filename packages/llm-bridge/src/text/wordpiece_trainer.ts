import { BertNormalizer, BertPreTokenizer } from '@huggingface/tokenizers';
import { BERT_SPECIAL_TOKENS, type BertTokenizerOptions, BertTokenizer } from './tokenization_bert.js';

// A WordPiece vocabulary from a caption corpus, for training the text side from scratch on one's own captions.
// It learns the vocabulary the way the Hugging Face WordPiece trainer does (BPE merges over words split into a
// first character and `##` continuations), over the words the tokenizer itself will see (same normalizer and
// pre-tokenizer), so every learned piece is reachable.

export interface WordPieceTrainerOptions {
  /** Size of the vocabulary, special tokens and alphabet included (default 30522, BERT's); fewer if merges run out. */
  vocabSize?: number;
  /** A merge must occur at least this often in the corpus (default 2). */
  minFrequency?: number;
  /** Placed first, in this order (default `[PAD] [UNK] [CLS] [SEP] [MASK]`: `[PAD]` = 0 as BERT configs expect). */
  specialTokens?: string[];
  /** Keep only the most frequent characters (default: all). Words with other characters become [UNK]. */
  limitAlphabet?: number;
  /** Normalisation, as for {@link BertTokenizer.fromVocab} (default lower-cased, accents stripped). */
  doLowerCase?: boolean;
  stripAccents?: boolean | null;
}

/** A max-heap of (count, key) with lazy deletion: entries whose count is stale are skipped when popped. */
class PairHeap {
  private items: Array<[number, string]> = [];

  private better(a: [number, string], b: [number, string]): boolean {
    return a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
  }

  push(count: number, key: string): void {
    const it = this.items;
    it.push([count, key]);
    let i = it.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(it[i], it[p])) break;
      [it[i], it[p]] = [it[p], it[i]];
      i = p;
    }
  }

  pop(): [number, string] | undefined {
    const it = this.items;
    if (!it.length) return undefined;
    const top = it[0];
    const last = it.pop()!;
    if (it.length) {
      it[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < it.length && this.better(it[l], it[m])) m = l;
        if (r < it.length && this.better(it[r], it[m])) m = r;
        if (m === i) break;
        [it[i], it[m]] = [it[m], it[i]];
        i = m;
      }
    }
    return top;
  }
}

const SEP = '\u0000';

/**
 * Builds a BERT WordPiece vocabulary (token strings in id order; write them one per line for a `vocab.txt`) from
 * `corpus`. Deterministic: the same captions and options give the same list, whatever order equal counts come
 * in (ties go to the lexicographically smaller pair; the alphabet is sorted by code point).
 */
export function buildWordPieceVocab(corpus: Iterable<string>, opts: WordPieceTrainerOptions = {}): string[] {
  const vocabSize = opts.vocabSize ?? 30522;
  const minFrequency = opts.minFrequency ?? 2;
  const specials = opts.specialTokens ?? [...BERT_SPECIAL_TOKENS];
  const lower = opts.doLowerCase ?? true;
  const normalizer = new BertNormalizer({ type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: opts.stripAccents ?? null, lowercase: lower } as never);
  const pre = new BertPreTokenizer();

  const wordFreq = new Map<string, number>();
  for (const text of corpus) {
    for (const w of pre.pre_tokenize_text(normalizer.normalize(text))) {
      if (w) wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
    }
  }
  // Alphabet: characters by frequency (then code point), cut at limitAlphabet, then sorted by code point.
  const charFreq = new Map<string, number>();
  for (const [w, f] of wordFreq) for (const ch of w) charFreq.set(ch, (charFreq.get(ch) ?? 0) + f);
  let alphabet = [...charFreq.keys()];
  if (opts.limitAlphabet !== undefined && alphabet.length > opts.limitAlphabet) {
    alphabet = alphabet.sort((a, b) => charFreq.get(b)! - charFreq.get(a)! || cmp(a, b)).slice(0, opts.limitAlphabet);
  }
  alphabet.sort(cmp);
  const allowed = new Set(alphabet);

  const vocab: string[] = [];
  const seen = new Set<string>();
  const add = (t: string) => {
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  specials.forEach(add);
  alphabet.forEach(add);
  alphabet.forEach((c) => add(`##${c}`));

  // Words as symbol lists (first character, then `##` continuations); words outside the alphabet are dropped.
  const words: string[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of [...wordFreq].sort((a, b) => cmp(a[0], b[0]))) {
    const chars = [...w];
    if (!chars.every((c) => allowed.has(c))) continue;
    words.push(chars.map((c, i) => (i === 0 ? c : `##${c}`)));
    freqs.push(f);
  }

  const counts = new Map<string, number>();
  const where = new Map<string, Set<number>>();
  const heap = new PairHeap();
  const bump = (key: string, delta: number, wi: number) => {
    const c = (counts.get(key) ?? 0) + delta;
    counts.set(key, c);
    if (delta > 0) {
      let s = where.get(key);
      if (!s) where.set(key, (s = new Set()));
      s.add(wi);
    }
  };
  const pairsOf = (sym: string[]) => {
    const out: string[] = [];
    for (let i = 0; i + 1 < sym.length; i++) out.push(sym[i] + SEP + sym[i + 1]);
    return out;
  };
  words.forEach((sym, wi) => pairsOf(sym).forEach((k) => bump(k, freqs[wi], wi)));
  for (const [k, c] of counts) heap.push(c, k);

  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const [count, key] = top;
    if (counts.get(key) !== count) continue; // stale entry
    if (count < minFrequency || count <= 0) break;
    const [a, b] = key.split(SEP);
    const merged = a + (b.startsWith('##') ? b.slice(2) : b);
    add(merged);
    const touched = new Set<string>();
    for (const wi of where.get(key) ?? []) {
      const sym = words[wi];
      const before = pairsOf(sym);
      const next: string[] = [];
      for (let i = 0; i < sym.length; i++) {
        if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(sym[i]);
      }
      if (next.length === sym.length) continue;
      before.forEach((k) => {
        bump(k, -freqs[wi], wi);
        touched.add(k);
      });
      words[wi] = next;
      pairsOf(next).forEach((k) => {
        bump(k, freqs[wi], wi);
        touched.add(k);
      });
    }
    for (const k of touched) {
      const c = counts.get(k)!;
      if (c > 0) heap.push(c, k);
    }
  }
  return vocab;
}

/** {@link buildWordPieceVocab}, then a tokenizer over it. */
export function trainBertTokenizer(corpus: Iterable<string>, opts: WordPieceTrainerOptions & BertTokenizerOptions = {}): BertTokenizer {
  return BertTokenizer.fromVocab(buildWordPieceVocab(corpus, opts), opts);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

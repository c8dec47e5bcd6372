import { BertTokenizer } from './tokenization_bert.js';
import { buildWordPieceVocab } from './wordpiece_trainer.js';

/** Options the shipped `assets/vocab-demo.txt` was built with from `assets/demo-corpus.txt`. */
export const DEMO_VOCAB_OPTIONS = { vocabSize: 1024, minFrequency: 1 } as const;

/** The corpus lines of `demo-corpus.txt` (comment lines start with `#`). */
export function corpusLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() && !l.startsWith('#'));
}

/** The demo vocabulary from the demo corpus text (what `assets/vocab-demo.txt` holds). */
export function buildDemoVocab(corpusText: string): string[] {
  return buildWordPieceVocab(corpusLines(corpusText), DEMO_VOCAB_OPTIONS);
}

/**
 * The package's small demo tokenizer (Node): `assets/vocab-demo.txt`, a WordPiece vocabulary learned from the
 * ten demo captions of InternVideo2 and captions in the style of the synthetic dataset. For real checkpoints use
 * their own `vocab.txt` / `tokenizer.json` (bert-large-uncased for the stage-2 models).
 */
export async function loadDemoTokenizer(): Promise<BertTokenizer> {
  const fs = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  // `assets/` sits beside `dist/` in the package and two levels above this file in the sources.
  for (const rel of ['../assets/vocab-demo.txt', '../../assets/vocab-demo.txt']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    try {
      return BertTokenizer.fromVocab(await fs.readFile(path, 'utf8'), { source: path });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error('assets/vocab-demo.txt is missing from the @iv2/llm-bridge package');
}

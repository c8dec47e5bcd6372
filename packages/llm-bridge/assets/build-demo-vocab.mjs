// Rebuilds vocab-demo.txt from demo-corpus.txt with the package's own WordPiece trainer (run after `pnpm build`):
//   node assets/build-demo-vocab.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import { buildDemoVocab } from '../dist/index.js';

const here = (f) => new URL(f, import.meta.url);
const vocab = buildDemoVocab(readFileSync(here('demo-corpus.txt'), 'utf8'));
writeFileSync(here('vocab-demo.txt'), `${vocab.join('\n')}\n`);
console.log(`vocab-demo.txt: ${vocab.length} tokens`);
